"""What the PDF templates show, built from the shared selectors' rows.

The templates receive plain values already chosen for the variant: in a de-identified
document the patient's name, record number and birth date never reach the template at all,
and free text has them blotted out.
"""

import re
from dataclasses import dataclass, field
from datetime import date, datetime

from django.utils import timezone

from .. import selectors
from ..models import Case, DecisionStatus, Meeting, Outcome, Patient, Specialty


@dataclass
class Identity:
    """How a patient appears on paper in one variant."""

    name: str
    initials: str
    mrn: str
    birth_date: date | None
    age: int
    sex: str
    deidentified: bool
    _pattern: re.Pattern | None = field(default=None, repr=False)

    def scrub(self, text: str) -> str:
        """Free text with the patient's names, record number and birth date replaced."""
        if not text or self._pattern is None:
            return text
        return self._pattern.sub("[redacted]", text)


def mask_mrn(mrn: str) -> str:
    """Keep the last three characters, so two papers can be matched, never the record number itself."""
    return "•" * max(len(mrn) - 3, 3) + mrn[-3:]


def _identifier_pattern(patient: Patient) -> re.Pattern:
    born = patient.birth_date
    words = [patient.given_name, patient.family_name, patient.mrn]
    words += [born.isoformat(), born.strftime("%d/%m/%Y"), born.strftime("%d.%m.%Y"), born.strftime("%d %b %Y")]
    words += [born.strftime("%-d %B %Y"), born.strftime("%B %-d, %Y")]
    escaped = sorted({re.escape(w.strip()) for w in words if len(w.strip()) >= 2}, key=len, reverse=True)
    return re.compile(r"(?<!\w)(?:" + "|".join(escaped) + r")(?!\w)", re.IGNORECASE)


def identity(patient: Patient, *, on: date, deidentify: bool) -> Identity:
    if not deidentify:
        return Identity(
            name=f"{patient.family_name.upper()}, {patient.given_name}",
            initials=patient.initials,
            mrn=patient.mrn,
            birth_date=patient.birth_date,
            age=patient.age_on(on),
            sex=patient.get_sex_display(),
            deidentified=False,
        )
    initials = ".".join(patient.initials) + "."
    return Identity(
        name=initials,
        initials=initials,
        mrn=mask_mrn(patient.mrn),
        birth_date=None,
        age=patient.age_on(on),
        sex=patient.get_sex_display(),
        deidentified=True,
        _pattern=_identifier_pattern(patient),
    )


def person(user) -> str:
    if user is None:
        return ""
    return user.get_full_name() or user.get_username()


def _when(value: datetime | None) -> str:
    return timezone.localtime(value).strftime("%d %b %Y %H:%M") if value else ""


def _day(value: date | None) -> str:
    return value.strftime("%d %b %Y") if value else ""


BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069]")
ISOLATE_CONTROLS = re.compile("[\u2066-\u2069]")


def isolate_bidi(value):
    """User text that carries direction controls is printed inside its own isolate (FSI … PDI), so a
    right-to-left override reverses only that text, never the dates and names printed beside it."""
    if isinstance(value, str):
        if not BIDI_CONTROLS.search(value):
            return value
        return "\u2068" + ISOLATE_CONTROLS.sub("", value) + "\u2069"
    if isinstance(value, dict):
        return {key: isolate_bidi(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(isolate_bidi(item) for item in value)
    return value


def case_context(case: Case, *, on: date, deidentify: bool) -> dict:
    """Everything one case shows, for the summary and for a packet section (rows from the selectors)."""
    return isolate_bidi(_case_values(case, on=on, deidentify=deidentify))


def _case_values(case: Case, *, on: date, deidentify: bool) -> dict:
    who = identity(case.patient, on=on, deidentify=deidentify)
    scrub = who.scrub
    grouped, missing = selectors.opinions_by_specialty(case)
    return {
        "case": case,
        "patient": who,
        "comorbidities": scrub(case.patient.comorbidities),
        "clinical_question": scrub(case.clinical_question),
        "history": scrub(case.history),
        "key_labs": scrub(case.key_labs),
        "referring_clinician": case.referring_clinician,
        "performance_status": case.get_performance_status_display() if case.performance_status is not None else "",
        "imaging": [_study(study, scrub, deidentify) for study in selectors.imaging_record(case)],
        "pathology": [_report(report, scrub) for report in selectors.pathology_chain(case)],
        "opinions": [
            {
                "specialty": Specialty(code).label,
                "author": person(opinion.author),
                "when": _when(opinion.updated_at),
                "edited": opinion.version > 1,
                "assessment": scrub(opinion.assessment),
                "recommendation": scrub(opinion.recommendation),
            }
            for code, items in grouped.items()
            for opinion in items
        ],
        "missing_specialties": [Specialty(code).label for code in missing],
        "decisions": [_decision(decision, scrub) for decision in case.decisions.all()],
        "follow_ups": [
            {
                "due": _day(item.due_on),
                "kind": item.get_kind_display(),
                "description": scrub(item.description),
                "owner": person(item.owner),
                "status": item.get_status_display(),
                "deviation_reason": scrub(item.deviation_reason),
                "overdue": item.is_overdue_on(on),
            }
            for item in case.follow_ups.all()
        ],
    }


def _study(study, scrub, deidentify: bool) -> dict:
    return {
        "title": f"{study.get_modality_display()} — {scrub(study.body_site)}",
        "date": _day(study.performed_on),
        "accession": "" if deidentify else study.accession_number,
        "radiologist": person(study.radiologist),
        "findings": scrub(study.findings),
        "impression": scrub(study.impression),
        "images": [{"url": image.image.url, "caption": scrub(image.caption)} for image in study.key_images.all()],
        "current": study.current,
        "amends": bool(study.supersedes_id),
        "amendment_reason": scrub(study.amendment_reason),
        "addenda": [f"{_day(a.created_at.date())}, {person(a.author)}: {scrub(a.text)}" for a in study.addenda.all()],
    }


def _report(report, scrub) -> dict:
    return {
        "number": report.pk,
        "status": report.get_status_display(),
        "is_current": report.is_current,
        "replaced_by": report.replaced_by.pk if report.replaced_by else None,
        "replaced_on": _when(report.replaced_by.signed_out_at) if report.replaced_by else "",
        "supersedes": report.supersedes_id,
        "previous_diagnosis": scrub(report.supersedes.diagnosis) if report.supersedes_id else "",
        "diagnosis_changed": report.diagnosis_changed,
        "specimen": scrub(report.specimen),
        "procedure": report.procedure,
        "collected": _day(report.collected_on),
        "diagnosis": scrub(report.diagnosis),
        "icdo3": report.icdo3_code,
        "amendment_reason": scrub(report.amendment_reason),
        "discrepancy": report.get_discrepancy_display() if report.discrepancy else "",
        "major": report.discrepancy == "major",
        "pathologist": person(report.pathologist),
        "signed_out": _when(report.signed_out_at),
    }


def _decision(decision, scrub) -> dict:
    return {
        "number": decision.pk,
        "signed": decision.status == DecisionStatus.SIGNED,
        "superseded": decision.superseded_at is not None,
        "supersedes": decision.supersedes_id,
        "supersede_reason": scrub(decision.supersede_reason),
        "diagnosis": scrub(decision.consensus_diagnosis),
        "plan": [{**item, "detail": scrub(item["detail"])} for item in decision.plan_items()],
        "rationale": scrub(decision.rationale),
        "dissent": scrub(decision.dissent),
        "participants": [person(user) for user in decision.participants.all()],
        "signed_by": person(decision.signed_by),
        "signed_at": _when(decision.signed_at),
        "meeting": _day(timezone.localtime(decision.meeting.starts_at).date()) if decision.meeting else "",
        "on_superseded_pathology": bool(decision.pathology_report_id and decision.pathology_report.is_superseded),
    }


def agenda_rows(meeting: Meeting, identities: dict[int, Identity]) -> list[dict]:
    rows = []
    for item, starts, ends in selectors.agenda_time_slots(meeting):
        who = identities[item.case_id]
        rows.append(
            {
                "position": item.position,
                "anchor": f"case-{item.case_id}",
                "case_id": item.case_id,
                "patient": who,
                "question": who.scrub(item.case.clinical_question),
                "presenter": person(item.presenter),
                "slot": f"{timezone.localtime(starts):%H:%M}–{timezone.localtime(ends):%H:%M}",
                "minutes": item.minutes,
                "late": item.is_late,
                "deferred": item.outcome == Outcome.DEFERRED,
                "deferral_reason": who.scrub(item.deferral_reason),
                "rolled_from": _day(timezone.localtime(item.rolled_from.meeting.starts_at).date())
                if item.rolled_from_id
                else "",
            }
        )
    return isolate_bidi(rows)


def meeting_context(meeting: Meeting) -> dict:
    starts = timezone.localtime(meeting.starts_at)
    attendees = [
        {"name": person(row.user), "specialty": Specialty(row.specialty).label if row.specialty else "Coordinator"}
        for row in meeting.attendance.all()
        if row.present
    ]
    return {
        "meeting": meeting,
        "board": meeting.board.name,
        "date": starts.strftime("%A %d %B %Y"),
        "short_date": starts.strftime("%d %b %Y"),
        "time": starts.strftime("%H:%M"),
        "location": meeting.location,
        "video_link": meeting.video_link,
        "published": meeting.is_published,
        "attendees": attendees,
        "expected": [
            {"name": person(m.user), "role": m.get_role_display(), "specialty": m.get_specialty_display()}
            for m in meeting.board.memberships.all()
        ],
    }
