"""What the PDF templates show, built from the shared selectors' rows.

The templates receive plain values. Clinical papers identify the patient (name and MRN);
a teaching copy is a document of its own (cases/teaching/export.py, printing/teaching.py).
"""

import re
from dataclasses import dataclass
from datetime import date, datetime

from django.utils import timezone

from .. import selectors
from ..models import Case, DecisionStatus, Meeting, Outcome, Patient, Specialty


@dataclass
class Identity:
    """How a patient appears on clinical paper (teaching copies are their own document: printing/teaching.py)."""

    name: str
    initials: str
    mrn: str
    birth_date: date | None
    age: int
    sex: str


def identity(patient: Patient, *, on: date) -> Identity:
    return Identity(
        name=f"{patient.family_name.upper()}, {patient.given_name}",
        initials=patient.initials,
        mrn=patient.mrn,
        birth_date=patient.birth_date,
        age=patient.age_on(on),
        sex=patient.get_sex_display(),
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


def case_context(case: Case, *, on: date) -> dict:
    """Everything one case shows, for the summary and for a packet section (rows from the selectors)."""
    return isolate_bidi(_case_values(case, on=on))


def _case_values(case: Case, *, on: date) -> dict:
    who = identity(case.patient, on=on)
    grouped, missing = selectors.opinions_by_specialty(case)
    return {
        "case": case,
        "patient": who,
        "comorbidities": case.patient.comorbidities,
        "clinical_question": case.clinical_question,
        "history": case.history,
        "key_labs": case.key_labs,
        "referring_clinician": case.referring_clinician,
        "performance_status": case.get_performance_status_display() if case.performance_status is not None else "",
        "imaging": [_study(study) for study in selectors.imaging_record(case)],
        # The current reports first, then the superseded ones, each labelled.
        "pathology": [_report(report) for report in _current_first(selectors.pathology_chain(case))],
        "changes": [_chain(chain) for chain in selectors.pathology_changes(case)],
        "opinions": [
            {
                "specialty": Specialty(code).label,
                "author": person(opinion.author),
                "when": _when(opinion.updated_at),
                "edited": opinion.version > 1,
                "assessment": opinion.assessment,
                "stale": opinion.is_stale,
                "stale_since": _when(opinion.stale_since),
                "confirmed": _when(opinion.confirmed_at),
                "recommendation": opinion.recommendation,
            }
            for code, items in grouped.items()
            for opinion in items
        ],
        "missing_specialties": [Specialty(code).label for code in missing],
        "decisions": [_decision(decision) for decision in case.decisions.all()],
        "decision_under_review": any(decision.needs_review for decision in case.decisions.all()),
        "stale_opinions": sum(1 for opinion in case.opinions.all() if opinion.is_stale),
        "follow_ups": [
            {
                "due": _day(item.due_on),
                "kind": item.get_kind_display(),
                "description": item.description,
                "owner": person(item.owner),
                "status": item.get_status_display(),
                "deviation_reason": " — ".join(
                    part
                    for part in (
                        item.get_deviation_code_display() if item.deviation_code else "",
                        item.deviation_reason,
                    )
                    if part
                ),
                "overdue": item.is_overdue_on(on),
            }
            for item in case.follow_ups.all()
        ],
    }


def _current_first(reports: list) -> list:
    return [r for r in reports if r.is_current] + [r for r in reports if not r.is_current]


def _chain(chain: dict) -> dict:
    return {
        "reports": [r.pk for r in chain["reports"]],
        "original": chain["original"].pk,
        "current": chain["current"].pk,
        "major": chain["major"],
        "overall": chain["overall"],
        "steps": [
            {
                "number": step["report"].pk,
                "replaces": step["replaces"].pk,
                "discrepancy": step["report"].get_discrepancy_display().split(" —")[0],
                "major": step["report"].discrepancy == "major",
                "reason": step["report"].amendment_reason,
                "when": _when(step["report"].signed_out_at),
                "pathologist": person(step["report"].pathologist),
                "fields": [change["label"] for change in step["fields"]],
            }
            for step in chain["steps"]
        ],
    }


def _study(study) -> dict:
    return {
        "title": f"{study.get_modality_display()} — {study.body_site}",
        "date": _day(study.performed_on),
        "accession": study.accession_number,
        "radiologist": person(study.radiologist),
        "findings": study.findings,
        "impression": study.impression,
        "images": [{"url": image.print_url, "caption": image.caption} for image in study.key_images.all()],
        "current": study.current,
        "amends": bool(study.supersedes_id),
        "amendment_reason": study.amendment_reason,
        "addenda": [f"{_day(a.created_at.date())}, {person(a.author)}: {a.text}" for a in study.addenda.all()],
    }


def _report(report) -> dict:
    return {
        "number": report.pk,
        "status": report.get_status_display(),
        "is_current": report.is_current,
        "preliminary": report.status == "preliminary",
        "replaced_by": report.replaced_by.pk if report.replaced_by else None,
        "replaced_on": _when(report.replaced_by.signed_out_at) if report.replaced_by else "",
        "supersedes": report.supersedes_id,
        "previous_diagnosis": report.supersedes.diagnosis if report.supersedes_id else "",
        "diagnosis_changed": report.diagnosis_changed,
        "specimen": report.specimen,
        "procedure": report.procedure,
        "collected": _day(report.collected_on),
        "diagnosis": report.diagnosis,
        "icdo3": report.icdo3_code,
        "amendment_reason": report.amendment_reason,
        "discrepancy": report.get_discrepancy_display() if report.discrepancy else "",
        "major": report.discrepancy == "major",
        "pathologist": person(report.pathologist),
        "signed_out": _when(report.signed_out_at),
    }


def _decision(decision) -> dict:
    return {
        "number": decision.pk,
        "signed": decision.status == DecisionStatus.SIGNED,
        "superseded": decision.superseded_at is not None,
        "supersedes": decision.supersedes_id,
        "supersede_reason": decision.supersede_reason,
        "diagnosis": decision.consensus_diagnosis,
        "plan": decision.plan_items(),
        "rationale": decision.rationale,
        "dissent": decision.dissent,
        "quality": decision.quality_items(),
        "participants": [person(user) for user in decision.participants.all()],
        "signed_by": person(decision.signed_by),
        "signed_at": _when(decision.signed_at),
        "meeting": _day(timezone.localtime(decision.meeting.starts_at).date()) if decision.meeting else "",
        "on_superseded_pathology": bool(decision.pathology_report_id and decision.pathology_report.is_superseded),
        "needs_review": decision.needs_review,
        "present": [
            {"name": row["name"], "specialty": Specialty(row["specialty"]).label if row["specialty"] else "Coordinator"}
            for row in decision.attendance_snapshot or []
        ],
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
                # The running header of every page of the section: two identifiers.
                "running": f"{who.name} · {who.mrn}",
                "pathology_amended": bool(getattr(item, "pathology_amended", False)),
                "needs_review": bool(getattr(item, "decision_under_review", False)),
                "stale_input": bool(getattr(item, "has_stale_input", False)),
                "question": item.case.clinical_question,
                "presenter": person(item.presenter),
                "slot": f"{timezone.localtime(starts):%H:%M}–{timezone.localtime(ends):%H:%M}",
                "minutes": item.minutes,
                "late": item.is_late,
                "deferred": item.outcome == Outcome.DEFERRED,
                "deferral_reason": item.deferral_reason,
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
