"""make bench-analytics: the board analytics page and the metrics API with 100,000 cases in PostgreSQL.

1. Creates the bench database if needed ($BENCH_ANALYTICS_DATABASE_URL), migrates it, and writes four years
   of one board's synthetic history in bulk (cases.demo_history: meetings, listings, amendments, decisions,
   follow-ups), once; later runs reuse it.
2. Median server time, in process, of the analytics page and of GET /api/v1/boards/{id}/metrics/ for the
   last full quarter and for the whole four years (every case in the period). Target: 1 s or less.

Prints figures; it is not a test. Environment: BENCH_ANALYTICS_DATABASE_URL, BENCH_RUNS (default 5).
"""

import os
import statistics
import sys
import time
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import urlencode, urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DATABASE_URL = os.environ.get(
    "BENCH_ANALYTICS_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/tumorboard_bench_analytics"
)
os.environ.update(
    DATABASE_URL=DATABASE_URL,
    DJANGO_SETTINGS_MODULE="bench.api_settings",
    DJANGO_SECRET_KEY=os.environ.get("DJANGO_SECRET_KEY") or "bench-only-not-secret",
    TUMORBOARD_AUDIT_KEY=os.environ.get("TUMORBOARD_AUDIT_KEY") or "bench-only-audit-key",
    DJANGO_DEBUG="0",
)
CASES, CHUNKS, YEARS = 100_000, 20, 4
RUNS = int(os.environ.get("BENCH_RUNS", "5"))
BOARD = "Analytics bench board"


def ensure_database() -> None:
    from bench import common

    common.ensure_database(DATABASE_URL)


def generate(start: date) -> "object":
    from django.contrib.auth import get_user_model
    from django.db import connection

    from cases import models as m
    from cases.demo_history import build_history

    board, _ = m.Board.objects.get_or_create(
        name=BOARD,
        defaults={
            "tumour_site": "Bone and soft tissue",
            "required_specialties": ["radiology", "pathology"],
            "quorum_specialties": ["radiology", "pathology", "orthopaedic_oncology"],
        },
    )
    if m.Case.objects.filter(board=board).count() >= CASES:
        return board
    User = get_user_model()
    for username, role, specialty in [
        ("abench-coordinator", "coordinator", ""),
        ("abench-chair", "chair", "medical_oncology"),
        ("abench-radiologist", "member", "radiology"),
        ("abench-pathologist", "member", "pathology"),
        ("abench-orthopaedic", "member", "orthopaedic_oncology"),
    ]:
        user, _ = User.objects.get_or_create(username=username)
        m.BoardMembership.objects.get_or_create(user=user, board=board, defaults={"role": role, "specialty": specialty})
    days = YEARS * 365 // CHUNKS
    started = time.perf_counter()
    for chunk in range(CHUNKS):
        prefix = f"ABENCH{chunk:02d}"
        if m.Patient.objects.filter(mrn__startswith=f"{prefix}-").exists():
            continue
        build_history(
            board=board,
            start=start + timedelta(days=chunk * days),
            days=days - 21,
            cases=CASES // CHUNKS,
            prefix=prefix,
            seed=chunk,
        )
        print(f"  {(chunk + 1) * CASES // CHUNKS} cases written ({time.perf_counter() - started:.0f} s)", flush=True)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return board


def median_ms(client, url: str) -> float:
    samples = []
    for n in range(RUNS + 1):
        started = time.perf_counter()
        response = client.get(url)
        elapsed = (time.perf_counter() - started) * 1000
        assert response.status_code == 200, (url, response.status_code)
        if n:  # the first request warms caches and connections
            samples.append(elapsed)
    return statistics.median(samples)


def main() -> None:
    ensure_database()
    import django

    django.setup()
    from django.core.management import call_command
    from django.test import Client
    from django.urls import reverse

    from cases import models as m
    from cases.analytics.metrics import current_quarter

    call_command("migrate", verbosity=0)
    last = current_quarter(current_quarter().start - timedelta(days=1))
    start = last.end - timedelta(days=YEARS * 365 - 1)
    print(f"Building {CASES} cases (once) in {urlparse(DATABASE_URL).path.lstrip('/')}…", flush=True)
    board = generate(start)
    user = m.BoardMembership.objects.get(board=board, role="chair").user
    client = Client()
    client.force_login(user)
    periods = {"last quarter": (last.start, last.end), f"all {YEARS} years": (start, last.end)}
    counts = {
        "cases": m.Case.objects.filter(board=board).count(),
        "listings": m.AgendaItem.objects.filter(meeting__board=board).count(),
        "decisions": m.Decision.objects.filter(case__board=board).count(),
        "follow-ups": m.FollowUp.objects.filter(case__board=board).count(),
    }
    print(", ".join(f"{n} {name}" for name, n in counts.items()) + " in PostgreSQL")
    print(f"\nMedian server time of {RUNS} requests (in process, ms; target 1000):")
    for label, (first, final) in periods.items():
        query = urlencode({"from": first.isoformat(), "to": final.isoformat()})
        in_period = m.Case.objects.filter(board=board, created_at__date__range=(first, final)).count()
        for name, url in (
            ("analytics page", reverse("board-analytics", args=[board.pk]) + f"?{query}"),
            ("metrics API", f"/api/v1/boards/{board.pk}/metrics/?{query}"),
        ):
            ms = median_ms(client, url)
            verdict = "ok" if ms <= 1000 else "OVER TARGET"
            print(f"  {name:15} {label:13} ({in_period:6} cases) {ms:8.1f} ms  {verdict}")
    print(f"\nLoad average while measuring: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores.")


if __name__ == "__main__":
    main()
