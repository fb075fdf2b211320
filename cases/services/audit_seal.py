"""Sealing and verifying the audit trail against checkpoints kept outside the database.

A checkpoint says: in the database named `database`, the events after #`from` up to #`through` are
`count` events, and the running root over every event so far (root = SHA-256(root ‖ id ‖ mac), event
by event, in the database's order) is `root`. Each checkpoint carries an HMAC under the audit key and
the MAC of the checkpoint before it, and is appended to a JSON-lines file (TUMORBOARD_AUDIT_CHECKPOINTS).

Threat model: someone who can write to the database, but holds neither the key nor the checkpoint file,
can neither edit an event (its MAC fails) nor delete, insert, reorder or truncate events up to the last
checkpoint (the root, count or last sequence of a checkpoint no longer matches), nor restore the audit
table to an earlier state of itself (the checkpoints name events it no longer has). Events after the last
checkpoint are protected against edits only: seal often (docs/operations.md).
"""

import fcntl
import hashlib
import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from ..models import AuditDatabase, AuditEvent
from ..models.audit import canonical_payload
from .audit import audit_keys, mac_of

GENESIS = "0" * 64
COLUMNS = (
    "id",
    "created_at",
    "actor_id",
    "actor_username",
    "action",
    "object_type",
    "object_id",
    "patient_id",
    "case_id",
    "changes",
    "request_id",
    "ip_address",
    "key_id",
    "mac",
)
# At most this many problems are listed (the first is the first divergence); the count goes on.
MAX_PROBLEMS = 50


class SealError(Exception):
    """The trail cannot be sealed (a checkpoint file of another database, a broken file, a stuck writer)."""


def next_root(root: str, event_id: int, mac: str) -> str:
    return hashlib.sha256(bytes.fromhex(root) + event_id.to_bytes(8, "big") + bytes.fromhex(mac)).hexdigest()


def _checkpoint_mac(key: bytes, checkpoint: dict[str, Any]) -> str:
    body = {name: value for name, value in checkpoint.items() if name != "mac"}
    return mac_of(key, json.dumps(body, sort_keys=True, separators=(",", ":")).encode())


def sink_path() -> Path:
    return Path(settings.TUMORBOARD_AUDIT_CHECKPOINTS)


def _open_sink(path: Path) -> int:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    return os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)


@dataclass
class Checkpoint:
    line: int
    data: dict[str, Any]

    @property
    def through(self) -> int:
        return self.data["through"]


def read_checkpoints(path: Path, problems: list[str] | None = None) -> Iterator[Checkpoint]:
    """The file's checkpoints in order, each checked against its MAC and its predecessor.

    A line that fails is reported in `problems` (or raises SealError without a list) and skipped.
    """
    keys = audit_keys()
    if not path.exists():
        return
    previous_mac, previous_through = "", 0
    with path.open(encoding="utf-8") as lines:
        for number, text in enumerate(lines, start=1):
            if not text.strip():
                continue
            try:
                data = json.loads(text)
                key = keys.by_id.get(data["key_id"])
                valid = key is not None and _checkpoint_mac(key, data) == data["mac"]
            except (ValueError, KeyError, TypeError):
                data, valid, key = None, False, None
            problem = ""
            if data is None:
                problem = f"checkpoint line {number} cannot be read"
            elif key is None:
                problem = f"checkpoint line {number} is signed with a key not configured ({data.get('key_id')})"
            elif not valid:
                problem = f"checkpoint line {number} was changed after it was written (its MAC fails)"
            elif data["prev"] != previous_mac or data["from"] != previous_through:
                problem = f"checkpoint line {number} does not follow the one before it (a checkpoint was removed)"
            if problem:
                if problems is None:
                    raise SealError(problem)
                problems.append(problem)
                if data is None or not valid:
                    continue
            previous_mac, previous_through = data["mac"], data["through"]
            yield Checkpoint(number, data)


def _last_checkpoint(path: Path) -> Checkpoint | None:
    last = None
    for last in read_checkpoints(path):  # noqa: B007 - the last one is wanted
        pass
    return last


def database_id(*, create: bool) -> str | None:
    row = AuditDatabase.objects.order_by("pk").first()
    if row is None and create:
        row = AuditDatabase.objects.create()
    return str(row.database_id) if row else None


def _settled_through() -> int:
    """The highest event id below which no transaction can still add an event.

    PostgreSQL hands out ids at INSERT and shows a row at COMMIT: a transaction that took a lower id may
    still be open. Read the highest visible id, then wait for every transaction that was writing to the
    table at that moment. SQLite has one writer at a time, and its ids (AUTOINCREMENT) only grow.
    """
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {AuditEvent._meta.db_table}")
        through = cursor.fetchone()[0]
        if connection.vendor != "postgresql":
            return through
        query = (
            "SELECT DISTINCT virtualtransaction FROM pg_locks WHERE relation = %s::regclass "
            "AND mode = 'RowExclusiveLock' AND pid <> pg_backend_pid()"
        )
        cursor.execute(query, [AuditEvent._meta.db_table])
        writers = {row[0] for row in cursor.fetchall()}
        deadline = time.monotonic() + settings.TUMORBOARD_AUDIT_SEAL_WAIT_SECONDS
        while writers:
            if time.monotonic() > deadline:
                raise SealError(
                    f"{len(writers)} transaction(s) writing audit events have been open for more than "
                    f"{settings.TUMORBOARD_AUDIT_SEAL_WAIT_SECONDS} s; seal again later."
                )
            time.sleep(0.02)
            cursor.execute(query, [AuditEvent._meta.db_table])
            writers &= {row[0] for row in cursor.fetchall()}
    return through


def _events(
    after: int, through: int | None, chunk: int = 10000, columns: tuple[str, ...] = COLUMNS
) -> Iterator[tuple[Any, ...]]:
    """Events after #after (up to #through) in order, a page at a time: memory stays constant.

    Keyset pages (id > last ORDER BY id LIMIT n): no server-side cursor held open, one index range per page.
    PostgreSQL rows are read raw (Django's per-value converters cost more than the MAC); `changes` comes
    back as jsonb text and is parsed once.
    """
    last = after
    bound = "" if through is None else " AND id <= %s"
    sql = f"SELECT {', '.join(columns)} FROM {AuditEvent._meta.db_table} WHERE id > %s{bound} ORDER BY id LIMIT %s"
    raw = connection.vendor == "postgresql"
    changes = columns.index("changes") if "changes" in columns else None
    while True:
        if raw:
            with connection.cursor() as cursor:
                cursor.execute(sql, [last, through, chunk] if through is not None else [last, chunk])
                rows = cursor.fetchall()
            if rows and changes is not None and isinstance(rows[0][changes], str):
                rows = [(*row[:changes], json.loads(row[changes]), *row[changes + 1 :]) for row in rows]
        else:
            queryset = AuditEvent.objects.filter(id__gt=last).order_by("id")
            if through is not None:
                queryset = queryset.filter(id__lte=through)
            rows = list(queryset.values_list(*columns)[:chunk])
        if not rows:
            return
        yield from rows
        last = rows[-1][0]


@dataclass
class SealResult:
    checkpoint: dict[str, Any] | None
    sealed: int


def audit_seal() -> SealResult:
    """Append a checkpoint over the events since the last one (none when there is nothing new)."""
    keys = audit_keys()
    path = sink_path()
    descriptor = _open_sink(path)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)  # one sealer at a time appends to one file
        last = _last_checkpoint(path)
        with transaction.atomic():
            this_database = database_id(create=last is None)
        if last is not None and last.data["database"] != this_database:
            raise SealError(
                f"the checkpoint file {path} belongs to database {last.data['database']}, not to this one "
                f"({this_database or 'with no id'}): give each database its own TUMORBOARD_AUDIT_CHECKPOINTS"
            )
        after = last.through if last else 0
        root = last.data["root"] if last else GENESIS
        through = _settled_through()
        count, last_id = 0, after
        for event_id, mac in _events(after, through, columns=("id", "mac")):  # the root needs no more
            root, last_id, count = next_root(root, event_id, mac), event_id, count + 1
        if not count:
            return SealResult(None, 0)
        checkpoint = {
            "v": 1,
            "database": this_database,
            "from": after,
            "through": last_id,
            "count": count,
            "root": root,
            "prev": last.data["mac"] if last else "",
            "sealed_at": timezone.now().isoformat(),
            "key_id": keys.current_id,
        }
        checkpoint["mac"] = _checkpoint_mac(keys.current, checkpoint)
        os.write(descriptor, (json.dumps(checkpoint, sort_keys=True) + "\n").encode())
        os.fsync(descriptor)
        return SealResult(checkpoint, count)
    finally:
        os.close(descriptor)


@dataclass
class AuditReport:
    checked: int = 0
    sealed_through: int = 0
    checkpoints: int = 0
    problems: list[str] = field(default_factory=list)
    problem_count: int = 0

    @property
    def ok(self) -> bool:
        return not self.problem_count

    @property
    def problem(self) -> str:
        return self.problems[0] if self.problems else ""

    def add(self, problem: str) -> None:
        self.problem_count += 1
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(problem)


def window(checkpoint: dict[str, Any]) -> str:
    return f"events after #{checkpoint['from']} through #{checkpoint['through']} (sealed {checkpoint['sealed_at']})"


def audit_verify(*, seal: bool = True) -> AuditReport:
    """Check every event's MAC and every checkpoint's root, count and last sequence.

    Seals first (so the events up to now are covered), then reads the trail once in order.
    """
    report = AuditReport()
    if seal:
        try:
            audit_seal()
        except SealError as error:
            report.add(f"not sealed: {error}")
    keys = audit_keys()
    path = sink_path()
    this_database = database_id(create=False)
    sink_problems: list[str] = []
    checkpoints = read_checkpoints(path, sink_problems)

    def next_checkpoint() -> dict[str, Any] | None:
        for checkpoint in checkpoints:
            if checkpoint.data["database"] != this_database:
                report.add(
                    f"the checkpoint file {path} belongs to database {checkpoint.data['database']}, not to this "
                    f"one ({this_database or 'with no id'}): its checkpoints say nothing about this trail"
                )
                return None
            report.checkpoints += 1
            return checkpoint.data
        return None

    pending = next_checkpoint()
    root, count, last_id = GENESIS, 0, 0

    def close_window(checkpoint: dict[str, Any]) -> None:
        nonlocal root, count
        if root != checkpoint["root"] or count != checkpoint["count"]:
            if count < checkpoint["count"]:
                what = f"{checkpoint['count'] - count} of the {checkpoint['count']} sealed events are missing (deleted)"
            elif count > checkpoint["count"]:
                what = f"{count - checkpoint['count']} events were added to the {checkpoint['count']} sealed"
            else:
                what = "the sealed events were reordered or replaced"
            report.add(f"{window(checkpoint)}: {what}")
        report.sealed_through = checkpoint["through"]
        # The next window is checked on its own, from the root the checkpoint vouches for.
        root, count = checkpoint["root"], 0

    for row in _events(0, None):
        event_id, mac, key_id = row[0], row[-1], row[-2]
        while pending is not None and pending["through"] < event_id:
            close_window(pending)
            pending = next_checkpoint()
        key = keys.by_id.get(key_id)
        if key is None:
            report.add(f"event #{event_id} is signed with a key not configured ({key_id})")
        else:
            payload = canonical_payload(**dict(zip(COLUMNS[1:-1], row[1:-1], strict=True)))
            if mac_of(key, payload) != mac:
                report.add(f"event #{event_id} was changed after it was written (its MAC fails)")
        root, count, last_id = next_root(root, event_id, mac) if _is_hex(mac) else root, count + 1, event_id
        report.checked += 1
    while pending is not None:
        if pending["through"] > last_id:
            report.add(
                f"the trail ends at #{last_id} but a checkpoint sealed it through #{pending['through']} "
                f"({pending['count']} events after #{pending['from']}, {count} remain): events were deleted or "
                "removed from the end, or the table was restored to an earlier state"
            )
            report.sealed_through = pending["through"]
            pending = None
            for _ in checkpoints:  # the file's own problems are still worth naming
                pass
            break
        close_window(pending)
        pending = next_checkpoint()
    for problem in sink_problems:
        report.add(problem)
    return report


def _is_hex(text: str) -> bool:
    try:
        bytes.fromhex(text)
    except (ValueError, TypeError):
        return False
    return len(text) == 64
