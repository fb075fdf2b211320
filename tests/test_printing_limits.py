"""Every PDF renders in a worker process with a time and a memory limit, and the workers never outlive the
process that started them (issues 9 and 11)."""

import io
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from django.urls import reverse
from PIL import Image

from cases import models as m
from cases.printing import engine
from tests.conftest import audit_actions

ROOT = Path(__file__).resolve().parent.parent


def test_a_summary_past_the_time_limit_is_refused_with_the_reason_and_the_next_print_works(
    signed_in, api, case, coordinator, settings
):
    settings.PRINT_TIME_LIMIT_SECONDS = 0.01
    response = signed_in(coordinator).get(reverse("case-summary-pdf", args=[case.pk]))
    assert response.status_code == 409
    text = response.content.decode()
    assert f"The summary of case {case.pk} could not be printed" in text and "0.01-second print time limit" in text
    answer = api(coordinator).get(f"/api/v1/cases/{case.pk}/summary.pdf")
    assert answer.status_code == 409 and answer.json()["code"] == "print_limit_exceeded"
    assert not audit_actions(action="case.print")  # nothing was printed, so nothing is recorded as printed

    settings.PRINT_TIME_LIMIT_SECONDS = 60
    response = signed_in(coordinator).get(reverse("case-summary-pdf", args=[case.pk]))
    assert response.status_code == 200 and response.content.startswith(b"%PDF")


def _big_image_job() -> engine.Job:
    # 8000 x 8000 pixels: 200 KB as a PNG, 192 MB once decoded, and more again while it is laid out.
    buffer = io.BytesIO()
    Image.new("RGB", (8000, 8000), (200, 10, 10)).save(buffer, "PNG")
    url = "https://tumorboard.invalid/media/key-images/huge.png"
    return engine.Job("huge", f'<img src="{url}" style="width: 10cm">', {url: buffer.getvalue()})


def test_an_image_past_the_memory_limit_stops_its_worker_only():
    tight = engine.Limits(seconds=60, memory_bytes=450 * 2**20)  # a worker starts at about 250 MB
    with pytest.raises(engine.LimitExceeded) as refused:
        engine.render_jobs([_big_image_job()], workers=1, limits=tight)
    assert refused.value.key == "huge" and refused.value.what in {"memory", "stopped"}
    assert (1, tight) not in engine._pools  # the worker that went past the limit is gone; the next print starts afresh
    roomy = engine.Limits(seconds=60, memory_bytes=1536 * 2**20)
    pdf = engine.render_jobs([engine.Job("small", "<p>Fine.</p>", {})], workers=1, limits=roomy)["small"]
    assert pdf.startswith(b"%PDF")


def test_a_packet_section_past_the_limit_fails_its_job_at_once_with_the_case_named(
    signed_in, coordinator, quorate_meeting, make_case, settings
):
    case = make_case(m.Stage.CONSENSUS)
    m.AgendaItem.objects.create(meeting=quorate_meeting, case=case, position=1, minutes=10)
    settings.PRINT_TIME_LIMIT_SECONDS = 0.01
    response = signed_in(coordinator).get(reverse("meeting-packet-pdf", args=[quorate_meeting.pk]), follow=True)
    job = m.Job.objects.get(kind="packet.render")
    assert job.status == m.JobStatus.FAILED and job.attempts == 1  # refused, never retried
    assert f"The section of case {case.pk} could not be printed" in job.error
    assert f"The section of case {case.pk} could not be printed" in response.content.decode()


WORKERS_THEN_WAIT = textwrap.dedent(
    """
    import os, sys, time
    from cases.printing import engine

    if __name__ == "__main__":
        jobs = [engine.Job(f"k{n}", "<p>x</p>", {}) for n in range(4)]
        engine.render_jobs(jobs, workers=2, limits=engine.Limits(seconds=60, memory_bytes=1536 * 2**20))
        pool = engine.worker_pool(2, engine.Limits(seconds=60, memory_bytes=1536 * 2**20))
        print(" ".join(str(pid) for pid in pool._processes), flush=True)
        time.sleep(600)
    """
)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(") ")[1][0] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGKILL])
def test_print_workers_end_with_the_process_that_started_them(tmp_path, stop):
    script = tmp_path / "server.py"
    script.write_text(WORKERS_THEN_WAIT)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DJANGO_SETTINGS_MODULE": "tumorboard.settings"}
    server = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True, env=env, cwd=ROOT)
    try:
        workers = [int(pid) for pid in server.stdout.readline().split()]
        assert len(workers) == 2 and all(_alive(pid) for pid in workers)
        server.send_signal(stop)
        server.wait(timeout=30)
        deadline = time.monotonic() + 15
        while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not [pid for pid in workers if _alive(pid)], "print workers outlived the server"
    finally:
        server.kill()
        server.wait()
