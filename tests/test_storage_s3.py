"""Stored files in an S3-compatible object store (TUMORBOARD_STORAGE=s3, django-storages), tested against a real
S3 server the test starts on loopback (moto's server mode), as a hospital would point it at its MinIO or Ceph:
key images are stored there, served and printed from there; rendered packets are cached there and reprinted
from there; /readyz checks the bucket; nothing lands on the app server's disk."""

import io
import socket

import pytest
from django.urls import reverse
from pypdf import PdfReader

from cases import models as m
from cases.printing.documents import render_case_summary, render_meeting_packet
from cases.services import imaging
from tests import factories as f
from tests.test_health import django_in_subprocess
from tumorboard.settings import s3_storages

pytestmark = pytest.mark.django_db
BUCKET = "tumorboard-test"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def s3_server(monkeypatch):
    """A real S3 API on loopback, with the bucket the hospital would have made."""
    import boto3
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    for name, value in {
        "AWS_ACCESS_KEY_ID": "tumorboard-test",
        "AWS_SECRET_ACCESS_KEY": "tumorboard-test-secret",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    endpoint = f"http://127.0.0.1:{port}"
    client = boto3.client("s3", endpoint_url=endpoint)
    client.create_bucket(Bucket=BUCKET)
    yield endpoint, client, server
    server.stop()


@pytest.fixture
def s3(settings, s3_server):
    endpoint, client, _ = s3_server
    settings.STORAGES = {**settings.STORAGES, **s3_storages(bucket=BUCKET, endpoint_url=endpoint, region="us-east-1")}
    return client


def stored(client, prefix: str) -> list[str]:
    return [row["Key"] for row in client.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", [])]


def files_under(folder) -> list:
    return [path for path in folder.rglob("*") if path.is_file()] if folder.exists() else []


def test_a_key_image_is_stored_in_the_bucket_served_and_printed_from_it(s3, settings, signed_in, case, radiologist):
    study = imaging.imaging_study_add(
        case=case,
        by=radiologist,
        modality="XR",
        body_site="Left femur",
        performed_on=case.created_at.date(),
        impression="Loosening of the screws.",
        key_images=[(f.png_upload("lateral.png"), "Lateral knee")],
    )
    image = study.key_images.get()
    assert stored(s3, "media/") == [f"media/{image.image.name}"]
    assert files_under(settings.MEDIA_ROOT) == []  # nothing on the app server's disk
    served = signed_in(radiologist).get(reverse("key-image", args=[image.pk]))
    assert served.status_code == 200 and b"".join(served.streaming_content).startswith(b"\x89PNG")
    pdf = render_case_summary(user=radiologist, case_id=case.pk)
    pages = PdfReader(io.BytesIO(pdf.content)).pages
    assert sum(len(page.images) for page in pages) == 1  # the image travelled into the PDF from the bucket


def test_a_packet_is_cached_in_the_bucket_and_reprinted_from_it(s3, settings, board, coordinator):
    meeting = f.MeetingFactory(board=board, created_by=coordinator)
    m.AgendaItem.objects.create(meeting=meeting, case=f.CaseFactory(board=board), position=1)
    first = render_meeting_packet(user=coordinator, meeting_id=meeting.pk)
    assert not first.from_cache
    cached = stored(s3, "print-cache/")
    assert f"print-cache/packet-{first.fingerprint}.pdf" in cached  # with its case sections
    assert files_under(settings.PRINT_CACHE_DIR) == []
    again = render_meeting_packet(user=coordinator, meeting_id=meeting.pk, only_cached=True)
    assert again.from_cache and again.content == first.content


def test_readyz_checks_the_bucket(s3_server, s3, client):
    assert client.get("/readyz").json()["checks"]["media"] == "ok"
    _, _, server = s3_server
    server.stop()
    answer = client.get("/readyz")
    assert answer.status_code == 503
    assert answer.json()["checks"]["media"] != "ok" and answer.json()["checks"]["print_cache"] != "ok"


def test_the_object_store_is_chosen_by_the_environment(db):
    chosen = django_in_subprocess(
        "from django.core.files.storage import storages;"
        "print(type(storages['default']).__name__, storages['default'].bucket_name, storages['default'].location,"
        " storages['print_cache'].location, storages['default'].endpoint_url)",
        TUMORBOARD_STORAGE="s3",
        TUMORBOARD_S3_BUCKET="hospital-tumorboard",
        TUMORBOARD_S3_ENDPOINT_URL="https://objects.hospital.example",
        TUMORBOARD_AUDIT_KEY="k" * 40,
    )
    assert chosen == "S3Storage hospital-tumorboard media print-cache https://objects.hospital.example"
    refused = django_in_subprocess_failure(TUMORBOARD_STORAGE="s3", TUMORBOARD_AUDIT_KEY="k" * 40)
    assert "TUMORBOARD_S3_BUCKET" in refused


def django_in_subprocess_failure(**env) -> str:
    import os
    import subprocess
    import sys

    from tests.test_health import ROOT

    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "tumorboard.settings", "DJANGO_SECRET_KEY": "k" * 50, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    return result.stderr
