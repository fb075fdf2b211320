"""make bench-audit: the keyed audit trail on PostgreSQL, figures only (not a test).

1. Parallel audited case-detail requests (in-process Django test clients, one process per worker) with
   today's lock-free insert, then with the old design's global lock emulated in the same run (every audit
   write first locks and updates one shared head row, as AuditChainHead did): requests per second.
2. Read-audit overhead on a case detail: median time with the audit insert, and with it skipped.
3. verify_audit over BENCH_AUDIT_EVENTS (default 1,000,000) events: seconds, events/s and peak memory
   of the verifying process (it runs in a child so its RSS is its own).

Environment: BENCH_DATABASE_URL (a database of its own is created beside it: <name>_audit),
BENCH_AUDIT_EVENTS, BENCH_WORKERS (default: 1, 2 and 4), BENCH_REQUESTS (per worker, default 150).
"""

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BASE_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/tumorboard_bench")
url = urlparse(BASE_URL)
DATABASE_URL = url._replace(path=url.path + "_audit").geturl()
WORK = Path(tempfile.mkdtemp(prefix="tb-bench-audit-"))
os.environ.update(
    DATABASE_URL=DATABASE_URL,
    DJANGO_SETTINGS_MODULE="bench.api_settings",
    DJANGO_SECRET_KEY=os.environ.get("DJANGO_SECRET_KEY") or "bench-only-not-secret",
    TUMORBOARD_AUDIT_KEY=os.environ.get("TUMORBOARD_AUDIT_KEY") or "bench-only-audit-key",
    TUMORBOARD_AUDIT_CHECKPOINTS=str(WORK / "checkpoints.jsonl"),
    DJANGO_DEBUG="0",
    DATABASE_CONN_MAX_AGE="600",
)
EVENTS = int(os.environ.get("BENCH_AUDIT_EVENTS", "1000000"))
WORKERS = [int(n) for n in os.environ.get("BENCH_WORKERS", "1,2,4").split(",")]
REQUESTS = int(os.environ.get("BENCH_REQUESTS", "150"))


def setup_django():
    import django

    django.setup()


def ensure_database() -> None:
    import psycopg2

    target = urlparse(DATABASE_URL)
    admin = psycopg2.connect(dbname="postgres", user=target.username, host=target.hostname, port=target.port or 5432)
    admin.autocommit = True
    with admin.cursor() as cursor:
        name = target.path.lstrip("/")
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        cursor.execute(f'CREATE DATABASE "{name}"')
    admin.close()


def build_case() -> tuple[int, int]:
    """One case with a history (the suite's factories), and a coordinator of its board."""
    from cases import models as m
    from tests import factories as f

    case = f.CaseFactory()
    user = f.MembershipFactory(board=case.board, role=m.Role.COORDINATOR).user
    return user.pk, case.pk


LOCK_TABLE = "bench_audit_head"


def install_global_lock() -> None:
    """The old design, for comparison: every audit write locks and bumps one shared row first."""
    from django.db import connection, transaction

    from cases.services import audit

    original = audit.audit_record

    def locked(**kwargs):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"SELECT n FROM {LOCK_TABLE} WHERE id = 1 FOR UPDATE")
            event = original(**kwargs)
            cursor.execute(f"UPDATE {LOCK_TABLE} SET n = n + 1 WHERE id = 1")
        return event

    for module in list(sys.modules.values()):
        if getattr(module, "audit_record", None) is original:
            module.audit_record = locked


def skip_audit() -> None:
    """The same request without its audit insert (the page's own, and the page-read fallback's)."""
    from cases.services import audit

    original = audit.audit_record

    def mark_only(**kwargs):
        context = audit._request_context.get()
        if context is not None and context.request is not None:
            context.request.tb_audited = True

    for module in list(sys.modules.values()):
        if getattr(module, "audit_record", None) is original:
            module.audit_record = mark_only


def worker(args) -> tuple[float, float, list[float]]:
    mode, user_id, case_id, requests = args
    setup_django()
    from django.contrib.auth import get_user_model
    from django.test import Client

    if mode == "global-lock":
        install_global_lock()
    elif mode == "no-audit":
        skip_audit()
    client = Client()
    client.force_login(get_user_model().objects.get(pk=user_id))
    url = f"/cases/{case_id}/"
    for _ in range(5):
        client.get(url)  # warm
    times = []
    started = time.time()
    for _ in range(requests):
        t0 = time.perf_counter()
        response = client.get(url)
        times.append(time.perf_counter() - t0)
        assert response.status_code == 200, response.status_code
    return started, time.time(), times


def parallel(mode, user_id, case_id, workers) -> float:
    """Requests per second over the span the workers' loops ran (set-up excluded), and the median request."""
    with ProcessPoolExecutor(workers) as pool:
        results = list(pool.map(worker, [(mode, user_id, case_id, REQUESTS)] * workers))
    span = max(end for _, end, _ in results) - min(start for start, _, _ in results)
    return workers * REQUESTS / span, statistics.median([t for _, _, times in results for t in times]) * 1000


def fill_events(n: int) -> None:
    """n synthetic events with valid MACs, written with COPY (as if the app had written them)."""
    import io

    from django.db import connection
    from django.utils import timezone

    from cases.models.audit import canonical_payload
    from cases.services.audit import audit_keys, mac_of

    keys = audit_keys()
    columns = "created_at, actor_username, action, object_type, object_id, patient_id, case_id, changes, "
    columns += "request_id, ip_address, key_id, mac"
    now = timezone.now()
    batch = 100_000
    with connection.cursor() as cursor:
        for start in range(0, n, batch):
            buffer = io.StringIO()
            for index in range(start, min(n, start + batch)):
                changes = {"query": {"search": f"BENCH-{index % 5000:06d}"}, "count": 25}
                fields = {
                    "created_at": now,
                    "actor_id": None,
                    "actor_username": "bench",
                    "action": "case.view",
                    "object_type": "case",
                    "object_id": str(index % 5000),
                    "patient_id": index % 5000,
                    "case_id": index % 5000,
                    "changes": changes,
                    "request_id": f"{index:032x}",
                    "ip_address": "10.0.0.1",
                    "key_id": keys.current_id,
                }
                mac = mac_of(keys.current, canonical_payload(**fields))
                row = [
                    now.isoformat(),
                    "bench",
                    "case.view",
                    "case",
                    str(index % 5000),
                    str(index % 5000),
                    str(index % 5000),
                    json.dumps(changes),
                    f"{index:032x}",
                    "10.0.0.1",
                    keys.current_id,
                    mac,
                ]
                buffer.write("\t".join(row) + "\n")
            buffer.seek(0)
            cursor.copy_expert(f"COPY cases_auditevent ({columns}) FROM STDIN", buffer)


def main() -> None:
    ensure_database()
    setup_django()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    user_id, case_id = build_case()
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TABLE IF NOT EXISTS {LOCK_TABLE} (id int PRIMARY KEY, n bigint)")
        cursor.execute(f"INSERT INTO {LOCK_TABLE} VALUES (1, 0) ON CONFLICT DO NOTHING")
    connection.close()
    cores = os.cpu_count()
    load = os.getloadavg()[0]
    print(f"bench-audit on PostgreSQL ({cores} cores, load {load:.1f}), {REQUESTS} case-detail requests per worker")
    print("1. parallel audited case details (requests/s; median ms per request)")
    for workers in WORKERS:
        keyed, keyed_ms = parallel("keyed", user_id, case_id, workers)
        locked, locked_ms = parallel("global-lock", user_id, case_id, workers)
        print(
            f"   {workers} worker(s): lock-free {keyed:7.1f}/s ({keyed_ms:5.1f} ms)   "
            f"old global lock {locked:7.1f}/s ({locked_ms:5.1f} ms)"
        )
    print("2. read-audit overhead on one case detail (1 worker, median)")
    _, with_audit = parallel("keyed", user_id, case_id, 1)
    _, without = parallel("no-audit", user_id, case_id, 1)
    print(
        f"   with the audit insert {with_audit:.2f} ms, without {without:.2f} ms: "
        f"+{with_audit - without:.2f} ms ({(with_audit - without) / without * 100:+.1f} %)"
    )
    print(f"3. verify_audit over {EVENTS:,} events")
    started = time.perf_counter()
    fill_events(EVENTS)
    connection.close()
    print(f"   written with COPY in {time.perf_counter() - started:.1f} s")
    for label, command in (("seal_audit", ["seal_audit"]), ("verify_audit", ["verify_audit", "--stats", "--no-seal"])):
        started = time.perf_counter()
        out = subprocess.run(
            [sys.executable, "manage.py", *command], cwd=ROOT, capture_output=True, text=True, env=os.environ
        )
        elapsed = time.perf_counter() - started
        print(f"   {label}: {elapsed:.1f} s (process) — {(out.stdout + out.stderr).strip().splitlines()[0]}")
        if out.returncode:
            print(out.stdout + out.stderr)
            sys.exit(1)


if __name__ == "__main__":
    main()
