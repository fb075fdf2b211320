"""No lost updates (issue 6): 20 API clients write to one case and its opinions at the same moment.

Each writer reads the object (its ETag), waits at a barrier with the others, and writes with
If-Match; a writer refused as stale reads again and retries, at most three times. Afterwards the
state must be what the successful writes give when applied one after another in the order of the
versions they were given, every refusal must be a 409/412 that says what to do, and the timeline
and the audit trail must hold exactly one row per successful write.
"""

import logging
import threading
from collections import Counter
from dataclasses import dataclass

import pytest
from django.db import connection
from rest_framework.test import APIClient

from cases import models as m
from cases.services.audit import audit_verify_chain
from tests import factories as f

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ATTEMPTS = 3


@pytest.fixture(autouse=True)
def _quiet_sign_ins():
    """Twenty forced sign-ins log a line each (django-axes)."""
    axes = logging.getLogger("axes")
    level, axes.level = axes.level, logging.ERROR
    yield
    axes.setLevel(level)


@dataclass
class Writer:
    name: str
    user: object
    kind: str  # "referral", "move" or "opinion"
    read_url: str
    write_url: str
    method: str
    if_match: bool = True  # a transition may go without: it is then checked against the stage, not a version


@dataclass
class Write:
    writer: str
    kind: str
    target: str  # "case" or "opinion <pk>"
    sent: dict
    based_on: int | None  # the version its If-Match named
    status: int
    body: dict

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def version(self) -> int:
        return self.body["version"]


def body_for(writer: Writer, current: dict, attempt: int) -> dict:
    """What this writer sends, given what it just read: each write is distinguishable."""
    tag = f"{writer.name}, attempt {attempt + 1}"
    if writer.kind == "referral":
        return {"key_labs": f"Calcium 2.{attempt} ({tag})"}
    if writer.kind == "opinion":
        return {"assessment": f"Benign calcification ({tag})"}
    if current["stage"] == "imaging":
        return {"to": "pathology", "note": f"Impression recorded ({tag})"}
    return {"to": "imaging", "note": f"More imaging needed ({tag})"}


def run(writer: Writer, barrier: threading.Barrier, writes: list, lock: threading.Lock) -> None:
    """One thread: its own client and database connection (closed at the end)."""
    client = APIClient()
    client.force_login(writer.user)
    try:
        for attempt in range(ATTEMPTS):
            current = client.get(writer.read_url)
            assert current.status_code == 200, current.content
            sent = body_for(writer, current.json(), attempt)
            if attempt == 0:
                barrier.wait(timeout=30)
            send = client.patch if writer.method == "PATCH" else client.post
            headers = {"HTTP_IF_MATCH": current["ETag"]} if writer.if_match else {}
            response = send(writer.write_url, sent, format="json", **headers)
            target = "case" if writer.kind != "opinion" else f"opinion {writer.write_url.split('/')[-2]}"
            body = response.json() if response["Content-Type"] == "application/json" else {"raw": response.content}
            based_on = int(current["ETag"].rsplit("-v", 1)[1].strip('"')) if writer.if_match else None
            with lock:
                writes.append(Write(writer.name, writer.kind, target, sent, based_on, response.status_code, body))
            if response.status_code != 412:
                break
    finally:
        connection.close()


def writers_for(case, opinions, coordinator, chair) -> list[Writer]:
    case_url = f"/api/v1/cases/{case.pk}/"
    writers = [Writer(f"referral {n}", coordinator, "referral", case_url, case_url, "PATCH") for n in range(6)]
    movers = [coordinator, coordinator, chair, chair]
    writers += [
        Writer(f"mover {n}", user, "move", case_url, f"{case_url}transition/", "POST", if_match=n < 2)
        for n, user in enumerate(movers)
    ]
    tabs = {"radiology": 3, "pathology": 3, "orthopaedic_oncology": 2, "radiation_oncology": 2}
    for opinion in opinions:
        url = f"/api/v1/opinions/{opinion.pk}/"
        writers += [
            Writer(f"{opinion.specialty} tab {n}", opinion.author, "opinion", url, url, "PATCH")
            for n in range(tabs[opinion.specialty])
        ]
    return writers


def replay_case(case_writes: list[Write], key_labs: str, stage: str) -> tuple[str, str]:
    """Apply the successful case writes one after another, in the order of their versions."""
    for write in case_writes:
        # Each was based on the version right before it: nobody overwrote a change they had not seen.
        assert write.based_on in (None, write.version - 1), write
        if write.kind == "referral":
            key_labs = write.sent["key_labs"]
        else:
            stage = write.sent["to"]
        # What the writer was answered is the state right after its write, nothing lost in between.
        assert (write.body["key_labs"], write.body["stage"]) == (key_labs, stage), write
    return key_labs, stage


def test_twenty_concurrent_writers_lose_nothing_and_refusals_say_what_to_do(
    postgres_only, board, coordinator, chair, specialists
):
    case = f.CaseFactory(board=board, stage="imaging", key_labs="Calcium 2.9")
    f.ImagingStudyFactory(case=case)
    opinions = [
        f.OpinionFactory(case=case, specialty=specialty, author=user, assessment="First look.")
        for specialty, user in specialists.items()
    ]
    writers = writers_for(case, opinions, coordinator, chair)
    assert len(writers) == 20
    audit_before = Counter(m.AuditEvent.objects.values_list("action", flat=True))
    events_before = Counter(m.CaseEvent.objects.filter(case=case).values_list("kind", flat=True))

    barrier, writes, lock = threading.Barrier(len(writers)), [], threading.Lock()
    threads = [threading.Thread(target=run, args=(w, barrier, writes, lock)) for w in writers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)

    # Every answer is a success or a refusal that says what to do next.
    assert {w.status for w in writes} <= {200, 409, 412}, Counter(w.status for w in writes)
    for refusal in (w for w in writes if not w.ok):
        assert refusal.body["code"] in {"stale_version", "transition_not_allowed"}, refusal.body
        assert "Reload" in refusal.body["detail"] or "GET it again" in refusal.body["detail"], refusal.body
        if refusal.status == 412:
            assert refusal.body["current_version"] > 1
    ok = [w for w in writes if w.ok]
    assert len({w.writer for w in writes}) == 20

    # The case: versions 2, 3, … one per successful write; the final state is their serial replay.
    case_writes = sorted((w for w in ok if w.target == "case"), key=lambda w: w.version)
    assert [w.version for w in case_writes] == list(range(2, 2 + len(case_writes)))
    case.refresh_from_db()
    assert case.version == 1 + len(case_writes)
    assert (case.key_labs, case.stage) == replay_case(case_writes, "Calcium 2.9", "imaging")

    # Each opinion likewise, with its own versions.
    for opinion in opinions:
        edits = sorted((w for w in ok if w.target == f"opinion {opinion.pk}"), key=lambda w: w.version)
        assert edits, f"nobody managed to edit {opinion.specialty}"
        assert [w.version for w in edits] == list(range(2, 2 + len(edits)))
        assert all(w.based_on == w.version - 1 for w in edits)
        opinion.refresh_from_db()
        assert (opinion.version, opinion.assessment) == (1 + len(edits), edits[-1].sent["assessment"])

    # One timeline row and one audit row per successful write, none for a refusal, in the same order.
    referrals = [w for w in case_writes if w.kind == "referral"]
    moves = [w for w in case_writes if w.kind == "move"]
    opinion_edits = [w for w in ok if w.kind == "opinion"]
    audit = Counter(m.AuditEvent.objects.values_list("action", flat=True)) - audit_before
    assert (audit["case.update"], audit["case.transition"], audit["opinion.update"]) == (
        len(referrals),
        len(moves),
        len(opinion_edits),
    )
    events = Counter(m.CaseEvent.objects.filter(case=case).values_list("kind", flat=True)) - events_before
    assert events == Counter(updated=len(referrals), transition=len(moves), opinion=len(opinion_edits))
    updates = m.AuditEvent.objects.filter(action="case.update", case_id=case.pk).order_by("id")
    assert [row.changes["key_labs"][1] for row in updates] == [w.sent["key_labs"] for w in referrals]
    labs = ["Calcium 2.9", *(w.sent["key_labs"] for w in referrals)]
    assert [row.changes["key_labs"][0] for row in updates] == labs[:-1]  # each edit saw the one before
    transitions = m.AuditEvent.objects.filter(action="case.transition", case_id=case.pk).order_by("id")
    assert [row.changes["note"] for row in transitions] == [w.sent["note"] for w in moves]
    report = audit_verify_chain()
    assert report.ok, report.problem

    refused = Counter(w.status for w in writes if not w.ok)
    written = {action: audit[action] for action in ("case.update", "case.transition", "opinion.update")}
    print(
        f"\n{len(writers)} writers, {len(writes)} writes: {len(ok)} succeeded "
        f"({len(referrals)} referral edits, {len(moves)} moves, {len(opinion_edits)} opinion edits), "
        f"refused {dict(sorted(refused.items()))}; case at v{case.version}; audit rows of writes {written}, "
        f"timeline +{sum(events.values())}; audit chain of {report.checked} rows (reads and sign-ins too) verified"
    )
