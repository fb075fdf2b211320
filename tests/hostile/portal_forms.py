"""The portal's forms and query strings, and what each field of them holds.

To add a form: give its URL name an entry in WEB_FORMS below: the role that may use it, `args` (world ->
URL arguments), `data` (world -> a valid body, strings), and `kinds` (field -> kind, tests/hostile/payloads.py).
Set `stores_text=False` where valid text may be refused; a view that reads no body goes in WEB_READ_ONLY.
A query string a page reads goes in WEB_QUERIES. test_portal_forms.py fails for any view in neither table.
"""

from dataclasses import dataclass

from django.apps import apps

from cases import models as m
from tests.hostile import payloads as hc
from tests.hostile import records
from tests.hostile.records import TODAY
from tests.hostile.world import PASSWORD, World, break_glass_access, pending_totp_now, totp_now


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
REFERRAL_DATA = records.REFERRAL | {"performance_status": "1"}
STUDY_KINDS = {"modality": C, "body_site": T, "performed_on": D, "accession_number": T, "findings": T, "impression": T}
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
    return records.DECISION | {
        "meeting": str(w.meeting.pk),
        "plan": ["surveillance"],
        "detail_surveillance": "Every 3 months.",
        "participants": [str(w.user("chair").pk)],
        "trial": "eligible",
        "next": "",
    }


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
        lambda w: {"board": str(w.board.pk), **records.PATIENT},
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
        lambda w: records.STUDY | {"caption_1": "Axial"},
        STUDY_KINDS | {"caption_1": T, "image_1": hc.FILE},
        multipart=True,
    ),
    "pathology-new": WebForm(
        "pathologist",
        lambda w: [w.pathology.pk],
        lambda w: records.PATHOLOGY | {"icdo3_code": "", "status": "final"},
        # An ICD-O-3 code has a format (9180/3, C40.2): text that is not one is refused, like a bad choice.
        {"specimen": T, "procedure": T, "collected_on": D, "diagnosis": T, "icdo3_code": C, "status": C},
    ),
    "pathology-amend": WebForm(
        "pathologist",
        lambda w: [w.final_report.pk],
        lambda w: records.AMENDMENT | {"version": str(w.final_report.version)},
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
        lambda w: records.STAGING,
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
        lambda w: records.OPINION,
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
        lambda w: records.STUDY | {"accession_number": "ACC-2", "amendment_reason": "Wrong side."},
        STUDY_KINDS | {"amendment_reason": T},
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
    "meeting-move": WebForm(
        "coordinator",
        lambda w: [w.upcoming.pk],
        lambda w: {"starts_at": "2030-03-04T15:00", "location": "Room 2", "video_link": ""},
        {"starts_at": DT, "location": T, "video_link": hc.URL},
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
