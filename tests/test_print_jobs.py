"""Packet rendering as a background job: the portal shows progress and then the download, the API answers
202 with a job to poll when the packet is not ready within a short wait, the same content joins one job,
and publishing an agenda pre-renders the packet so the print at the meeting is instant."""

import time

import pytest
from django.urls import reverse

from cases import models as m
from cases.jobs import worker
from cases.services import meetings
from tests import factories as f
from tests.conftest import audit_actions
from tests.test_api_print import PATIENTS, agenda_meeting, page_count
from tests.test_jobs import start_worker, stop

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _real_jobs(settings):
    settings.JOBS_INLINE = False
    settings.PRINT_JOB_WAIT_SECONDS = 0.3


@pytest.fixture
def meeting(board, coordinator):
    return agenda_meeting(board, coordinator, PATIENTS)


def test_print_packet_shows_progress_then_the_download(signed_in, coordinator, meeting):
    portal = signed_in(coordinator)
    response = portal.get(reverse("meeting-packet-pdf", args=[meeting.pk]))
    job = m.Job.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("job-detail", args=[job.pk])
    waiting = portal.get(response["Location"])
    page = waiting.content.decode()
    assert "no worker has picked the job up yet" in page
    assert '<meta http-equiv="refresh" content="2">' in page
    assert audit_actions(action="meeting.print") == []  # nothing printed yet

    assert worker.run_once("w1")
    job.refresh_from_db()
    assert (job.status, job.progress_done, job.progress_total) == (m.JobStatus.DONE, 2, 2)
    done = portal.get(reverse("job-detail", args=[job.pk])).content.decode()
    assert "The packet is ready." in done and 'http-equiv="refresh"' not in done
    download = portal.get(reverse("meeting-packet-pdf", args=[meeting.pk]))
    assert download.status_code == 200 and download["Content-Type"] == "application/pdf"
    assert page_count(download.content) >= 3
    assert audit_actions(action="meeting.print") == ["meeting.print"]
    assert m.Job.objects.count() == 1  # the download read the cache


def test_two_members_printing_the_same_packet_share_one_job(signed_in, client, coordinator, chair, meeting):
    first = signed_in(coordinator).get(reverse("meeting-packet-pdf", args=[meeting.pk]))
    client.logout()
    second = signed_in(chair).get(reverse("meeting-packet-pdf", args=[meeting.pk]))
    assert first["Location"] == second["Location"]
    assert m.Job.objects.count() == 1
    assert signed_in(chair).get(second["Location"]).status_code == 200


def test_the_api_answers_202_with_a_job_to_poll_when_no_worker_runs(api, coordinator, meeting):
    client = api(coordinator)
    started = time.monotonic()
    response = client.get(f"/api/v1/meetings/{meeting.pk}/packet.pdf")
    assert time.monotonic() - started < 5  # a short wait, never for ever
    assert response.status_code == 202
    job = m.Job.objects.get()
    assert response["Location"] == f"/api/v1/jobs/{job.pk}/"
    assert response.json()["status"] == "queued"
    assert response.json()["detail"] == "No worker has picked the job up yet."
    assert client.get(response["Location"]).json()["download"] is None

    worker.run_once("w1")
    polled = client.get(response["Location"]).json()
    assert polled["status"] == "done" and polled["progress"] == {"done": 2, "total": 2}
    assert polled["download"] == f"/api/v1/meetings/{meeting.pk}/packet.pdf"
    pdf = client.get(polled["download"])
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"


def test_another_boards_member_sees_no_job(api, signed_in, coordinator, outsider, meeting):
    api(coordinator).get(f"/api/v1/meetings/{meeting.pk}/packet.pdf")
    job = m.Job.objects.get()
    assert api(outsider).get(f"/api/v1/jobs/{job.pk}/").status_code == 404
    assert signed_in(outsider).get(reverse("job-detail", args=[job.pk])).status_code == 404
    assert api().get(f"/api/v1/jobs/{job.pk}/").status_code == 401


def test_a_failed_job_says_so_and_printing_again_retries_it(signed_in, coordinator, meeting):
    portal = signed_in(coordinator)
    portal.get(reverse("meeting-packet-pdf", args=[meeting.pk]))
    job = m.Job.objects.get()
    m.Job.objects.filter(pk=job.pk).update(status=m.JobStatus.FAILED, error="RuntimeError: out of memory")
    page = portal.get(reverse("job-detail", args=[job.pk])).content.decode()
    assert "The packet could not be printed." in page and "out of memory" not in page
    again = portal.get(reverse("meeting-packet-pdf", args=[meeting.pk]))
    assert again["Location"] == reverse("job-detail", args=[job.pk])
    job.refresh_from_db()
    assert job.status == m.JobStatus.QUEUED
    assert "job.retry" in audit_actions()


def test_publishing_the_agenda_prerenders_the_packet(
    api, coordinator, board, make_case, django_capture_on_commit_callbacks
):
    meeting = f.MeetingFactory(board=board, created_by=coordinator)
    for _ in range(2):
        meetings.agenda_add(meeting=meeting, case=make_case("consensus"), by=coordinator)
    with django_capture_on_commit_callbacks(execute=True):
        meetings.agenda_publish(meeting=meeting, by=coordinator)
    job = m.Job.objects.get()
    assert job.kind == "packet.render" and job.args["meeting_id"] == meeting.pk
    worker.run_once("w1")
    started = time.monotonic()
    response = api(coordinator).get(f"/api/v1/meetings/{meeting.pk}/packet.pdf")
    elapsed = time.monotonic() - started
    assert response.status_code == 200 and m.Job.objects.count() == 1  # served from the pre-rendered cache
    print(f"\nreprint of a pre-rendered packet: {elapsed * 1000:.0f} ms")
    # A later change to the published agenda renders it again.
    with django_capture_on_commit_callbacks(execute=True):
        meetings.agenda_add(meeting=meeting, case=make_case("consensus"), by=coordinator)
    assert m.Job.objects.filter(status=m.JobStatus.QUEUED).count() == 1


@pytest.mark.django_db(transaction=True)
def test_with_a_worker_running_the_api_answers_the_pdf(postgres_only, settings, api, board, coordinator):
    settings.PRINT_JOB_WAIT_SECONDS = 60
    meeting = agenda_meeting(board, coordinator, PATIENTS)
    # The worker and this app server share the print cache and media folders, as instances do in production.
    process = start_worker(
        TUMORBOARD_JOBS_POLL_SECONDS="0.2",
        TUMORBOARD_PRINT_WORKERS="1",
        TUMORBOARD_PRINT_CACHE_DIR=str(settings.PRINT_CACHE_DIR),
        DJANGO_MEDIA_ROOT=str(settings.MEDIA_ROOT),
    )
    try:
        response = api(coordinator).get(f"/api/v1/meetings/{meeting.pk}/packet.pdf")
    finally:
        stop(process)
    assert response.status_code == 200 and page_count(response.content) >= 3
    job = m.Job.objects.get()
    # Rendered by the worker process, not inline in this one (worker names are host:pid:random).
    assert job.status == m.JobStatus.DONE and job.worker.split(":")[1] == str(process.pid)


def test_a_pdfa_packet_that_would_miss_glyphs_is_refused_at_once_and_says_why(
    api, signed_in, coordinator, meeting, monkeypatch
):
    from cases.jobs import tasks
    from cases.printing.documents import MissingGlyphs

    def refuse(*args, **kwargs):
        raise MissingGlyphs("No font here draws 3 characters (“𓀀𓀁𓀂” in “Hieroglyph note”); remove them to print PDF/A.")

    monkeypatch.setattr(tasks, "_render", refuse)
    client = api(coordinator)
    client.get(f"/api/v1/meetings/{meeting.pk}/packet.pdf?pdfa=1")
    job = m.Job.objects.get()
    worker.run_once("w1")
    job.refresh_from_db()
    assert (job.status, job.attempts) == (m.JobStatus.FAILED, 1)  # no retry: it cannot succeed as asked
    refused = client.get(f"/api/v1/meetings/{meeting.pk}/packet.pdf?pdfa=1")
    assert refused.status_code == 409 and refused.json()["code"] == "missing_glyphs"
    assert "Hieroglyph note" in refused.json()["detail"]
    page = signed_in(coordinator).get(reverse("job-detail", args=[job.pk])).content.decode()
    assert "The packet was not printed." in page and "Hieroglyph note" in page
