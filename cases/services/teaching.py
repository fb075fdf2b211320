"""Teaching sets: prepared by one member of a board, approved by another who holds the reviewer permission.

A draft belongs to its preparer, who includes and edits free text (starting from the scrubber's
suggestion) and images (confirming no burned-in identifiers). A reviewer who did not prepare it
approves that exact version: the approval names the version it saw and records a digest of every
text. An approved set is frozen and prints; its text is never scrubbed again. Every step is audited.
"""

import hashlib
import secrets
from collections.abc import Collection, Mapping
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from .. import permissions
from ..models import (
    AuditEvent,
    Case,
    KeyImage,
    Meeting,
    MeetingStatus,
    TeachingCase,
    TeachingImage,
    TeachingSet,
    TeachingStatus,
    TeachingText,
)
from ..teaching import fields as teaching_fields
from ..teaching.scrubber import findings, scrub
from ..types import User
from .audit import audit_record
from .common import check_version, lock
from .errors import Conflict, Gate, GatesUnmet

CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I: read aloud and copied by hand
MAX_CASES = 40
OTHER_IDENTIFIERS_MAX = 4000
ONLY_THE_PREPARER = "Only the member who prepared this teaching set changes it."


def teaching_code(taken: set[str]) -> str:
    while True:
        code = "T-" + "".join(secrets.choice(CODE_ALPHABET) for _ in range(4))
        if code not in taken:
            return code


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _check_cases(*, by: User, cases: list[Case], meeting: Meeting | None) -> int:
    if not cases:
        raise ValidationError({"cases": "Choose at least one case."})
    if len(cases) > MAX_CASES:
        raise ValidationError({"cases": f"A teaching set holds at most {MAX_CASES} cases."})
    if len({case.pk for case in cases}) != len(cases):
        raise ValidationError({"cases": "A case is listed twice."})
    boards = {case.board_id for case in cases}
    for board_id in boards:
        permissions.require_visible(by, board_id)
    if len(boards) > 1:
        raise ValidationError({"cases": "The cases of one teaching set come from one board."})
    board_id = boards.pop()
    permissions.require(by, "teaching.prepare", board_id)
    if meeting is not None:
        if meeting.board_id != board_id:
            raise ValidationError({"meeting": "The meeting belongs to another board."})
        if meeting.status == MeetingStatus.CANCELLED:
            raise ValidationError({"meeting": "The meeting was cancelled: prepare the teaching set from its cases."})
        on_agenda = set(meeting.agenda_items.values_list("case_id", flat=True))
        if any(case.pk not in on_agenda for case in cases):
            raise ValidationError({"cases": "Every case must be on the agenda of the meeting."})
    return board_id


def teaching_set_create(
    *,
    by: User,
    cases: list[Case],
    meeting: Meeting | None = None,
    include: Collection[str] = (),
    other_identifiers: dict[int, str] | None = None,
) -> TeachingSet:
    """A draft with a random code per case, its diagnoses and body sites (scrubbed) and the fields in `include`."""
    board_id = _check_cases(by=by, cases=cases, meeting=meeting)
    other_identifiers = other_identifiers or {}
    if set(other_identifiers) - {case.pk for case in cases}:
        raise ValidationError({"other_identifiers": "Other identifiers name a case that is not in the set."})
    if any(len(text) > OTHER_IDENTIFIERS_MAX for text in other_identifiers.values()):
        raise ValidationError({"other_identifiers": f"At most {OTHER_IDENTIFIERS_MAX} characters per case."})
    rows = {c.pk: c for c in teaching_fields.case_rows(Case.objects.filter(pk__in=[c.pk for c in cases]))}
    available = {f.key: (case_pk, f) for case_pk, row in rows.items() for f in teaching_fields.fields_of(row)}
    unknown = [key for key in include if key not in available]
    if unknown:
        raise ValidationError({"include": f"No such field in these cases: {', '.join(map(str, unknown[:5]))}."})
    with transaction.atomic():
        teaching_set = TeachingSet.objects.create(board_id=board_id, meeting=meeting, prepared_by=by)
        codes: set[str] = set()
        for position, case in enumerate(cases, start=1):
            code = teaching_code(codes)
            codes.add(code)
            teaching_case = TeachingCase.objects.create(
                teaching_set=teaching_set,
                case_id=case.pk,
                code=code,
                position=position,
                other_identifiers=other_identifiers.get(case.pk, ""),
            )
            known = teaching_fields.known_about(rows[case.pk], teaching_case.other_identifiers)
            for field in teaching_fields.fields_of(rows[case.pk]):
                if (field.default or field.key in include) and field.original.strip():
                    TeachingText.objects.create(
                        teaching_case=teaching_case, key=field.key, text=scrub(field.original, known)
                    )
        audit_record(
            actor=by,
            action="teaching_set.create",
            obj=teaching_set,
            changes={
                "cases": [case.pk for case in cases],
                "meeting": meeting.pk if meeting else None,
                "include": sorted(include),
            },
        )
    return teaching_set


# Changing a draft ---------------------------------------------------------------------------


def _locked_draft(teaching_set: TeachingSet, by: User, expected_version: int | None) -> TeachingSet:
    """Re-read under the lock: the approval may have happened since the caller read the set."""
    permissions.require(by, "teaching.prepare", teaching_set.board_id)
    locked = lock(teaching_set)
    if locked.status != TeachingStatus.DRAFT:
        raise Conflict("An approved teaching set cannot be changed; prepare a new one.", code="teaching_set_approved")
    if locked.prepared_by_id != by.pk:
        raise PermissionDenied(ONLY_THE_PREPARER)
    check_version(locked, expected_version, "teaching set")
    return locked


def _bump(teaching_set: TeachingSet) -> None:
    teaching_set.version += 1
    teaching_set.save(update_fields=["version", "updated_at"])


def _field(teaching_set: TeachingSet, key: str) -> tuple[TeachingCase, teaching_fields.Field, Case]:
    cases = list(teaching_set.cases.all())
    rows = teaching_fields.case_rows(Case.objects.filter(pk__in=[c.case_id for c in cases]))
    by_case = {c.case_id: c for c in cases}
    for row in rows:
        for field in teaching_fields.fields_of(row):
            if field.key == key:
                return by_case[row.pk], field, row
    raise ValidationError({"field": "No such field in the cases of this teaching set."})


def teaching_text_include(
    *, teaching_set: TeachingSet, by: User, key: str, expected_version: int | None = None
) -> TeachingSet:
    """Include a field; its text starts as the scrubber's suggestion for the preparer to read and edit."""
    with transaction.atomic():
        teaching_set = _locked_draft(teaching_set, by, expected_version)
        teaching_case, field, row = _field(teaching_set, key)
        known = teaching_fields.known_about(row, teaching_case.other_identifiers)
        text, created = TeachingText.objects.get_or_create(
            teaching_case=teaching_case, key=key, defaults={"text": scrub(field.original, known)}
        )
        if created:
            _bump(teaching_set)
            audit_record(actor=by, action="teaching_set.text_include", obj=teaching_set, case_id=row.pk,
                         changes={"field": key, "sha256": digest(text.text)})  # fmt: skip
    return teaching_set


def teaching_text_edit(
    *, teaching_set: TeachingSet, by: User, key: str, text: str, expected_version: int | None = None
) -> TeachingSet:
    """The preparer's own wording of a field: stored as typed, and printed exactly so once approved."""
    if len(text) > 20000:
        raise ValidationError({"text": "At most 20000 characters."})
    with transaction.atomic():
        teaching_set = _locked_draft(teaching_set, by, expected_version)
        teaching_case, _field_, row = _field(teaching_set, key)
        row_text, _ = TeachingText.objects.update_or_create(
            teaching_case=teaching_case, key=key, defaults={"text": text, "edited": True}
        )
        _bump(teaching_set)
        audit_record(actor=by, action="teaching_set.text_edit", obj=teaching_set, case_id=row.pk,
                     changes={"field": key, "sha256": digest(row_text.text)})  # fmt: skip
    return teaching_set


def teaching_text_exclude(
    *, teaching_set: TeachingSet, by: User, key: str, expected_version: int | None = None
) -> TeachingSet:
    with transaction.atomic():
        teaching_set = _locked_draft(teaching_set, by, expected_version)
        teaching_case, _field_, row = _field(teaching_set, key)
        deleted, _ = TeachingText.objects.filter(teaching_case=teaching_case, key=key).delete()
        if deleted:
            _bump(teaching_set)
            audit_record(actor=by, action="teaching_set.text_exclude", obj=teaching_set, case_id=row.pk,
                         changes={"field": key})  # fmt: skip
    return teaching_set


def _key_image(teaching_set: TeachingSet, key_image: KeyImage) -> TeachingCase:
    by_case = {c.case_id: c for c in teaching_set.cases.all()}
    teaching_case = by_case.get(key_image.study.case_id)
    if teaching_case is None:
        raise ValidationError({"key_image": "The image belongs to a case that is not in this teaching set."})
    return teaching_case


def teaching_image_include(
    *,
    teaching_set: TeachingSet,
    by: User,
    key_image: KeyImage,
    no_burned_in_identifiers: bool,
    expected_version: int | None = None,
) -> TeachingSet:
    if no_burned_in_identifiers is not True:
        raise ValidationError(
            {"no_burned_in_identifiers": "Look at the image and confirm it shows no name, number or date."}
        )
    with transaction.atomic():
        teaching_set = _locked_draft(teaching_set, by, expected_version)
        teaching_case = _key_image(teaching_set, key_image)
        _, created = TeachingImage.objects.get_or_create(
            teaching_case=teaching_case, key_image=key_image, defaults={"no_burned_in_identifiers": True}
        )
        if created:
            _bump(teaching_set)
            changes = {"key_image": key_image.pk, "confirmed": True}
            audit_record(actor=by, action="teaching_set.image_include", obj=teaching_set,
                         case_id=teaching_case.case_id, changes=changes)  # fmt: skip
    return teaching_set


def teaching_image_exclude(
    *, teaching_set: TeachingSet, by: User, key_image: KeyImage, expected_version: int | None = None
) -> TeachingSet:
    with transaction.atomic():
        teaching_set = _locked_draft(teaching_set, by, expected_version)
        teaching_case = _key_image(teaching_set, key_image)
        deleted, _ = TeachingImage.objects.filter(teaching_case=teaching_case, key_image=key_image).delete()
        if deleted:
            _bump(teaching_set)
            audit_record(actor=by, action="teaching_set.image_exclude", obj=teaching_set,
                         case_id=teaching_case.case_id, changes={"key_image": key_image.pk})  # fmt: skip
    return teaching_set


# Approval -----------------------------------------------------------------------------------


def _approval_gates(teaching_set: TeachingSet) -> list[Gate]:
    """The safety net: the scrubber must find nothing in any text the reviewer is about to approve."""
    cases = list(teaching_set.cases.prefetch_related("texts"))
    rows = {r.pk: r for r in teaching_fields.case_rows(Case.objects.filter(pk__in=[c.case_id for c in cases]))}
    gates: list[Gate] = []
    for teaching_case in cases:
        known = teaching_fields.known_about(rows[teaching_case.case_id], teaching_case.other_identifiers)
        labels = {f.key: f.label for f in teaching_fields.fields_of(rows[teaching_case.case_id])}
        for text in teaching_case.texts.all():
            found = findings(text.text, known)
            if found:
                kinds = ", ".join(sorted({f.label for f in found}))
                label = labels.get(text.key, text.key)
                gates.append(Gate("identifier_in_text", f"{teaching_case.code}, {label}: still holds {kinds}."))
    return gates


def teaching_set_approve(*, teaching_set: TeachingSet, by: User, expected_version: int | None) -> TeachingSet:
    """A reviewer approves the version they read; the preparer never approves their own set."""
    permissions.require_teaching_reviewer(by, teaching_set.board_id)
    if expected_version is None:
        raise ValidationError({"version": "Give the version of the set you reviewed."})
    with transaction.atomic():
        teaching_set = lock(teaching_set)
        if teaching_set.prepared_by_id == by.pk:
            raise PermissionDenied("You prepared this teaching set: another reviewer must approve it.")
        if teaching_set.status != TeachingStatus.DRAFT:
            raise Conflict("This teaching set is already approved.", code="already_approved")
        check_version(teaching_set, expected_version, "teaching set")
        gates = _approval_gates(teaching_set)
        if gates:
            raise GatesUnmet("The teaching set cannot be approved yet.", gates)
        teaching_set.status = TeachingStatus.APPROVED
        teaching_set.approved_by, teaching_set.approved_at = by, timezone.now()
        teaching_set.version += 1
        teaching_set.save(update_fields=["status", "approved_by", "approved_at", "version", "updated_at"])
        texts = TeachingText.objects.filter(teaching_case__teaching_set=teaching_set).order_by("key")
        images = TeachingImage.objects.filter(teaching_case__teaching_set=teaching_set).order_by("key_image_id")
        audit_record(
            actor=by,
            action="teaching_set.approve",
            obj=teaching_set,
            changes={
                "version": expected_version,
                "texts": {t.key: digest(t.text) for t in texts},
                "images": [i.key_image_id for i in images],
            },
        )
    return teaching_set


def teaching_set_print_record(*, teaching_set: TeachingSet, by: User, options: Mapping[str, Any]) -> AuditEvent:
    return audit_record(actor=by, action="teaching_set.print", obj=teaching_set, changes=options)


def teaching_set_view_record(*, teaching_set: TeachingSet, by: User) -> AuditEvent:
    """The preview shows the originals beside the scrubbed text: a read of patient data."""
    return audit_record(
        actor=by,
        action="teaching_set.view",
        obj=teaching_set,
        changes={"cases": [c.case_id for c in teaching_set.cases.all()]},
    )
