"""make bench-api: the API against the framework's floor, on 10,000 cases in PostgreSQL.

1. Creates the bench database if needed ($BENCH_DATABASE_URL), migrates it, and bulk-creates
   10,000 synthetic cases (once; later runs reuse them).
2. Median server time, in process, of GET /api/v1/cases/?board=X&stage=Y (a page of 50) and of a
   case detail, against bare Django views that return the same JSON built by hand (bench/api_bare.py).
3. Requests per second under gunicorn, measured with wrk on loopback for a bounded duration.

Prints figures; it is not a test. Environment: BENCH_DATABASE_URL, BENCH_REQUESTS (in-process
samples, default 300), BENCH_SECONDS (wrk duration per URL, default 10), BENCH_CONNECTIONS (default 8).
"""

import os
import re
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DATABASE_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/tumorboard_bench")
os.environ.update(
    DATABASE_URL=DATABASE_URL,
    DJANGO_SETTINGS_MODULE="bench.api_settings",
    DJANGO_SECRET_KEY=os.environ.get("DJANGO_SECRET_KEY") or "bench-only-not-secret",
    TUMORBOARD_AUDIT_KEY=os.environ.get("TUMORBOARD_AUDIT_KEY") or "bench-only-audit-key",
    DJANGO_DEBUG="0",
)
CASES = 10_000
REQUESTS = int(os.environ.get("BENCH_REQUESTS", "300"))
SECONDS = int(os.environ.get("BENCH_SECONDS", "10"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "8"))


def ensure_database() -> None:
    from bench import common

    common.ensure_database(DATABASE_URL)


def generate() -> None:
    """10,000 cases on two boards, bulk-created; one case carries a full history for the detail."""
    from django.contrib.auth import get_user_model
    from django.db import transaction
    from django.utils import timezone

    from cases import models as m

    if m.Case.objects.count() >= CASES:
        return
    started = time.perf_counter()
    User = get_user_model()
    with transaction.atomic():
        user = User.objects.create_user("bench", password="bench-only-password", first_name="Bench", last_name="User")
        specialties = ["radiology", "pathology", "orthopaedic_oncology", "radiation_oncology"]
        boards = [
            m.Board.objects.create(
                name=f"Bench board {n}", tumour_site="Bone", required_specialties=specialties, quorum_specialties=[]
            )
            for n in (1, 2)
        ]
        for board in boards:
            m.BoardMembership.objects.create(user=user, board=board, role=m.Role.COORDINATOR)
        patients = m.Patient.objects.bulk_create(
            m.Patient(
                mrn=f"BENCH-{n:06d}",
                given_name=f"Given{n}",
                family_name=f"Family{n % 997}",
                birth_date=date(1950, 1, 1) + timedelta(days=n),
                sex=["female", "male"][n % 2],
                registered_board=boards[n % 2],
                created_by=user,
            )
            for n in range(CASES)
        )
        stages = list(m.Stage.values)
        cases = m.Case.objects.bulk_create(
            m.Case(
                patient=patient,
                board=boards[n % 2],
                referring_clinician="Dr. Bench",
                clinical_question=f"Synthetic question {n}",
                history="Synthetic history.",
                stage=stages[(n // 2) % len(stages)],
                priority=["routine", "urgent"][n % 3 == 0],
                created_by=user,
            )
            for n, patient in enumerate(patients)
        )
        now = timezone.now()
        m.PathologyReport.objects.bulk_create(
            m.PathologyReport(
                case=case,
                specimen="Core",
                procedure="Biopsy",
                collected_on=date(2026, 1, 1),
                diagnosis="Synthetic diagnosis.",
                status="final",
                signed_out_at=now,
                pathologist=user,
            )
            for case in cases[::5]
        )
        _fill_detail_case(cases[0], user, specialties)
    print(f"generated {CASES} cases in {time.perf_counter() - started:.1f} s")


def _fill_detail_case(case, user, specialties) -> None:
    from django.utils import timezone

    from cases import models as m

    for n in range(3):
        m.ImagingStudy.objects.create(
            case=case,
            modality="CT",
            body_site="Knee",
            performed_on=date(2026, 1, n + 1),
            impression="i",
            radiologist=user,
        )
    first = m.PathologyReport.objects.filter(case=case).first()
    m.PathologyReport.objects.create(
        case=case,
        specimen="Core",
        procedure="Biopsy",
        collected_on=date(2026, 1, 1),
        diagnosis="Amended.",
        status="amended",
        supersedes=first,
        amendment_reason="Review",
        discrepancy="major",
        signed_out_at=timezone.now(),
        pathologist=user,
    )
    for specialty in specialties:
        m.Opinion.objects.create(case=case, specialty=specialty, author=user, assessment="Synthetic input.")
    decision = m.Decision.objects.create(
        case=case, consensus_diagnosis="c", plan=[{"category": "surveillance"}], recorded_by=user
    )
    decision.participants.set([user])
    for n in range(5):
        m.FollowUp.objects.create(case=case, kind="action", description=f"Visit {n}", due_on=date(2026, 3, n + 1))
    for n in range(20):
        m.CaseEvent.objects.create(case=case, kind="updated", summary=f"Event {n}", actor=user)


def medians_ms(client, api_url: str, bare_url: str) -> tuple[float, float]:
    """Median time of each URL, requests interleaved so that noise from a shared machine hits both alike."""
    samples = {api_url: [], bare_url: []}
    for n in range(REQUESTS + 20):
        for url in (api_url, bare_url):
            started = time.perf_counter()
            response = client.get(url)
            elapsed = (time.perf_counter() - started) * 1000
            assert response.status_code == 200, (url, response.status_code)
            if n >= 20:  # the first requests warm caches and connections
                samples[url].append(elapsed)
    return statistics.median(samples[api_url]), statistics.median(samples[bare_url])


def wrk(base: str, path: str, cookie: str) -> float:
    output = subprocess.run(
        ["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{SECONDS}s", "-H", f"Cookie: {cookie}", base + path],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    if non_2xx:
        raise SystemExit(f"wrk saw {non_2xx[1]} error responses for {path}")
    return float(re.search(r"Requests/sec:\s+([\d.]+)", output)[1])


def serve() -> tuple[subprocess.Popen, str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [str(ROOT / ".venv/bin/gunicorn"), "tumorboard.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "2"],
        cwd=ROOT,
        env=os.environ,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            urllib.request.urlopen(base + "/login/", timeout=2)
            return server, base
        except OSError:
            time.sleep(0.2)
    server.kill()
    raise SystemExit("gunicorn did not start")


def differences(api, bare, path: str = "") -> list[str]:
    """Where two JSON bodies differ: the path of each key or item, down to the first differing leaf."""
    if isinstance(api, dict) and isinstance(bare, dict):
        missing = [f"{path}.{k}: only in the {'API' if k in api else 'bare view'}" for k in set(api) ^ set(bare)]
        return missing + [d for k in sorted(set(api) & set(bare)) for d in differences(api[k], bare[k], f"{path}.{k}")]
    if isinstance(api, list) and isinstance(bare, list) and len(api) == len(bare):
        return [d for n, (a, b) in enumerate(zip(api, bare, strict=True)) for d in differences(a, b, f"{path}[{n}]")]
    return [] if api == bare else [f"{path or '.'}: API {api!r:.60} bare {bare!r:.60}"]


def main() -> None:
    ensure_database()
    import django

    django.setup()
    from django.core.management import call_command
    from django.test import Client

    from cases import models as m

    call_command("migrate", verbosity=0)
    generate()
    user = m.BoardMembership.objects.filter(user__username="bench").first().user
    board = m.Board.objects.get(name="Bench board 1")
    detail_case = m.Case.objects.filter(patient__mrn="BENCH-000000").get()
    client = Client()
    client.force_login(user)
    pairs = {
        "list (page of 50)": (
            f"/api/v1/cases/?board={board.pk}&stage=pathology",
            f"/bare/cases/?board={board.pk}&stage=pathology",
        ),
        "case detail": (f"/api/v1/cases/{detail_case.pk}/", f"/bare/cases/{detail_case.pk}/"),
    }
    for api_url, bare_url in pairs.values():
        api_body, bare_body = client.get(api_url).json(), client.get(bare_url).json()
        if api_body != bare_body:
            raise SystemExit(f"{api_url} and {bare_url} differ at {differences(api_body, bare_body)[:200]}")
    print(f"{m.Case.objects.count()} cases in PostgreSQL; {REQUESTS} requests per median; identical JSON checked")
    print("\nMedian server time (in process, ms):")
    for name, (api_url, bare_url) in pairs.items():
        api_ms, bare_ms = medians_ms(client, api_url, bare_url)
        print(f"  {name:18} API {api_ms:7.2f}   bare Django {bare_ms:7.2f}   ratio {api_ms / bare_ms:.2f}")
    cookie = f"sessionid={client.cookies['sessionid'].value}"
    server, base = serve()
    try:
        print(f"\nRequests per second (gunicorn, 2 workers; wrk, 2 threads, {CONNECTIONS} connections, {SECONDS} s):")
        for name, (api_url, bare_url) in pairs.items():
            api_rps, bare_rps = wrk(base, api_url, cookie), wrk(base, bare_url, cookie)
            print(f"  {name:18} API {api_rps:7.1f}   bare Django {bare_rps:7.1f}   ratio {bare_rps / api_rps:.2f}")
    finally:
        server.terminate()
        server.wait()
    print("\nRatios are API cost over the bare view's (time) or bare throughput over the API's (req/s).")


if __name__ == "__main__":
    main()
