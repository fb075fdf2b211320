"""Bad input changes nothing (issue 6): a corpus of hostile input against every portal form and every
API operation.

Every POST view of cases/web/urls.py and every operation of the OpenAPI schema is parametrized from
the code itself: a new view or operation without an entry below fails, naming itself. Each payload
of tests/hostile_corpus.py goes, as the role allowed to use the form, into every field of its kind
at once. An invalid payload must get a 4xx with a message and leave every row of the application
exactly as it was. Valid text (SQL, HTML, script…) may be stored: then exactly as sent, and the
case page, the API and the case summary PDF show it as inert text.

Each request runs in a savepoint that is rolled back, so every payload meets the same world.
"""

import html.parser
import json
import logging
import re
import subprocess
import traceback
import unicodedata
import urllib.parse
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pyotp
import pytest
from django.apps import apps
from django.conf import settings
from django.contrib.sessions.models import Session
from django.core.signals import got_request_exception
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, reverse
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from cases import models as m
from cases.identity.session import PENDING_SECRET_SESSION_KEY
from cases.services import teaching as teaching_services
from cases.web import urls as web_urls
from tests import factories as f
from tests import hostile_corpus as hc

PASSWORD = "correct-horse-battery"
TALLY: Counter = Counter()  # requests sent, by surface, for the corpus size printed at the end


@pytest.fixture(scope="module", autouse=True)
def corpus_size():
    """Print (pytest -s) how many hostile requests this file sent, by surface."""
    TALLY.clear()
    axes = logging.getLogger("axes")
    level, axes.level = axes.level, logging.ERROR  # a thousand failed sign-ins and forced logins, one line each
    yield
    axes.setLevel(level)
    payloads = len(hc.PAYLOADS) + len(hc.uploads()) + len(hc.BAD_VERSIONS) + len(hc.BAD_IF_MATCH)
    endpoints = len(WEB_FORMS) + len(WEB_QUERIES) + len(OPERATIONS)
    print(
        f"\nhostile corpus: {payloads} payloads (+ whole-request variants) over {endpoints} endpoints "
        f"({len(WEB_FORMS)} portal forms, {len(WEB_QUERIES)} portal query strings, {len(OPERATIONS)} API operations): "
        f"{TALLY['web']} portal and {TALLY['api']} API requests judged, {TALLY['display']} payloads rendered "
        "on the case page, the API and the PDF"
    )


# The world every payload meets --------------------------------------------------------------


@dataclass
class World:
    board: m.Board
    users: dict
    patient: m.Patient
    intake: m.Case  # complete referral, no input yet: moves, referral edits, first input, agenda candidate
    imaging: m.Case
    study: m.ImagingStudy
    pathology: m.Case
    final_report: m.PathologyReport
    prelim_report: m.PathologyReport
    opinion: m.Opinion  # the radiologist's, on `pathology`, given on pathology amended since (stale)
    consensus: m.Case
    meeting: m.Meeting  # quorate, in progress, agenda not published
    items: list  # its agenda items
    draft: m.Decision  # on `consensus`, at `meeting`
    signed_case: m.Case
    signed: m.Decision  # signed at `held`
    held: m.Meeting  # held yesterday: its attendance is frozen (corrections only)
    follow_up: m.FollowUp  # planned, owned by the chair
    template: m.FollowUpTemplate
    teaching: m.TeachingSet | None = None  # a draft prepared by the radiologist, of `imaging`
    key_image: m.KeyImage | None = None  # on `imaging`'s study

    def user(self, role):
        return self.users[role]


def identity_personas() -> dict:
    """Who the identity forms need: a clinician of another board (break-the-glass), an account with an
    enrolled authenticator (the second-factor page), and one enrolling."""
    emergency = f.MembershipFactory(
        user=f.UserFactory(username="emergency"), board=f.BoardFactory(name="Emergency board"), specialty="radiology"
    ).user
    enrolled = f.UserFactory(username="enrolled")
    m.AccountSecurity.objects.create(
        user=enrolled, totp_secret=pyotp.random_base32(32), totp_confirmed_at=timezone.now(), totp_last_step=0
    )
    return {"emergency": emergency, "enrolled": enrolled, "newcomer": f.UserFactory(username="newcomer")}


def totp_now(w) -> str:
    return pyotp.TOTP(m.AccountSecurity.objects.get(user=w.user("enrolled")).totp_secret).now()


def pending_totp_now(w) -> str:
    """The code for the key the enrolment page showed the newcomer (kept in their session)."""
    for session in Session.objects.all():
        data = session.get_decoded()
        if data.get("_auth_user_id") == str(w.user("newcomer").pk) and PENDING_SECRET_SESSION_KEY in data:
            return pyotp.TOTP(data[PENDING_SECRET_SESSION_KEY]).now()
    raise AssertionError("the enrolment page kept no key")


def break_glass_access(w) -> m.BreakGlassAccess:
    now = timezone.now()
    return m.BreakGlassAccess.objects.get_or_create(
        user=w.user("emergency"),
        patient=w.patient,
        defaults={"reason": "Emergency department.", "granted_at": now, "expires_at": now + timedelta(hours=1)},
    )[0]


@pytest.fixture
def world(board, coordinator, chair, specialists, make_case, quorate_meeting) -> World:
    users = {"coordinator": coordinator, "chair": chair, **{u.username: u for u in specialists.values()}}
    users |= identity_personas()
    intake = f.CaseFactory(board=board, created_by=coordinator)
    imaging = make_case("imaging")
    pathology = make_case("pathology")
    prelim = f.PathologyReportFactory(case=pathology, status="preliminary", signed_out_at=None, pathologist=chair)
    consensus = make_case("consensus")
    signed_case = make_case("consensus")
    now = timezone.now()
    held = f.MeetingFactory(board=board, starts_at=now - timedelta(days=1), status="held")
    for user in specialists.values():
        f.AttendanceFactory(meeting=held, user=user, specialty=m.BoardMembership.objects.get(user=user).specialty)
    signed = f.DecisionFactory(
        case=signed_case, meeting=held, recorded_by=chair, status="signed", signed_by=chair, signed_at=now
    )
    m.Opinion.objects.filter(case=pathology, author=users["radiologist"]).update(stale_since=now)
    items = [
        m.AgendaItem.objects.create(meeting=quorate_meeting, case=case, position=n)
        for n, case in enumerate([consensus, pathology], start=1)
    ]
    m.BoardMembership.objects.filter(user=chair, board=board).update(reviews_teaching=True)
    study = imaging.imaging_studies.get()
    key_image = m.KeyImage.objects.create(study=study, image=f.png_upload(), caption="Axial")
    teaching = teaching_services.teaching_set_create(by=users["radiologist"], cases=[imaging])
    return World(
        teaching=teaching,
        key_image=key_image,
        board=board,
        users=users,
        patient=intake.patient,
        intake=intake,
        imaging=imaging,
        study=imaging.imaging_studies.get(),
        pathology=pathology,
        final_report=pathology.pathology_reports.get(status="final"),
        prelim_report=prelim,
        opinion=pathology.opinions.get(author=users["radiologist"]),
        consensus=consensus,
        meeting=quorate_meeting,
        items=items,
        draft=f.DecisionFactory(case=consensus, meeting=quorate_meeting, recorded_by=chair),
        signed_case=signed_case,
        signed=signed,
        held=held,
        follow_up=m.FollowUp.objects.create(
            case=signed_case,
            decision=signed,
            kind="action",
            category="surveillance",
            description="Review at clinic",
            owner=chair,
            due_on=timezone.localdate() + timedelta(days=28),
        ),
        template=m.FollowUpTemplate.objects.first(),
    )


# What "changed nothing" means ---------------------------------------------------------------

# Every table of the application, users' credentials and API tokens. Audit rows of sign-in (auth.*),
# of refused probes (access.*) and of reads (*.view) record that a request came, not a change; the
# chain head moves with them.
SNAPSHOT_MODELS = [
    *apps.get_app_config("cases").get_models(include_auto_created=True),
    *apps.get_app_config("knox").get_models(),
]


def columns(model) -> list[str]:
    if model._meta.app_label == "auth":
        return ["username", "password", "is_active"]
    return [f.attname for f in model._meta.concrete_fields]


def snapshot() -> dict:
    """{model: {pk: row}} of every table above."""
    state = {}
    for model in [*SNAPSHOT_MODELS, apps.get_model("auth", "User")]:
        if model is m.AuditDatabase:
            continue
        rows = model._base_manager.order_by("pk")
        if model is m.AuditEvent:
            rows = rows.exclude(action__startswith="auth.").exclude(action__startswith="access.")
            rows = rows.exclude(action__endswith=".view").exclude(action__endswith=".list")  # reads
        state[model] = {row[0]: row[1:] for row in rows.values_list("pk", *columns(model))}
    return state


def changed_rows(before: dict, after: dict) -> list[tuple]:
    """(model, row as a dict) of every row that is new or different."""
    return [
        (model, dict(zip(columns(model), row, strict=True)))
        for model, rows in after.items()
        for pk, row in rows.items()
        if before[model].get(pk) != row
    ]


def describe_change(before: dict, after: dict) -> str:
    parts = []
    for model in after:
        added = len(after[model].keys() - before[model].keys())
        removed = len(before[model].keys() - after[model].keys())
        changed = sum(1 for pk in after[model].keys() & before[model].keys() if after[model][pk] != before[model][pk])
        if added or removed or changed:
            parts.append(f"{model.__name__}: +{added} -{removed} ~{changed}")
    return ", ".join(parts)


class _RolledBack(Exception):
    pass


@contextmanager
def rolled_back():
    try:
        with transaction.atomic():
            yield
            raise _RolledBack
    except _RolledBack:
        pass


@pytest.fixture
def server_errors():
    """Tracebacks of exceptions the views raised (the clients answer them as 500 instead of raising)."""
    caught = []

    def receive(sender, request=None, **kwargs):
        caught.append(traceback.format_exc(limit=-6))

    got_request_exception.connect(receive)
    yield caught
    got_request_exception.disconnect(receive)


# Judging one answer -------------------------------------------------------------------------


@dataclass
class Verdicts:
    surface: str
    endpoint: str
    problems: list = field(default_factory=list)
    sent: int = 0
    accepted_text: int = 0

    def problem(self, payload: str, text: str) -> None:
        self.problems.append(f"{self.surface} {self.endpoint} ← {payload}: {text}")

    def assert_none(self) -> None:
        TALLY[self.surface] += self.sent
        print(f"\n{self.surface} {self.endpoint}: {self.sent} hostile requests, {self.accepted_text} text stored")
        assert not self.problems, "\n".join(self.problems)


def api_message(response) -> str:
    """The message of an API refusal: `detail`, or the field errors (DRF's shape)."""
    try:
        body = json.loads(response.content)
    except ValueError:
        return ""
    if not isinstance(body, dict):
        return ""
    if isinstance(body.get("detail"), str) and body["detail"].strip():
        return body["detail"]
    messages = [str(v) for value in body.values() for v in (value if isinstance(value, list) else [value])]
    return "; ".join(messages)


def web_message(response) -> str:
    """A portal refusal shows the form again with its errors, or a friendly error page."""
    page = response.content.decode("utf-8", "replace")
    if page.strip() and "<" not in page:
        return page  # a bare sentence (the PDF downloads' refusal of a flag)
    for marker in ('class="form-errors"', 'class="card narrow error-page"', 'class="errorlist'):
        if marker in page:
            return marker
    return ""


def stored_exactly(value: str, field_name: str, rows: list[tuple]) -> bool:
    """Some changed row holds `value` exactly in the column the field writes (aliases below)."""
    columns = ["plan"] if field_name.startswith("detail_") else COLUMN_ALIASES.get(field_name, [field_name])
    for _model, row in rows:
        for column in columns:
            stored = row.get(column)
            if stored == value:
                return True
            if column == "plan" and isinstance(stored, list) and any(i.get("detail") == value for i in stored):
                return True
    return False


COLUMN_ALIASES = {
    "reason": [
        "deviation_reason",
        "supersede_reason",
        "deferral_reason",
        "note",
        "reason",
        "cancel_reason",
        "correction_reason",
        "withdrawal_reason",
    ],  # note: on the timeline
    "caption_1": ["caption"],
    "caption": ["caption"],
    "comment": ["review_comment"],  # acknowledging an emergency access
}


def judge(verdicts, label, response, errors, before, *, expect, message, poisoned=None):
    """Whether one answer kept the promise, by `expect`:

    - "refused": a 4xx with a message, and every row as it was;
    - "stored": accepted, each poisoned field stored exactly as sent (valid text where text belongs);
    - "either": stored exactly, or refused like an invalid payload (text in a sign-in, a search);
    - "redirect": accepted, and any redirect stays on this site (`next`).
    """
    verdicts.sent += 1
    status = response.status_code
    if status >= 500:
        where = errors[-1].strip().splitlines()[-3:] if errors else []
        verdicts.problem(label, f"{status}: " + " | ".join(line.strip() for line in where))
        return None
    after = snapshot()
    if expect == "redirect":
        location = response.get("Location", "")
        if status in (301, 302, 303) and not (location.startswith("/") and not location.startswith(("//", "/\\"))):
            verdicts.problem(label, f"redirected off the site to {location!r}")
        return after
    if expect in ("stored", "either") and 200 <= status < 400:
        rows = changed_rows(before, after)
        lost = [name for name, value in (poisoned or {}).items() if not stored_exactly(value, name, rows)]
        if lost:
            verdicts.problem(label, f"accepted ({status}) but did not store exactly: {lost}")
        verdicts.accepted_text += 1
        return after
    if expect == "stored":
        verdicts.problem(label, f"valid text was refused ({status}): {message(response)[:200]}")
    elif not 400 <= status < 500:
        verdicts.problem(label, f"expected a 4xx refusal, got {status} ({describe_change(before, after)})")
    elif not message(response):
        verdicts.problem(label, f"{status} without a message: {response.content[:200]!r}")
    if after != before:
        verdicts.problem(label, f"{status} but changed {describe_change(before, after)}")
    return after


def text_expectation(payload: hc.Payload, stores_text: bool) -> str:
    if not payload.text:
        return "redirect" if payload.kinds == {hc.REDIRECT} else "refused"
    return "stored" if stores_text else "either"


# The portal -----------------------------------------------------------------------------------


@dataclass
class WebForm:
    role: str | None  # None: anonymous
    args: object  # world -> URL arguments
    data: object  # world -> valid form data (values are strings or lists of strings)
    kinds: dict  # field -> kind
    multipart: bool = False
    stores_text: bool = True  # a valid text payload must be accepted and stored
    derive: object = None  # data -> data: fields that follow another (a password's confirmation)
    stored: object = None  # value -> bool, for text that is not stored in clear (a password)


T, C, N, D, DT, V = hc.TEXT, hc.CHOICE, hc.INT, hc.DATE, hc.DATETIME, "version"
REFERRAL = {
    "referring_clinician": T,
    "referring_email": hc.EMAIL,
    "clinical_question": T,
    "history": T,
    "key_labs": T,
    "performance_status": C,
    "priority": C,
}
REFERRAL_DATA = {
    "referring_clinician": "Dr. Ines Varga",
    "referring_email": "varga@hospital.invalid",
    "clinical_question": "Relapse?",
    "history": "Treated osteosarcoma.",
    "key_labs": "Calcium 2.9",
    "performance_status": "1",
    "priority": "routine",
}
DECISION = {
    "meeting": C,
    "consensus_diagnosis": T,
    "plan": hc.MULTI,
    "rationale": T,
    "dissent": T,
    "participants": hc.MULTI,
    "detail_surveillance": T,
    "guideline_concordance": C,
    "concordance_reason": T,
    "trial": C,
    "treatment_intent": C,
}


def decision_data(w: World) -> dict:
    return {
        "meeting": str(w.meeting.pk),
        "consensus_diagnosis": "Tumoral calcinosis.",
        "plan": ["surveillance"],
        "detail_surveillance": "Every 3 months.",
        "rationale": "Revised pathology.",
        "dissent": "",
        "participants": [str(w.user("chair").pk)],
        "guideline_concordance": "no",
        "concordance_reason": "Renal failure.",
        "trial": "eligible",
        "treatment_intent": "curative",
        "next": "",
    }


TODAY = timezone.localdate().isoformat()

WEB_FORMS: dict[str, WebForm] = {
    "login": WebForm(
        None,
        lambda w: [],
        lambda w: {"username": "coordinator", "password": "wrong-password"},
        {"username": T, "password": T},
        stores_text=False,
    ),
    # The case list's search goes by POST (kept in the session, never in a URL).
    # A search is kept in the session, not in a table: what it finds is tested in tests/test_access_log.py.
    "case-list": WebForm(
        "coordinator", lambda w: [], lambda w: {"q": "Mara"}, {"q": T}, stores_text=False, stored=lambda value: True
    ),
    "sign-out-everywhere": WebForm("coordinator", lambda w: [], lambda w: {}, {}, stores_text=False),
    "password_change": WebForm(
        "coordinator",
        lambda w: [],
        lambda w: {"old_password": PASSWORD, "new_password1": "a-new-long-passphrase", "new_password2": ""},
        {"new_password1": T},
        stores_text=False,  # the password validators may refuse it (too short, too common)
        derive=lambda data: data | {"new_password2": data["new_password1"]},
        stored=lambda value: apps.get_model("auth", "User").objects.get(username="coordinator").check_password(value),
    ),
    "patient-new": WebForm(
        "coordinator",
        lambda w: [],
        lambda w: {
            "board": str(w.board.pk),
            "mrn": "HOSTILE-0001",
            "given_name": "Mara",
            "family_name": "Lind",
            "birth_date": "1990-04-02",
            "sex": "female",
            "comorbidities": "Renal failure.",
        },
        {"board": C, "mrn": T, "given_name": T, "family_name": T, "birth_date": D, "sex": C, "comorbidities": T},
    ),
    "case-new": WebForm(
        "coordinator",
        lambda w: [w.patient.pk],
        # The world's patient has an open case on the board: a second one is registered only when confirmed.
        lambda w: {"board": str(w.board.pk), "confirm_second_case": "on", **REFERRAL_DATA},
        {"board": C, **REFERRAL},
    ),
    "referral-edit": WebForm(
        "coordinator",
        lambda w: [w.intake.pk],
        lambda w: {**REFERRAL_DATA, "no_pathology_reason": "", "version": str(w.intake.version)},
        {**REFERRAL, "no_pathology_reason": T, "version": V},
    ),
    "case-move": WebForm(
        "coordinator",
        lambda w: [w.intake.pk, "imaging"],
        lambda w: {"note": "Referral complete.", "version": str(w.intake.version)},
        {"note": T, "version": V},
    ),
    "case-move-back": WebForm(
        "coordinator",
        lambda w: [w.pathology.pk],
        lambda w: {"to": "imaging", "note": "More imaging.", "version": str(w.pathology.version)},
        {"to": C, "note": T, "version": V},
    ),
    "imaging-new": WebForm(
        "radiologist",
        lambda w: [w.imaging.pk],
        lambda w: {
            "modality": "CT",
            "body_site": "Left knee",
            "performed_on": TODAY,
            "accession_number": "ACC-1",
            "findings": "Calcification.",
            "impression": "Benign.",
            "caption_1": "Axial",
        },
        {
            "modality": C,
            "body_site": T,
            "performed_on": D,
            "accession_number": T,
            "findings": T,
            "impression": T,
            "caption_1": T,
            "image_1": hc.FILE,
        },
        multipart=True,
    ),
    "pathology-new": WebForm(
        "pathologist",
        lambda w: [w.pathology.pk],
        lambda w: {
            "specimen": "Core",
            "procedure": "Biopsy",
            "collected_on": TODAY,
            "diagnosis": "Callus.",
            "icdo3_code": "",
            "status": "final",
        },
        # An ICD-O-3 code has a format (9180/3, C40.2): text that is not one is refused, like a bad choice.
        {"specimen": T, "procedure": T, "collected_on": D, "diagnosis": T, "icdo3_code": C, "status": C},
    ),
    "pathology-amend": WebForm(
        "pathologist",
        lambda w: [w.final_report.pk],
        lambda w: {
            "diagnosis": "Tumoral calcinosis.",
            "icdo3_code": "",
            "amendment_reason": "Review.",
            "discrepancy": "major",
            "version": str(w.final_report.version),
        },
        {"diagnosis": T, "icdo3_code": C, "amendment_reason": T, "discrepancy": C, "version": V},
    ),
    "coding-primary": WebForm(
        "coordinator",
        lambda w: [w.intake.pk],
        lambda w: {
            "icd10_code": "C40.22",
            "topography": "C40.2",
            "morphology": "9180/3",
            "laterality": "left",
            "text": "Osteosarcoma",
            "diagnosed_on": TODAY,
            "version": "",
        },
        {"icd10_code": T, "topography": T, "morphology": T, "laterality": C, "text": T, "diagnosed_on": D},
        stores_text=False,  # a code field refuses text that is not a code
    ),
    "coding-comorbidity": WebForm(
        "coordinator",
        lambda w: [w.intake.pk],
        lambda w: {"icd10_code": "N18.6", "text": "Dialysis", "diagnosed_on": TODAY},
        {"icd10_code": T, "text": T, "diagnosed_on": D},
        stores_text=False,
    ),
    "coding-staging": WebForm(
        "coordinator",
        lambda w: [w.intake.pk],
        lambda w: (
            {"kind": "clinical", "t": "T1", "n": "N0", "m": "M0", "stage_group": "IA", "edition": "ajcc-8"}
            | {"staged_on": TODAY, "note": "At diagnosis."}
        ),
        {"kind": C, "t": T, "n": T, "m": T, "stage_group": T, "edition": C, "staged_on": D, "note": T},
        stores_text=False,  # T, N, M and the stage group follow the TNM grammar
    ),
    "pathology-sign-out": WebForm(
        "pathologist",
        lambda w: [w.prelim_report.pk],
        lambda w: {"version": str(w.prelim_report.version)},
        {"version": V},
    ),
    "opinion-edit": WebForm(
        "orthopaedic",
        lambda w: [w.intake.pk],
        lambda w: {"assessment": "Looks benign.", "recommendation": "Observe."},
        {"assessment": T, "recommendation": T},
    ),
    "decision-edit": WebForm(
        "chair",
        lambda w: [w.consensus.pk],
        lambda w: decision_data(w) | {"version": str(w.draft.version)},
        {**DECISION, "version": V, "next": hc.REDIRECT},
    ),
    "decision-sign": WebForm(
        "chair",
        lambda w: [w.draft.pk],
        lambda w: {"version": str(w.draft.version), "next": "", "confirmed": "yes"},
        {"version": V, "next": hc.REDIRECT, "confirmed": C},
    ),
    "decision-correct": WebForm(
        "chair",
        lambda w: [w.signed.pk],
        lambda w: decision_data(w) | {"supersede_reason": "Typo in the plan."},
        {**DECISION, "supersede_reason": T},
    ),
    "surveillance-apply": WebForm(
        "coordinator",
        lambda w: [w.signed_case.pk],
        lambda w: {"template": str(w.template.pk), "start_on": TODAY, "owner": str(w.user("chair").pk)},
        {"template": C, "start_on": D, "owner": C},
    ),
    "follow-up-done": WebForm(
        "coordinator",
        lambda w: [w.follow_up.pk],
        lambda w: {"version": str(w.follow_up.version), "confirmed": "yes"},
        {"version": V, "confirmed": C},
    ),
    "imaging-amend": WebForm(
        "radiologist",
        lambda w: [w.study.pk],
        lambda w: {
            "modality": "CT",
            "body_site": "Left knee",
            "performed_on": TODAY,
            "accession_number": "ACC-2",
            "findings": "Calcification.",
            "impression": "Benign.",
            "amendment_reason": "Wrong side.",
        },
        {
            "modality": C,
            "body_site": T,
            "performed_on": D,
            "accession_number": T,
            "findings": T,
            "impression": T,
            "amendment_reason": T,
        },
    ),
    "imaging-addendum": WebForm(
        "radiologist", lambda w: [w.study.pk], lambda w: {"text": "Unchanged since 2014."}, {"text": T}
    ),
    "follow-up-change": WebForm(
        "coordinator",
        lambda w: [w.follow_up.pk],
        lambda w: {"owner": str(w.user("radiologist").pk), "due_on": TODAY, "version": str(w.follow_up.version)},
        {"owner": C, "due_on": D, "version": V},
        stores_text=False,
    ),
    "case-withdraw": WebForm(
        "coordinator",
        lambda w: [w.intake.pk],
        lambda w: {"reason": "Duplicate of another case.", "version": str(w.intake.version)},
        {"reason": T, "version": V},
    ),
    "patient-merge": WebForm(
        "coordinator",
        lambda w: [w.patient.pk],
        lambda w: {"keep": w.imaging.patient.mrn},
        {"keep": T},
        stores_text=False,  # an MRN that is not another patient's is refused
    ),
    "follow-up-deviate": WebForm(
        "coordinator",
        lambda w: [w.follow_up.pk],
        lambda w: {
            "deviation_code": "other",
            "deviation_reason": "Patient's choice.",
            "version": str(w.follow_up.version),
        },
        {"deviation_code": C, "deviation_reason": T, "version": V},
    ),
    "meeting-new": WebForm(
        "coordinator",
        lambda w: [],
        lambda w: {"board": str(w.board.pk), "starts_at": "2030-03-04T15:00", "location": "Room 2", "video_link": ""},
        {"board": C, "starts_at": DT, "location": T, "video_link": hc.URL},
    ),
    "agenda-add": WebForm(
        "coordinator",
        lambda w: [w.meeting.pk],
        lambda w: {"case": str(w.intake.pk), "presenter": str(w.user("chair").pk), "minutes": "15"},
        {"case": C, "presenter": C, "minutes": N},
    ),
    "agenda-reorder": WebForm(
        "coordinator",
        lambda w: [w.meeting.pk],
        lambda w: {"order": f"{w.items[1].pk},{w.items[0].pk}"},
        {"order": hc.ORDER},
    ),
    "mfa-verify": WebForm(
        "enrolled",
        lambda w: [],
        lambda w: {"code": totp_now(w), "next": "/"},
        {"code": T, "next": hc.REDIRECT},
        stores_text=False,
    ),
    "mfa-enrol": WebForm(
        "newcomer", lambda w: [], lambda w: {"code": pending_totp_now(w)}, {"code": T}, stores_text=False
    ),
    "break-glass-new": WebForm(
        "emergency",
        lambda w: [],
        lambda w: {"mrn": w.patient.mrn, "reason": "Seen in the emergency department with a fracture."},
        {"mrn": T, "reason": T},
        stores_text=False,  # an MRN is looked up, never stored; the reason is stored exactly
    ),
    "break-glass-acknowledge": WebForm(
        "coordinator", lambda w: [break_glass_access(w).pk], lambda w: {"comment": "Checked."}, {"comment": T}
    ),
    "agenda-publish": WebForm(
        "coordinator", lambda w: [w.meeting.pk], lambda w: {"confirmed": "yes"}, {"confirmed": C}, stores_text=False
    ),
    "meeting-cancel": WebForm(
        "coordinator",
        lambda w: [w.meeting.pk],
        lambda w: {"reason": "Chair unavailable.", "agenda": "release", "confirmed": "yes"},
        {"reason": T, "agenda": C, "confirmed": C},
    ),
    "attendance-correct": WebForm(
        "coordinator",
        lambda w: [w.held.pk],
        lambda w: {"user": str(w.user("radiologist").pk), "present": "no", "reason": "Left early."},
        {"user": C, "present": C, "reason": T},
    ),
    "opinion-confirm": WebForm(
        "radiologist", lambda w: [w.opinion.pk], lambda w: {"version": str(w.opinion.version)}, {"version": V}
    ),
    "attendance-record": WebForm(
        "coordinator",
        lambda w: [w.meeting.pk],
        lambda w: {"present": [str(w.user("radiologist").pk), str(w.user("pathologist").pk)]},
        {"present": hc.MULTI},
    ),
    "meeting-status": WebForm("coordinator", lambda w: [w.meeting.pk], lambda w: {"status": "held"}, {"status": C}),
    "agenda-item-update": WebForm(
        "coordinator",
        lambda w: [w.items[0].pk],
        lambda w: {f"item-{w.items[0].pk}-presenter": str(w.user("chair").pk), f"item-{w.items[0].pk}-minutes": "20"},
        {"item-presenter": C, "item-minutes": N},
    ),
    "agenda-item-remove": WebForm("coordinator", lambda w: [w.items[1].pk], lambda w: {}, {}),
    "inbox-read": WebForm("coordinator", lambda w: [], lambda w: {"all": "1"}, {"notification": N}, stores_text=False),
    "notification-preferences": WebForm(
        "coordinator",
        lambda w: [],
        lambda w: dict.fromkeys(m.NotificationKind.values, "digest"),
        {"agenda": C, "decision_signed": C},
        stores_text=False,
    ),
    "calendar-settings": WebForm(
        "coordinator", lambda w: [], lambda w: {"action": "revoke"}, {"action": C}, stores_text=False
    ),
    "agenda-outcome": WebForm(
        "chair",
        lambda w: [w.items[0].pk],
        lambda w: {"outcome": "deferred", "deferral_reason": "Awaiting imaging.", "actual_minutes": "12"},
        {"outcome": C, "deferral_reason": T, "actual_minutes": N},
    ),
    "teaching-new-case": WebForm(
        "radiologist", lambda w: [w.intake.pk], lambda w: {"other_identifiers": "Tomas Berg"}, {"other_identifiers": T}
    ),
    "teaching-new-meeting": WebForm(
        "radiologist",
        lambda w: [w.meeting.pk],
        lambda w: {"cases": [str(w.items[0].case_id)], "other_identifiers": ""},
        {"cases": hc.MULTI, "other_identifiers": T},
    ),
    "teaching-text": WebForm(
        "radiologist",
        lambda w: [w.teaching.pk],
        lambda w: {
            "field": f"case.{w.imaging.pk}.history",
            "action": "save",
            "text": "Seen on day 0.",
            "version": str(w.teaching.version),
        },
        {"field": C, "action": C, "text": T, "version": V},
    ),
    "teaching-image": WebForm(
        "radiologist",
        lambda w: [w.teaching.pk],
        lambda w: {
            "key_image": str(w.key_image.pk),
            "action": "include",
            "no_burned_in_identifiers": "on",
            "version": str(w.teaching.version),
        },
        {"key_image": hc.ID, "action": C, "no_burned_in_identifiers": hc.BOOL, "version": V},
        stores_text=False,
    ),
    "teaching-approve": WebForm(
        "chair", lambda w: [w.teaching.pk], lambda w: {"version": str(w.teaching.version)}, {"version": V}
    ),
}

# Views without a body to poison: pages, downloads, and signing out.
WEB_READ_ONLY = {
    "dashboard",
    "case-detail",
    "patient-detail",
    "key-image",
    "meeting-list",
    "meeting-detail",
    "meeting-run",
    "meeting-run-item",
    "case-summary-pdf",
    "meeting-packet-pdf",
    "teaching-list",
    "teaching-detail",
    "teaching-pdf",
    "logout",
    "password_change_done",
    "audit-log",  # GET only; its filters are tested in tests/test_audit_trail_pages.py
    # Board analytics: GET only; their period query strings are in WEB_QUERIES below.
    "analytics-home",
    "board-analytics",
    "board-analytics-csv",
    "board-discordance",
    "board-report-pdf",
    "case-coding",
    "code-search",  # GET only; its query string is in WEB_QUERIES
    "agenda-unpublish",  # a button without a body; tests/test_mistakes.py covers refusals
    "patient-list",  # its search is a POST that changes nothing: tests/test_mistakes.py sends it the corpus
    "meeting-calendar",
    "healthz",
    "job-detail",
    "inbox",
    "readyz",
    "calendar-feed",  # GET only, by secret address: tests/test_calendars.py sends it hostile addresses
    # Identity (tests/identity/): the provider's redirects, read-only pages of break-the-glass, the review list.
    "sso-begin",
    "sso-callback",
    "logout-page",
    "mfa-recovery-codes",
    "break-glass-detail",
    "break-glass-case",
    "break-glass-review",
    "passkey-reg-options",  # POST without a body: WebAuthn options
    "passkey-options",
    # A valid answer needs a real authenticator: hostile answers are judged in tests/identity/test_passkeys.py.
    "passkey-register",
    "passkey-verify",
}


def url_names(patterns) -> list[str]:
    names = []
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            names += url_names(pattern.url_patterns)
        elif isinstance(pattern, URLPattern) and pattern.name:
            names.append(pattern.name)
    return names


def real_field(name: str, data: dict) -> str:
    """`item-presenter` stands for the prefixed field of the agenda item form (`item-12-presenter`)."""
    if name.startswith("item-"):
        return next(key for key in data if key.startswith("item-") and key.endswith(name[5:]))
    return name


def web_value(payload: hc.Payload, kind: str, max_length: int | None):
    value = payload.value
    if isinstance(value, int):
        return str(value)
    if payload.text and max_length:
        return value[:max_length]
    return value


def urlencoded(data: dict) -> bytes:
    pairs = []
    for name, value in data.items():
        for item in value if isinstance(value, list) else [value]:
            pairs.append((name, item))
    return urllib.parse.urlencode(pairs).encode()


def form_max_lengths(response) -> dict:
    form = response.context.get("form") if response.status_code == 200 and response.context else None
    if form is None:
        return {}
    return {name: getattr(fld, "max_length", None) for name, fld in form.fields.items()}


class WebCorpus:
    def __init__(self, world: World, name: str, form: WebForm, errors: list, verdicts: Verdicts):
        self.world, self.name, self.form, self.errors, self.verdicts = world, name, form, errors, verdicts
        self.client = Client(raise_request_exception=False)
        if form.role:
            self.client.force_login(world.user(form.role))
        self.url = reverse(name, args=form.args(world))
        self.before = snapshot()  # every attempt is rolled back, so every attempt starts from this
        self.max_lengths = form_max_lengths(self.client.get(self.url))  # POST-only views: none

    def base(self) -> dict:
        data = dict(self.form.data(self.world))
        return self.form.derive(data) if self.form.derive else data

    def post(self, data: dict, upload: hc.Upload | None = None, *, body=None, content_type=None):
        if self.form.derive and body is None:
            data = self.form.derive(data)
        if body is not None:
            return self.client.post(self.url, data=body, content_type=content_type)
        if self.form.multipart:
            fields = [(k, v) for k, value in data.items() for v in (value if isinstance(value, list) else [value])]
            body, content_type = hc.multipart(fields, [("image_1", upload or png_upload())])
            return self.client.post(self.url, data=body, content_type=content_type)
        return self.client.post(self.url, data=urlencoded(data), content_type="application/x-www-form-urlencoded")

    def attempt(self, label, expect, send, poisoned=None):
        if self.form.stored:
            self.client.force_login(self.world.user(self.form.role))  # an accepted password change ends the session
        with rolled_back():
            response = send()
            in_clear = {} if self.form.stored else poisoned  # a password is kept as a hash: checked below
            after = judge(
                self.verdicts, label, response, self.errors, self.before, expect=expect, message=web_message,
                poisoned=in_clear,
            )  # fmt: skip
            accepted = after is not None and after != self.before and response.status_code < 400
            if self.form.stored and accepted and not all(self.form.stored(v) for v in (poisoned or {}).values()):
                self.verdicts.problem(label, "accepted but the value was not kept exactly")
        return response

    def run(self) -> None:
        base = self.base()
        self.check_base_is_accepted(base)
        for payload in hc.PAYLOADS:
            if not payload.web:
                continue
            targets = {n: k for n, k in self.form.kinds.items() if k in payload.kinds}
            if not targets:
                continue
            data, poisoned = dict(base), {}
            for name in targets:
                field_name = real_field(name, data)
                value = web_value(payload, targets[name], self.max_lengths.get(field_name))
                data[field_name] = value
                poisoned[field_name] = value
            expect = text_expectation(payload, self.form.stores_text)
            self.attempt(payload.name, expect, lambda data=data: self.post(data), poisoned=poisoned)
        self.run_versions(base)
        self.run_overlong(base)
        self.run_uploads(base)
        self.run_whole_requests(base)

    def check_base_is_accepted(self, base) -> None:
        """The valid form goes through: the refusals below are then caused by the payload, not the world."""
        with rolled_back():
            response = self.post(base)
            if self.form.role and response.status_code != 302:
                self.verdicts.problem("valid form", f"{response.status_code}: the valid form was not accepted")
            if self.form.role and response.status_code == 302:
                # Buttons report a refusal as a message after the redirect: the valid one must succeed.
                follow = self.client.get(response["Location"])
                if b'class="message error"' in follow.content:
                    self.verdicts.problem("valid form", "the valid form was refused with a message")

    def run_versions(self, base) -> None:
        if "version" not in self.form.kinds:
            return
        for value in hc.BAD_VERSIONS:
            self.attempt(f"version={value[:12]!r}", "refused", lambda value=value: self.post(base | {"version": value}))

    def run_overlong(self, base) -> None:
        for name, kind in self.form.kinds.items():
            limit = self.max_lengths.get(real_field(name, base))
            if kind == T and limit:
                data = base | {real_field(name, base): "x" * (limit + 1)}
                self.attempt(f"over-{limit}-characters in {name}", "refused", lambda data=data: self.post(data))

    def run_uploads(self, base) -> None:
        if hc.FILE not in self.form.kinds.values():
            return
        for upload in hc.uploads():
            with rolled_back():
                response = self.post(base, upload)
                if upload.is_image and response.status_code == 302:
                    self.verdicts.sent += 1
                    check_stored_images(self.verdicts, upload, self.client)
                else:
                    judge(
                        self.verdicts, upload.name, response, self.errors, self.before, expect="refused",
                        message=web_message,
                    )  # fmt: skip

    def run_whole_requests(self, base) -> None:
        if not self.form.kinds:
            return
        field_name = next(n for n, k in self.form.kinds.items() if k not in (hc.FILE,))
        field_name = real_field(field_name, base)
        requests = {
            "json-body": (json.dumps(base).encode(), "application/json"),
            "text-plain-body": (urlencoded(base), "text/plain"),
            "oversized-body": (urlencoded(base | {field_name: hc.OVERSIZED_TEXT}), "application/x-www-form-urlencoded"),
            "malformed-multipart": (b"--nothing--", "multipart/form-data; boundary="),
            "too-many-fields": (
                urlencoded(base | {f"f{n}": "x" for n in range(1500)}),
                "application/x-www-form-urlencoded",
            ),
        }
        for label, (body, content_type) in requests.items():
            self.attempt(label, "refused", lambda b=body, c=content_type: self.post(base, body=b, content_type=c))
        args = self.form.args(self.world)
        for bad in ("9" * 25, "%00", "1e3"):
            if not args:
                break
            url = reverse(self.name, args=["0" if isinstance(a, int) else a for a in args])
            url = url.replace("/0/", f"/{bad}/", 1)
            self.attempt(f"id {bad!r} in the path", "refused", lambda u=url: self.post_to(u, base))

    def post_to(self, url: str, data: dict):
        return self.client.post(url, data=urlencoded(data), content_type="application/x-www-form-urlencoded")


def png_upload() -> hc.Upload:
    return hc.Upload("png", "key.png", hc.png_bytes(), "image/png", True)


def check_stored_images(verdicts: Verdicts, upload: hc.Upload, client) -> None:
    """An accepted image is stored under a random name in key-images/, whatever it was called, and
    leaves the server as an image or as bytes, never as a page of this site."""
    root = Path(settings.MEDIA_ROOT).resolve()
    for image in m.KeyImage.objects.all():
        path = Path(image.image.path).resolve()
        if root / "key-images" not in path.parents:
            verdicts.problem(upload.name, f"stored outside key-images/: {path}")
        if not re.fullmatch(r"[0-9a-f]{32}", Path(image.image.name).stem):
            verdicts.problem(upload.name, f"stored under a name taken from the upload: {image.image.name}")
        served = client.get(reverse("key-image", args=[image.pk]))
        if not served["Content-Type"].startswith(("image/", "application/octet-stream")):
            verdicts.problem(upload.name, f"served as {served['Content-Type']}")


@pytest.mark.parametrize("name", [n for n in url_names(web_urls.urlpatterns) if n not in WEB_READ_ONLY])
def test_every_portal_form_refuses_hostile_input_and_changes_nothing(name, world, server_errors):
    assert name in WEB_FORMS, (
        f"The portal view {name!r} is not in the corpus: give it an entry in WEB_FORMS of {__file__} "
        "(or, if it reads no body at all, add it to WEB_READ_ONLY)."
    )
    verdicts = Verdicts("web", name)
    WebCorpus(world, name, WEB_FORMS[name], server_errors, verdicts).run()
    verdicts.assert_none()


# The API --------------------------------------------------------------------------------------


def openapi() -> dict:
    return SchemaGenerator().get_schema(request=None, public=True)


SCHEMA = openapi()
OPERATIONS = {
    op["operationId"]: (method.upper(), path, op)
    for path, ops in SCHEMA["paths"].items()
    for method, op in ops.items()
    if isinstance(op, dict) and "operationId" in op
}


@dataclass
class ApiOp:
    role: str | None
    body: object = None  # world -> valid JSON body; None: the operation reads no body
    id: object = None  # world -> the {id} of the path
    if_match: object = None  # world -> the object whose ETag goes in If-Match
    kinds: dict = field(default_factory=dict)  # overrides of the kinds read from the schema
    stores_text: bool = True
    multipart: bool = False


def etag(obj) -> str:
    return f'"{obj._meta.model_name}-{obj.pk}-v{obj.version}"'


def referral_body() -> dict:
    return {
        "referring_clinician": "Dr. Ines Varga",
        "referring_email": "varga@hospital.invalid",
        "clinical_question": "Relapse?",
        "history": "Treated osteosarcoma.",
        "key_labs": "Calcium 2.9",
        "performance_status": 1,
        "priority": "routine",
        "no_pathology_reason": "",
    }


def decision_body(w: World) -> dict:
    return {
        "meeting": w.meeting.pk,
        "participants": [w.user("chair").pk],
        "consensus_diagnosis": "Tumoral calcinosis.",
        "plan": [{"category": "surveillance", "detail": "Every 3 months."}],
        "rationale": "Revised pathology.",
        "dissent": "",
        "guideline_concordance": "no",
        "concordance_reason": "Renal failure.",
        "trial_considered": True,
        "trial_eligible": True,
        "trial_enrolled": False,
        "treatment_intent": "curative",
    }


ICD10CM, ICDO3 = "http://hl7.org/fhir/sid/icd-10-cm", "http://terminology.hl7.org/CodeSystem/icd-o-3"


def referral_bundle(w: World) -> dict:
    """The worked example of docs/fhir.md (tests/test_fhir_intake.py posts it too)."""
    from tests.test_fhir_intake import worked_example

    return worked_example()


def with_comorbidity(w: World) -> int:
    """The intake case, given a comorbidity to remove (the id is read before the corpus snapshots the world)."""
    m.Diagnosis.objects.get_or_create(
        case=w.intake, role="comorbidity", icd10_code="N18.6", defaults={"recorded_by": w.user("coordinator")}
    )
    return w.intake.pk


API_OPS: dict[str, ApiOp] = {
    "v1_cases_coding_primary_create": ApiOp(
        "coordinator",
        body=lambda w: {
            "icd10": {"system": ICD10CM, "code": "C40.22"},
            "topography": {"system": ICDO3, "code": "C40.2"},
            "morphology": {"system": ICDO3, "code": "9180/3"},
            "laterality": {"system": "http://snomed.info/sct", "code": "7771000"},
            "text": "Osteosarcoma",
            "diagnosed_on": TODAY,
        },
        id=lambda w: w.intake.pk,
    ),
    "v1_cases_coding_comorbidities_create": ApiOp(
        "coordinator",
        body=lambda w: {"icd10": {"system": ICD10CM, "code": "N18.6"}, "text": "Dialysis", "diagnosed_on": TODAY},
        id=lambda w: w.intake.pk,
    ),
    "v1_cases_coding_comorbidities_remove_create": ApiOp(
        "coordinator",
        body=lambda w: {"diagnosis": w.intake.diagnoses.get().pk, "reason": "Coded in error."},
        id=with_comorbidity,
        kinds={"diagnosis": hc.ID},
        stores_text=False,  # the reason goes to the timeline and the audit trail, the row goes
    ),
    "v1_cases_coding_staging_create": ApiOp(
        "coordinator",
        body=lambda w: (
            {"kind": "clinical", "t": "T1", "n": "N0", "m": "M0", "stage_group": "IA"}
            | {"edition": "ajcc-8", "staged_on": TODAY, "note": "At diagnosis."}
        ),
        id=lambda w: w.intake.pk,
        stores_text=False,  # T, N, M and the stage group follow the TNM grammar
    ),
    "v1_fhir_referrals_create": ApiOp("coordinator", body=referral_bundle, stores_text=False),
    "v1_auth_token_create": ApiOp(
        None, body=lambda w: {"username": "coordinator", "password": "wrong-password"}, stores_text=False
    ),
    "v1_auth_logout_create": ApiOp("coordinator"),
    "v1_auth_sign_out_everywhere_create": ApiOp("coordinator", stores_text=False),
    "v1_patients_create": ApiOp(
        "coordinator",
        body=lambda w: {
            "board": w.board.pk,
            "mrn": "HOSTILE-0001",
            "given_name": "Mara",
            "family_name": "Lind",
            "birth_date": "1990-04-02",
            "sex": "female",
            "comorbidities": "Renal failure.",
        },
    ),
    "v1_cases_create": ApiOp(
        "coordinator", body=lambda w: {"patient": w.patient.pk, "board": w.board.pk, **referral_body()}
    ),
    "v1_cases_partial_update": ApiOp(
        "coordinator", body=lambda w: referral_body(), id=lambda w: w.intake.pk, if_match=lambda w: w.intake
    ),
    "v1_cases_transition_create": ApiOp(
        "coordinator",
        body=lambda w: {"to": "imaging", "note": "Referral complete."},
        id=lambda w: w.intake.pk,
        if_match=lambda w: w.intake,
    ),
    "v1_imaging_studies_create": ApiOp(
        "radiologist",
        body=lambda w: {
            "case": w.imaging.pk,
            "modality": "CT",
            "body_site": "Left knee",
            "performed_on": TODAY,
            "accession_number": "ACC-1",
            "findings": "Calcification.",
            "impression": "Benign.",
        },
    ),
    "v1_imaging_studies_key_images_create": ApiOp(
        "radiologist", body=lambda w: {"caption": "Axial"}, id=lambda w: w.study.pk, multipart=True
    ),
    "v1_pathology_reports_create": ApiOp(
        "pathologist",
        body=lambda w: {
            "case": w.pathology.pk,
            "specimen": "Core",
            "procedure": "Biopsy",
            "collected_on": TODAY,
            "diagnosis": "Callus.",
            "icdo3_code": "",
            "status": "final",
        },
        kinds={"icdo3_code": C},
    ),
    "v1_pathology_reports_partial_update": ApiOp(
        "pathologist",
        body=lambda w: {"specimen": "Core", "procedure": "Biopsy", "collected_on": TODAY, "diagnosis": "Callus."},
        id=lambda w: w.prelim_report.pk,
        if_match=lambda w: w.prelim_report,
        kinds={"icdo3_code": C},
    ),
    "v1_pathology_reports_amend_create": ApiOp(
        "pathologist",
        body=lambda w: {
            "diagnosis": "Tumoral calcinosis.",
            "amendment_reason": "Review.",
            "discrepancy": "major",
            "specimen": "Core",
            "procedure": "Biopsy",
            "collected_on": TODAY,
            "icdo3_code": "",
        },
        id=lambda w: w.final_report.pk,
        if_match=lambda w: w.final_report,
        kinds={"icdo3_code": C},
    ),
    "v1_pathology_reports_sign_out_create": ApiOp(
        "pathologist", id=lambda w: w.prelim_report.pk, if_match=lambda w: w.prelim_report
    ),
    "v1_opinions_create": ApiOp(
        "orthopaedic", body=lambda w: {"case": w.intake.pk, "assessment": "Benign.", "recommendation": "Observe."}
    ),
    "v1_opinions_confirm_create": ApiOp(
        "radiologist", id=lambda w: w.opinion.pk, if_match=lambda w: w.opinion, stores_text=False
    ),
    "v1_opinions_partial_update": ApiOp(
        "radiologist",
        body=lambda w: {"assessment": "Benign.", "recommendation": "Observe."},
        id=lambda w: w.opinion.pk,
        if_match=lambda w: w.opinion,
    ),
    "v1_meetings_create": ApiOp(
        "coordinator",
        body=lambda w: {
            "board": w.board.pk,
            "starts_at": "2030-03-04T15:00:00+01:00",
            "location": "Room 2",
            "video_link": "",
        },
    ),
    "v1_meetings_agenda_create": ApiOp(
        "coordinator",
        body=lambda w: {"case": w.intake.pk, "presenter": w.user("chair").pk, "minutes": 15},
        id=lambda w: w.meeting.pk,
    ),
    "v1_meetings_agenda_change_create": ApiOp(
        "coordinator",
        body=lambda w: {"item": w.items[0].pk, "presenter": w.user("chair").pk, "minutes": 20},
        id=lambda w: w.meeting.pk,
    ),
    "v1_meetings_agenda_outcome_create": ApiOp(
        "chair",
        body=lambda w: {
            "item": w.items[0].pk,
            "outcome": "deferred",
            "reason": "Awaiting imaging.",
            "actual_minutes": 12,
        },
        id=lambda w: w.meeting.pk,
    ),
    "v1_meetings_agenda_remove_create": ApiOp(
        "coordinator", body=lambda w: {"item": w.items[1].pk}, id=lambda w: w.meeting.pk
    ),
    "v1_meetings_agenda_reorder_create": ApiOp(
        "coordinator", body=lambda w: {"items": [w.items[1].pk, w.items[0].pk]}, id=lambda w: w.meeting.pk
    ),
    "v1_meetings_attendance_create": ApiOp(
        "coordinator",
        body=lambda w: {"user": w.user("orthopaedic").pk, "present": False, "specialty": "orthopaedic_oncology"},
        id=lambda w: w.meeting.pk,
    ),
    "v1_meetings_publish_create": ApiOp("coordinator", id=lambda w: w.meeting.pk),
    "v1_meetings_attendance_correct_create": ApiOp(
        "coordinator",
        body=lambda w: {"user": w.user("orthopaedic").pk, "present": False, "reason": "Left before the case."},
        id=lambda w: w.held.pk,
    ),
    "v1_meetings_status_create": ApiOp(
        "coordinator",
        body=lambda w: {"status": "cancelled", "reason": "Chair unavailable.", "agenda": "release"},
        id=lambda w: w.meeting.pk,
    ),
    "v1_decisions_create": ApiOp("chair", body=lambda w: {"case": w.intake.pk, **decision_body(w)}),
    "v1_decisions_partial_update": ApiOp(
        "chair", body=decision_body, id=lambda w: w.draft.pk, if_match=lambda w: w.draft
    ),
    "v1_decisions_sign_create": ApiOp("chair", id=lambda w: w.draft.pk, if_match=lambda w: w.draft),
    "v1_decisions_correct_create": ApiOp(
        "chair", body=lambda w: {"reason": "Typo in the plan.", **decision_body(w)}, id=lambda w: w.signed.pk
    ),
    "v1_follow_ups_partial_update": ApiOp(
        "coordinator",
        body=lambda w: {"owner": w.user("chair").pk, "due_on": TODAY},
        id=lambda w: w.follow_up.pk,
        if_match=lambda w: w.follow_up,
    ),
    "v1_follow_ups_complete_create": ApiOp("coordinator", id=lambda w: w.follow_up.pk, if_match=lambda w: w.follow_up),
    "v1_follow_ups_deviate_create": ApiOp(
        "coordinator",
        body=lambda w: {"code": "other", "reason": "Patient's choice."},
        id=lambda w: w.follow_up.pk,
        if_match=lambda w: w.follow_up,
    ),
    "v1_teaching_sets_create": ApiOp(
        "radiologist",
        body=lambda w: {
            "cases": [w.intake.pk],
            "meeting": None,
            "include": [f"case.{w.intake.pk}.history"],
            "other_identifiers": {str(w.intake.pk): "Tomas Berg"},
        },
        kinds={"include": hc.MULTI},
    ),
    "v1_teaching_sets_texts_create": ApiOp(
        "radiologist",
        body=lambda w: {"field": f"case.{w.imaging.pk}.history", "included": True, "text": "Seen on day 0."},
        id=lambda w: w.teaching.pk,
        if_match=lambda w: w.teaching,
        kinds={"field": C},
    ),
    "v1_teaching_sets_images_create": ApiOp(
        "radiologist",
        body=lambda w: {"key_image": w.key_image.pk, "included": True, "no_burned_in_identifiers": True},
        id=lambda w: w.teaching.pk,
        if_match=lambda w: w.teaching,
    ),
    "v1_teaching_sets_approve_create": ApiOp("chair", id=lambda w: w.teaching.pk, if_match=lambda w: w.teaching),
    "v1_follow_ups_apply_template_create": ApiOp(
        "coordinator",
        body=lambda w: {
            "case": w.signed_case.pk,
            "template": w.template.code,
            "start_on": TODAY,
            "owner": w.user("chair").pk,
        },
        kinds={"template": C},
    ),
}


def resolve(schema: dict) -> dict:
    while "$ref" in schema:
        schema = SCHEMA["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    for key in ("allOf", "oneOf", "anyOf"):
        if key in schema:  # e.g. oneOf [PerformanceStatusEnum, NullEnum]: the first says what it is
            return resolve(schema[key][0])
    return schema


ID_NAMES = {"board", "patient", "case", "meeting", "user", "owner", "presenter", "item", "participants", "items"}


def kind_of(name: str, prop: dict) -> str:
    prop = resolve(prop)
    if "enum" in prop:
        return C
    kind = prop.get("type")
    fmt = prop.get("format", "")
    if kind == "array":
        return hc.OBJECT if resolve(prop.get("items", {})).get("type") == "object" else hc.MULTI
    if kind == "integer":
        return hc.ID if name in ID_NAMES else N
    if kind == "boolean":
        return hc.BOOL
    if kind == "string":
        return {"date": D, "date-time": DT, "email": hc.EMAIL, "uri": hc.URL, "binary": hc.FILE}.get(fmt, T)
    return hc.OBJECT


def request_fields(op: dict) -> dict:
    """{field: (kind, maxLength)} of the operation's request body, read from the schema."""
    content = op.get("requestBody", {}).get("content", {})
    body = content.get("application/json") or content.get("multipart/form-data")
    if not body:
        return {}
    schema = resolve(body["schema"])
    return {
        name: (kind_of(name, prop), resolve(prop).get("maxLength"))
        for name, prop in schema.get("properties", {}).items()
        if not resolve(prop).get("readOnly")
    }


def api_value(payload: hc.Payload, max_length: int | None):
    if payload.text and max_length:
        return payload.value[:max_length]
    return payload.value


JSON_TYPES = {"application/json", "application/fhir+json"}
RAW = "\u2063raw\u2063"  # stands for raw bytes in a JSON body until it is encoded


def json_body(data: dict, raw: bytes | None = None) -> bytes:
    text = json.dumps(data, ensure_ascii=True)
    encoded = text.encode()
    if raw is not None:
        encoded = encoded.replace(json.dumps(RAW, ensure_ascii=True)[1:-1].encode(), raw)
    return encoded


class ApiCorpus:
    def __init__(self, world: World, op_id: str, spec: ApiOp, errors: list, verdicts: Verdicts):
        self.world, self.spec, self.errors, self.verdicts = world, spec, errors, verdicts
        self.method, path, self.op = OPERATIONS[op_id]
        self.client = APIClient(raise_request_exception=False)
        self.user = world.user(spec.role) if spec.role else None
        self.path_template = path
        self.path = path.replace("{id}", str(spec.id(world))) if spec.id else path
        self.fields = {
            name: (spec.kinds.get(name, kind), limit) for name, (kind, limit) in request_fields(self.op).items()
        }
        self.before = snapshot()  # every attempt is rolled back, so every attempt starts from this

    def headers(self) -> dict:
        if self.spec.if_match is None:
            return {}
        target = self.spec.if_match(self.world)
        target.refresh_from_db()
        return {"HTTP_IF_MATCH": etag(target)}

    def send(self, body: bytes | None, content_type="application/json", path=None, **headers):
        if self.user is not None:
            self.client.force_login(self.user)
        extra = self.headers() | headers
        if self.spec.role == "coordinator" and self.op["operationId"] == "v1_auth_logout_create":
            self.client.logout()
            token = APIClient().post("/api/v1/auth/token/", {"username": "coordinator", "password": PASSWORD})
            extra["HTTP_AUTHORIZATION"] = f"Token {token.json()['token']}"
        return self.client.generic(self.method, path or self.path, body or b"", content_type=content_type, **extra)

    def send_multipart(self, data: dict, upload: hc.Upload | None = None):
        body, content_type = hc.multipart(list(data.items()), [("image", upload or png_upload())])
        return self.send(body, content_type)

    def attempt(self, label, expect, send, poisoned=None):
        with rolled_back():
            response = send()
            judge(
                self.verdicts, label, response, self.errors, self.before, expect=expect, message=api_message,
                poisoned=poisoned,
            )  # fmt: skip
            # FHIR endpoints refuse with an OperationOutcome (application/fhir+json).
            if response.status_code >= 400 and response.get("Content-Type", "").split(";")[0] not in JSON_TYPES:
                self.verdicts.problem(label, f"{response.status_code} answered as {response.get('Content-Type')}")
        return response

    def run(self) -> None:
        base = self.spec.body(self.world) if self.spec.body else None
        if base is not None:
            self.check_base_is_accepted(base)
            self.run_payloads(base)
            self.run_overlong(base)
            self.run_whole_requests(base)
        if self.spec.multipart:
            self.run_uploads(base)
        if self.spec.if_match is not None:
            for value in hc.BAD_IF_MATCH:
                body = None if base is None else self.encode(base)
                self.attempt(
                    f"If-Match {value[:30]!r}", "refused", lambda v=value, b=body: self.send(b, HTTP_IF_MATCH=v)
                )
        if "{id}" in self.path_template:
            for bad in ("99999999999999999999", "1e3", "-1", "%00"):
                path = self.path_template.replace("{id}", bad)
                body = None if base is None else self.encode(base)
                self.attempt(f"id {bad!r} in the path", "refused", lambda p=path, b=body: self.send(b, path=p))

    def encode(self, data: dict) -> bytes:
        return json_body(data)

    def post_data(self, data: dict, raw: bytes | None = None):
        if self.spec.multipart:
            return self.send_multipart({k: (raw if v == RAW else v) for k, v in data.items()})
        return self.send(json_body(data, raw))

    def check_base_is_accepted(self, base) -> None:
        with rolled_back():
            response = self.post_data(base)
            if self.spec.role and not 200 <= response.status_code < 300:
                self.verdicts.problem("valid body", f"{response.status_code}: {response.content[:300]!r}")

    def run_payloads(self, base) -> None:
        for payload in hc.PAYLOADS:
            if not payload.api:
                continue
            if self.spec.multipart and not isinstance(payload.value, str | bytes | int):
                continue
            targets = {name: limit for name, (kind, limit) in self.fields.items() if kind in payload.kinds}
            if not targets:
                continue
            data, poisoned, raw = dict(base), {}, None
            for name, limit in targets.items():
                value = api_value(payload, limit)
                if isinstance(value, bytes):
                    raw, value = value, RAW
                data[name] = value
                if isinstance(value, str):
                    poisoned[name] = value
            expect = text_expectation(payload, self.spec.stores_text)
            self.attempt(payload.name, expect, lambda d=data, r=raw: self.post_data(d, r), poisoned=poisoned)
            if payload.text and "plan" in self.fields:
                value = api_value(payload, 2000)
                data = base | {"plan": [{"category": "surveillance", "detail": value}]}
                self.attempt(f"{payload.name} in the plan", "stored", lambda d=data: self.post_data(d), {"plan": value})

    def run_overlong(self, base) -> None:
        for name, (kind, limit) in self.fields.items():
            if kind == T and limit:
                data = base | {name: "x" * (limit + 1)}
                self.attempt(f"over-{limit}-characters in {name}", "refused", lambda d=data: self.post_data(d))

    def run_whole_requests(self, base) -> None:
        if self.spec.multipart:
            self.attempt("json-instead-of-multipart", "refused", lambda: self.send(json_body(base)))
            return
        text_field = next((n for n, (k, _) in self.fields.items() if k == T), next(iter(self.fields)))
        scalar = {k: v for k, v in base.items() if not isinstance(v, list | dict)}
        requests = {
            "text-plain-body": (json_body(base), "text/plain"),
            "xml-body": (b"<?xml version='1.0'?><case><history>x</history></case>", "application/xml"),
            "malformed-json": (b'{"' + text_field.encode() + b'": ', "application/json"),
            "json-array-body": (b"[1, 2, 3]", "application/json"),
            "json-nan": (b'{"' + text_field.encode() + b'": NaN}', "application/json"),
            "deeply-nested-json": (b'{"x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "application/json"),
            "5000-digit-number": (b'{"' + text_field.encode() + b'": 1' + b"0" * 5000 + b"}", "application/json"),
            "invalid-utf8-json": (json_body(base | {text_field: RAW}, b"caf\xe9 \xff"), "application/json"),
            "utf16-json": (json.dumps(base).encode("utf-16"), "application/json"),
            "prototype-pollution": (json_body(base | {"__proto__": {"is_admin": True}}), "application/json"),
            "oversized-json": (json_body(base | {text_field: hc.OVERSIZED_TEXT}), "application/json"),
            "oversized-form": (
                urlencoded(scalar | {text_field: hc.OVERSIZED_TEXT}),
                "application/x-www-form-urlencoded",
            ),
            "invalid-utf8-form": (
                urlencoded(scalar | {text_field: b"caf\xe9 \xff"}),
                "application/x-www-form-urlencoded",
            ),
            "nul-in-form": (urlencoded(scalar | {text_field: "a\x00b"}), "application/x-www-form-urlencoded"),
            "malformed-multipart": (b"--nothing--", "multipart/form-data; boundary="),
        }
        for label, (body, content_type) in requests.items():
            self.attempt(label, "refused", lambda b=body, c=content_type: self.send(b, c))

    def run_uploads(self, base) -> None:
        for upload in hc.uploads():
            with rolled_back():
                response = self.send_multipart(base or {}, upload)
                if upload.is_image and response.status_code == 201:
                    self.verdicts.sent += 1
                    check_stored_images(self.verdicts, upload, self.client)
                else:
                    judge(
                        self.verdicts, upload.name, response, self.errors, self.before, expect="refused",
                        message=api_message,
                    )  # fmt: skip


WRITE_OPERATIONS = sorted(op_id for op_id, (method, _, _) in OPERATIONS.items() if method != "GET")


@pytest.mark.parametrize("op_id", WRITE_OPERATIONS)
def test_every_api_operation_refuses_hostile_input_and_changes_nothing(op_id, world, server_errors):
    assert op_id in API_OPS, f"The API operation {op_id} has no entry in API_OPS of {__file__}: add one."
    verdicts = Verdicts("api", op_id)
    ApiCorpus(world, op_id, API_OPS[op_id], server_errors, verdicts).run()
    verdicts.assert_none()


# Reads: query strings and paths ---------------------------------------------------------------

# Query parameters DRF treats leniently: an ordering or page size naming nothing known falls back to
# the default (documented in docs/api.md); they read no data of their own.
LENIENT_QUERY = {"ordering", "page_size"}
RESOURCE_OBJECTS = {
    "boards": lambda w: w.board,
    "cases": lambda w: w.intake,
    "patients": lambda w: w.patient,
    "decisions": lambda w: w.draft,
    "follow-ups": lambda w: w.follow_up,
    "imaging-studies": lambda w: w.study,
    "meetings": lambda w: w.meeting,
    "opinions": lambda w: w.opinion,
    "pathology-reports": lambda w: w.final_report,
    "teaching-sets": lambda w: w.teaching,
    "codes": lambda w: w.board,  # code search: no id in its path
    "jobs": lambda w: m.Job.objects.create(
        kind="packet.render",
        args={"meeting_id": w.meeting.pk, "user_id": w.user("coordinator").pk},
        run_after=w.meeting.starts_at,
    ),
}
READ_OPERATIONS = sorted(op_id for op_id, (method, _, _) in OPERATIONS.items() if method == "GET")


def query_kinds(op: dict) -> dict:
    return {
        p["name"]: (kind_of(p["name"], p.get("schema", {})), resolve(p.get("schema", {})).get("maxLength"))
        for p in op.get("parameters", [])
        if p["in"] == "query"
    }


def query_string(params: dict) -> str:
    """A lone surrogate goes as the bytes a careless client would send (not UTF-8)."""
    encoded = [(k, v.encode("utf-8", "surrogatepass") if isinstance(v, str) else v) for k, v in params.items()]
    return urllib.parse.urlencode(encoded)


def run_reads(verdicts, client, path: str, kinds: dict, errors: list, *, message, lenient=frozenset()) -> None:
    """Each payload into every query parameter of its kind; then hostile ids in the path."""
    before = snapshot()
    for payload in hc.PAYLOADS:
        targets = [
            n for n, (k, _) in kinds.items() if k in payload.kinds and isinstance(payload.value, str | int | bytes)
        ]
        if not targets:
            continue
        params = dict.fromkeys(targets, payload.value)
        expect = "either" if payload.text or payload.filter_ok or set(targets) <= lenient else "refused"
        with rolled_back():
            response = client.get(f"{path}?{query_string(params)}")
            judge(
                verdicts,
                f"?{','.join(targets)}={payload.name}",
                response,
                errors,
                before,
                expect=expect,
                message=message,
            )
    for name, (kind, limit) in kinds.items():
        if kind == T and limit:
            with rolled_back():
                response = client.get(f"{path}?{query_string({name: 'x' * (limit + 1)})}")
                judge(verdicts, f"?{name}=over-{limit}", response, errors, before, expect="refused", message=message)


@pytest.mark.parametrize("op_id", READ_OPERATIONS)
def test_every_api_read_refuses_hostile_queries_and_paths(op_id, world, server_errors):
    _, path, op = OPERATIONS[op_id]
    resource = path.split("/")[3]
    assert resource in RESOURCE_OBJECTS, f"The API resource {resource!r} of {op_id} needs a row in RESOURCE_OBJECTS."
    client = APIClient(raise_request_exception=False)
    client.force_login(world.user("coordinator"))
    verdicts = Verdicts("api", op_id)
    concrete = path.replace("{id}", str(RESOURCE_OBJECTS[resource](world).pk))
    run_reads(verdicts, client, concrete, query_kinds(op), server_errors, message=api_message, lenient=LENIENT_QUERY)
    if "{id}" in path:
        before = snapshot()
        for bad in ("9" * 25, "%00", "1e3", "-1", "%ff"):
            with rolled_back():
                response = client.get(path.replace("{id}", bad))
                judge(verdicts, f"id {bad!r}", response, server_errors, before, expect="refused", message=api_message)
    verdicts.assert_none()


# The portal's query strings: the case list's filters drop what they cannot read (cases/web/forms.py).
WEB_QUERIES = {
    "case-list": (
        lambda w: [],
        {"q": (T, None), "board": (hc.ID, None), "stage": (C, None), "priority": (C, None), "meeting": (hc.ID, None)}
        | {"amended": (C, None), "sort": (C, None), "page": (N, None)},
    ),
    "decision-edit": (lambda w: [w.consensus.pk], {"meeting": (hc.ID, None)}),
    "case-summary-pdf": (lambda w: [w.intake.pk], {"pdfa": (hc.BOOL, None)}),
    "code-search": (lambda w: [], {"list": (C, None), "q": (T, None), "format": (C, None)}),
    "meeting-packet-pdf": (lambda w: [w.meeting.pk], {"deidentify": (hc.BOOL, None), "pdfa": (hc.BOOL, None)}),
    # Board analytics: a period that cannot be read is refused (400) and says why.
    "board-analytics": (lambda w: [w.board.pk], {"from": (D, None), "to": (D, None)}),
    "board-analytics-csv": (lambda w: [w.board.pk, "meetings"], {"from": (D, None), "to": (D, None)}),
    "board-discordance": (lambda w: [w.board.pk], {"from": (D, None), "to": (D, None), "page": (N, None)}),
    "board-report-pdf": (lambda w: [w.board.pk], {"from": (D, None), "to": (D, None)}),
}
LENIENT_PAGES = {
    "case-list",
    "decision-edit",
    "code-search",
}  # a filter or preset it cannot read is ignored, not refused


@pytest.mark.parametrize("name", sorted(WEB_QUERIES))
def test_portal_query_strings_never_fail_and_change_nothing(name, world, server_errors):
    args, kinds = WEB_QUERIES[name]
    client = Client(raise_request_exception=False)
    client.force_login(world.user("chair"))
    verdicts = Verdicts("web", f"{name} (query)")
    lenient = frozenset(kinds) if name in LENIENT_PAGES else frozenset()
    run_reads(
        verdicts, client, reverse(name, args=args(world)), kinds, server_errors, message=web_message, lenient=lenient
    )
    verdicts.assert_none()


# Valid text is shown as inert text --------------------------------------------------------------


def tagged(tag: str, value: str, max_length: int | None = None) -> str:
    """The payload behind a tag naming its field, so each field can be found on each surface."""
    text = f"[{tag}] {value}"
    return text[:max_length] if max_length else text


def case_full_of(text, board, users, meeting) -> m.Case:
    """A case whose every free-text field a person can fill holds `text(tag, max_length)`."""
    chair, radiologist, pathologist = users["chair"], users["radiologist"], users["pathologist"]
    patient = f.PatientFactory(
        registered_board=board,
        given_name=text("gn", 100),
        family_name=text("fn", 100),
        mrn=text("mrn", 32),
        comorbidities=text("co"),
    )
    case = f.CaseFactory(
        board=board,
        patient=patient,
        stage="consensus",
        referring_clinician=text("rc", 200),
        clinical_question=text("cq"),
        history=text("hx"),
        key_labs=text("kl"),
        no_pathology_reason=text("np"),
    )
    study = f.ImagingStudyFactory(
        case=case,
        radiologist=radiologist,
        body_site=text("bs", 200),
        accession_number=text("acc", 64),
        findings=text("fi"),
        impression=text("im"),
    )
    m.KeyImage.objects.create(study=study, image=f.png_upload(), caption=text("cap", 300))
    report = f.PathologyReportFactory(
        case=case, pathologist=pathologist, specimen=text("sp", 300), procedure=text("pr", 300), diagnosis=text("dx")
    )
    m.PathologyReport.objects.create(
        case=case,
        supersedes=report,
        status="amended",
        discrepancy="major",
        diagnosis=text("ad"),
        amendment_reason=text("ar"),
        specimen=report.specimen,
        procedure=report.procedure,
        collected_on=report.collected_on,
        pathologist=pathologist,
        signed_out_at=timezone.now(),
    )
    f.OpinionFactory(
        case=case, specialty="radiology", author=radiologist, assessment=text("as"), recommendation=text("re")
    )
    decision = f.DecisionFactory(
        case=case,
        meeting=meeting,
        recorded_by=chair,
        consensus_diagnosis=text("cd"),
        rationale=text("ra"),
        dissent=text("di"),
        plan=[{"category": "surveillance", "detail": text("pl", 2000)}],
        status="signed",
        signed_by=chair,
        signed_at=timezone.now(),
    )
    m.FollowUp.objects.create(
        case=case,
        decision=decision,
        kind="action",
        category="surveillance",
        description=text("fu", 500),
        owner=chair,
        due_on=timezone.localdate(),
        status="deviated",
        deviation_code="other",
        deviation_reason=text("dv"),
        completed_at=timezone.now(),
    )
    m.CaseEvent.objects.create(
        case=case, kind="transition", from_stage="pathology", to_stage="consensus", summary="Moved", note=text("tn")
    )
    m.AgendaItem.objects.create(meeting=meeting, case=case, position=1, outcome="deferred", deferral_reason=text("dr"))
    return case


class PageParser(html.parser.HTMLParser):
    """The elements and attributes of a page, and its text as a browser would show it."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.elements, self.attributes, self.chunks = Counter(), Counter(), []

    def handle_starttag(self, tag, attrs):
        self.elements[tag] += 1
        self.attributes.update(f"{tag}[{name}]" for name, _ in attrs)
        for name, value in attrs:
            if (
                value
                and name in ("src", "href", "style")
                and re.search(r"file:|javascript:|tumorboard\.invalid", value)
            ):
                self.chunks.append(f"\0LIVE {tag}[{name}]={value}\0")

    def handle_data(self, data):
        self.chunks.append(data)

    @property
    def text(self) -> str:
        return "".join(self.chunks)


def parsed(content: bytes) -> PageParser:
    parser = PageParser()
    parser.feed(content.decode())
    parser.close()
    return parser


def pdf_text_in_reading_order(content: bytes) -> str:
    """pdftotext -raw: the order WeasyPrint drew the text in (-layout interleaves the lines of table cells)."""
    result = subprocess.run(["pdftotext", "-raw", "-enc", "UTF-8", "-", "-"], input=content, capture_output=True)
    assert result.returncode == 0, result.stderr
    return result.stdout.decode()


def squeezed(text: str) -> str:
    """Without spaces, line breaks or invisible format characters (pdftotext drops them), in one case."""
    return "".join(c for c in text if not c.isspace() and unicodedata.category(c) != "Cf").casefold()


def json_strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from json_strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from json_strings(item)


# Where each field must appear (tags of case_full_of). The page and the PDF show the same record.
SHOWN = {"gn", "fn", "mrn", "co", "rc", "cq", "hx", "kl", "np", "bs", "acc", "fi", "im", "cap", "sp", "pr", "dx"}
SHOWN |= {"ad", "ar", "as", "re", "cd", "ra", "di", "pl", "fu", "dv", "tn", "dr"}
IN_API = SHOWN - {"co", "tn"}  # the patient summary of a case leaves out comorbidities; the timeline is its own
IN_PDF = SHOWN - {"tn", "dr", "np"}  # the summary prints the record: no timeline, agenda or reason for no pathology


@pytest.mark.parametrize("payload", hc.TEXT_PAYLOADS, ids=lambda p: p.name)
def test_stored_hostile_text_is_shown_as_inert_text_on_the_page_in_the_api_and_in_the_pdf(
    payload, board, coordinator, chair, specialists, quorate_meeting
):
    users = {"chair": chair, **{u.username: u for u in specialists.values()}}
    baseline = case_full_of(lambda tag, limit=None: tagged(tag, "plain words", limit), board, users, quorate_meeting)
    case = case_full_of(lambda tag, limit=None: tagged(tag, payload.value, limit), board, users, quorate_meeting)
    values = {tag: tagged(tag, payload.value, limit) for tag, limit in TAG_LIMITS.items()}
    client = Client()
    client.force_login(chair)

    plain, page = (parsed(client.get(reverse("case-detail", args=[c.pk])).content) for c in (baseline, case))
    assert "\0LIVE" not in page.text, [c for c in page.chunks if c.startswith("\0LIVE")]
    assert page.elements == plain.elements, "the text added elements to the page"
    assert page.attributes == plain.attributes, "the text added attributes to the page"
    shown = {tag for tag, value in values.items() if value in page.text}
    assert shown >= SHOWN, f"not shown as text on the case page: {sorted(SHOWN - shown)}"

    api = APIClient()
    api.force_login(chair)
    response = api.get(f"/api/v1/cases/{case.pk}/")
    assert response["Content-Type"] == "application/json"
    strings = set(json_strings(response.json()))
    assert {tag for tag, value in values.items() if value in strings} >= IN_API

    pdf = client.get(reverse("case-summary-pdf", args=[case.pk]))
    assert pdf.status_code == 200
    text = squeezed(pdf_text_in_reading_order(pdf.content))
    if "\u202e" in payload.value:
        # The override reverses its own text only: the paper isolates it (cases/printing/context.py).
        assert text.count(squeezed(payload.value[::-1])) >= len(IN_PDF)
    else:
        printed = {tag for tag, value in values.items() if squeezed(value) in text}
        assert printed >= IN_PDF, f"not printed literally: {sorted(IN_PDF - printed)}"
    assert "root:x:0:0" not in text  # <img src=file:///etc/passwd> fetched nothing
    TALLY["display"] += 1


TAG_LIMITS = {
    "gn": 100, "fn": 100, "mrn": 32, "co": None, "rc": 200, "cq": None, "hx": None, "kl": None, "np": None,
    "bs": 200, "acc": 64, "fi": None, "im": None, "cap": 300, "sp": 300, "pr": 300, "dx": None, "ad": None,
    "ar": None, "as": None, "re": None, "cd": None, "ra": None, "di": None, "pl": 2000, "fu": 500, "dv": None,
    "tn": None, "dr": None,
}  # fmt: skip


# Findings the corpus cannot see as a status ---------------------------------------------------------


def test_ten_thousand_participants_are_refused_before_any_is_looked_up(api, world, django_assert_max_num_queries):
    """Found by the corpus as 6 s per request: every id was looked up before the 100-item limit applied."""
    body = {"case": world.intake.pk, **decision_body(world), "participants": list(range(1, 10_001))}
    with django_assert_max_num_queries(50):  # a refused request, whatever the length of the list
        response = api(world.user("chair")).post("/api/v1/decisions/", body, format="json")
    assert response.status_code == 400
    assert "participants" in response.json()
