"""Referral intake: a parsed referral Bundle (cases/interop/intake.py) becomes a patient (matched by
MRN, or registered) and a case in intake on the board, with its coded diagnoses. All or nothing;
a resend of the same Bundle.identifier returns the case it made."""

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.http import Http404

from .. import permissions
from ..models import Board, Case, Patient, ReferralIntake
from ..types import User
from . import cases as case_services
from . import coding
from .audit import audit_record


@dataclass(frozen=True)
class Issue:
    code: str  # an IssueType: invalid, required, value, code-invalid, not-found, conflict, forbidden, too-costly
    diagnostics: str
    expression: str = ""

    def as_dict(self) -> dict[str, str | list[str]]:
        issue: dict[str, str | list[str]] = {"severity": "error", "code": self.code, "diagnostics": self.diagnostics}
        if self.expression:
            issue["expression"] = [self.expression]
        return issue


class IntakeRefused(Exception):
    """The Bundle cannot be taken; `issues` names every problem. `status` is the HTTP status to answer."""

    def __init__(self, issues: list[Issue], status: int = 400):
        super().__init__("; ".join(issue.diagnostics for issue in issues))
        self.issues, self.status = issues, status


def operation_outcome(issues: list[Issue]) -> dict[str, Any]:
    return {"resourceType": "OperationOutcome", "issue": [issue.as_dict() for issue in issues]}


@dataclass
class Diagnosis:
    icd10_code: str = ""
    topography: str = ""
    morphology: str = ""
    laterality: str = ""
    text: str = ""
    diagnosed_on: date | None = None


@dataclass
class Referral:
    identifier_system: str
    identifier_value: str
    mrn: str
    given_name: str
    family_name: str
    birth_date: date
    sex: str
    board_name: str
    referring_clinician: str
    clinical_question: str
    reason: str
    priority: str
    primary: Diagnosis | None = None
    comorbidities: list[Diagnosis] = field(default_factory=list)
    reports: list[str] = field(default_factory=list)

    @property
    def history(self) -> str:
        lines = [f"Reason for referral: {self.reason}"] if self.reason else []
        lines += [f"Report from the referring site: {report}" for report in self.reports]
        return "\n".join(lines)


def _board(*, user: User, referral: Referral, board_id: int | None) -> Board:
    """The board the query names, else the one ServiceRequest.performer[0].display names."""
    visible = permissions.boards_visible_to(user)
    if board_id is not None:
        board = visible.filter(pk=board_id).first()
        where = "?board"
    else:
        board = visible.filter(name=referral.board_name).first() if referral.board_name else None
        where = "ServiceRequest.performer[0].display"
    if board is None:
        named = f"board {board_id}" if board_id is not None else f"board {referral.board_name!r}"
        raise IntakeRefused([Issue("not-found", f"No {named} that you are a member of.", where)], status=422)
    return board


def _patient(*, referral: Referral, board: Board, by: User) -> tuple[Patient, bool]:
    patient = Patient.objects.filter(mrn=referral.mrn).first()
    if patient is None:
        fields = {name: getattr(referral, name) for name in ("mrn", "given_name", "family_name", "birth_date", "sex")}
        return case_services.patient_create(board=board, by=by, **fields), True
    same = (patient.birth_date, patient.family_name.casefold()) == (
        referral.birth_date,
        referral.family_name.casefold(),
    )
    if not same:
        # Never says which detail differs: the patient may be on a board the sender cannot see.
        raise IntakeRefused(
            [Issue("conflict", "This MRN belongs to a registered patient whose details differ.", "Patient")], status=409
        )
    return patient, False


def _diagnoses(*, case: Case, referral: Referral, by: User) -> None:
    if referral.primary is not None:
        fields = {k: v for k, v in vars(referral.primary).items() if v not in ("", None)}
        coding.diagnosis_set_primary(case=case, by=by, **fields)
    for comorbidity in referral.comorbidities:
        coding.comorbidity_add(
            case=case,
            by=by,
            icd10_code=comorbidity.icd10_code,
            text=comorbidity.text,
            diagnosed_on=comorbidity.diagnosed_on,
        )


def _resent(referral: Referral, digest: str, by: User) -> Case | None:
    intake = (
        ReferralIntake.objects.filter(bundle_system=referral.identifier_system, bundle_value=referral.identifier_value)
        .select_related("case")
        .first()
    )
    if intake is None:
        return None
    if intake.digest != digest:
        raise IntakeRefused(
            [Issue("conflict", "A different Bundle with this identifier was already taken in.", "Bundle.identifier")],
            status=409,
        )
    permissions.require(by, "case.create", intake.case.board_id)
    return intake.case


def referral_intake(*, referral: Referral, digest: str, by: User, board_id: int | None = None) -> tuple[Case, bool]:
    """(case, created). A refusal (IntakeRefused, PermissionDenied) leaves nothing behind."""
    existing = _resent(referral, digest, by)
    if existing is not None:
        return existing, False
    board = _board(user=by, referral=referral, board_id=board_id)
    try:
        permissions.require(by, "case.create", board.pk)
    except Http404:
        raise IntakeRefused([Issue("not-found", "No such board.", "ServiceRequest.performer")], status=422) from None
    try:
        with transaction.atomic():
            patient, _ = _patient(referral=referral, board=board, by=by)
            case = case_services.case_create(
                patient=patient,
                board=board,
                by=by,
                referring_clinician=referral.referring_clinician,
                clinical_question=referral.clinical_question,
                history=referral.history,
                priority=referral.priority,
            )
            _diagnoses(case=case, referral=referral, by=by)
            ReferralIntake.objects.create(
                bundle_system=referral.identifier_system[:200],
                bundle_value=referral.identifier_value[:200],
                digest=digest,
                case=case,
                received_by=by,
            )
            audit_record(
                actor=by,
                action="referral.intake",
                obj=case,
                changes={"bundle": f"{referral.identifier_system}|{referral.identifier_value}", "mrn": referral.mrn},
            )
    except IntegrityError:
        # Two resends at once: the other one won the identifier; answer with its case.
        existing = _resent(referral, digest, by)
        if existing is None:
            raise
        return existing, False
    except ValidationError as error:
        raise IntakeRefused([Issue("invalid", text) for text in error.messages], status=422) from None
    except PermissionDenied as error:
        raise IntakeRefused([Issue("forbidden", str(error))], status=403) from None
    return case, True
