"""What a teaching copy shows, built from an approved set and its cases' rows.

Structured content by default: the teaching code, an age band (90+ from 90), sex, board, the clinical
stage (TNM stage group), performance status, modality, the coded diagnoses (ICD-10-CM, ICD-O-3
topography and morphology with its behaviour, laterality: each code with its title from the code
lists), the TNM staging history, discrepancy class, plan categories, follow-up kinds.
Free text only as approved (TeachingText.text, printed as it is): never a diagnosis's words, a
staging note or the legacy free-text "ICD-O-3" value, which nobody reviewed for a teaching copy.
Dates become day offsets from the referral ("day 0", "day +40"); the meeting is named by its board
and year. Never a name, initials, record or accession number, case number, database id, author or
clinician.
"""

from datetime import date

from django.utils import timezone

from .. import codes
from ..codes import tnm
from ..models import Case, DiagnosisRole, Specialty, StagingKind, TeachingSet
from .fields import Field, fields_of, key_images_of, known_about
from .scrubber import findings, scrub


def age_band(age: int) -> str:
    if age >= 90:
        return "90+"
    low = age - age % 5
    return f"{low}–{low + 4}"


def day_offset(day: date | None, referral: date) -> str:
    if day is None:
        return ""
    days = (day - referral).days
    return "day 0" if days == 0 else f"day {days:+d}"


def _date(value) -> date | None:
    if value is None:
        return None
    return timezone.localtime(value).date() if hasattr(value, "tzinfo") else value


def set_title(teaching_set: TeachingSet) -> str:
    board = teaching_set.board.name
    if teaching_set.meeting_id:
        return f"{board}, {timezone.localtime(teaching_set.meeting.starts_at).year}"
    return board


def teaching_context(teaching_set: TeachingSet, rows: dict[int, Case]) -> dict:
    return {
        "title": set_title(teaching_set),
        "board": teaching_set.board.name,
        "cases": [_case(tc, rows[tc.case_id]) for tc in teaching_set.cases.all()],
    }


def _case(teaching_case, case: Case) -> dict:
    texts = {t.key: t.text for t in teaching_case.texts.all()}
    images = {i.key_image_id for i in teaching_case.images.all()}
    referral = _date(case.created_at)

    def text(key: str) -> str:
        return texts.get(key, "")

    return {
        "code": teaching_case.code,
        "age_band": age_band(case.patient.age_on(referral)),
        "sex": case.patient.get_sex_display(),
        "board": case.board.name,
        "clinical_stage": _current_stage(case, StagingKind.CLINICAL),
        "pathological_stage": _current_stage(case, StagingKind.PATHOLOGICAL),
        "priority": case.get_priority_display(),
        "performance_status": case.get_performance_status_display() if case.performance_status is not None else "",
        "clinical_question": text(f"case.{case.pk}.clinical_question"),
        "history": text(f"case.{case.pk}.history"),
        "comorbidities": text(f"case.{case.pk}.comorbidities"),
        "key_labs": text(f"case.{case.pk}.key_labs"),
        **_coded_diagnoses(case),
        "stagings": [_staging(s, referral) for s in case.stagings.all()],
        "imaging": [_study(n, s, text, images, referral) for n, s in enumerate(case.imaging_studies.all(), start=1)],
        "pathology": _pathology(case, text, referral),
        "opinions": [
            {
                "specialty": Specialty(o.specialty).label,
                "assessment": text(f"opinion.{o.pk}.assessment"),
                "recommendation": text(f"opinion.{o.pk}.recommendation"),
            }
            for o in case.opinions.all()
        ],
        "decisions": [_decision(n, d, text, referral) for n, d in enumerate(case.decisions.all(), start=1)],
        "follow_ups": [
            {
                "kind": f.get_kind_display(),
                "category": f.get_category_display() if f.category else "",
                "status": f.get_status_display(),
                "due": day_offset(f.due_on, referral),
            }
            for f in case.follow_ups.all()
        ],
        "image_count": len([i for i in key_images_of(case) if i.pk in images]),
    }


def _study(n, study, text, images: set[int], referral: date) -> dict:
    return {
        "number": n,
        "modality": study.get_modality_display(),
        "body_site": text(f"imaging.{study.pk}.body_site"),
        "day": day_offset(study.performed_on, referral),
        "findings": text(f"imaging.{study.pk}.findings"),
        "impression": text(f"imaging.{study.pk}.impression"),
        "images": [
            {"url": image.print_url, "caption": text(f"key_image.{image.pk}.caption")}
            for image in study.key_images.all()
            if image.pk in images
        ],
    }


def _pathology(case: Case, text, referral: date) -> list[dict]:
    reports = list(case.pathology_reports.all())
    number = {r.pk: n for n, r in enumerate(reports, start=1)}
    replaced = {r.supersedes_id for r in reports if r.supersedes_id}
    return [
        {
            "number": number[r.pk],
            "status": r.get_status_display(),
            "superseded": r.pk in replaced,
            "supersedes": number.get(r.supersedes_id),
            "collected": day_offset(r.collected_on, referral),
            "signed_out": day_offset(_date(r.signed_out_at), referral),
            "specimen": text(f"pathology.{r.pk}.specimen"),
            "diagnosis": text(f"pathology.{r.pk}.diagnosis"),
            "codes": _icdo3(r),
            "discrepancy": r.get_discrepancy_display() if r.discrepancy else "",
            "amendment_reason": text(f"pathology.{r.pk}.amendment_reason"),
        }
        for r in reports
    ]


# Coded data: codes with their titles from the code lists, never the free text beside them ------------


def _code(code: str, display: str) -> str:
    return f"{code} {display}".strip() if code else ""


def _morphology(code: str, display: str) -> str:
    if not code:
        return ""
    behaviour = codes.behaviour(code)
    return _code(code, display) + (f", behaviour: {behaviour}" if behaviour else "")


def _icdo3(record) -> list[tuple[str, str]]:
    """(label, value) of a pathology report's or a diagnosis's ICD-O-3 codes and laterality, as coded."""
    rows = [
        ("ICD-O-3 topography", _code(record.topography, record.topography_display)),
        ("ICD-O-3 morphology", _morphology(record.morphology, record.morphology_display)),
        ("Laterality", record.get_laterality_display() if record.laterality else ""),
    ]
    return [(label, value) for label, value in rows if value]


def _coded_diagnoses(case: Case) -> dict:
    diagnoses = list(case.diagnoses.all())
    primary = next((d for d in diagnoses if d.role == DiagnosisRole.PRIMARY), None)
    primary_codes = []
    if primary is not None:
        icd10 = _code(primary.icd10_code, primary.icd10_display)
        primary_codes = [("ICD-10-CM", icd10)] if icd10 else []
        primary_codes += _icdo3(primary)
    return {
        "primary_codes": primary_codes,
        "comorbidity_codes": [
            _code(d.icd10_code, d.icd10_display)
            for d in diagnoses
            if d.role == DiagnosisRole.COMORBIDITY and d.icd10_code
        ],
    }


def _current_stage(case: Case, kind: str) -> str:
    """The stage group of the newest staging of this kind that has one."""
    groups = [s.stage_group for s in case.stagings.all() if s.kind == kind and s.stage_group]
    return groups[-1] if groups else ""


def _staging(staging, referral: date) -> dict:
    categories = " ".join(filter(None, (staging.category("t"), staging.category("n"), staging.category("m"))))
    group = f"stage {staging.stage_group}" if staging.stage_group else ""
    return {
        "kind": staging.get_kind_display(),
        "day": day_offset(staging.staged_on, referral),
        "summary": ", ".join(filter(None, (categories, group, tnm.EDITIONS.get(staging.edition, "")))),
    }


def _decision(n, decision, text, referral: date) -> dict:
    meeting_day = _date(decision.meeting.starts_at) if decision.meeting_id else None
    return {
        "number": n,
        "signed": decision.is_signed,
        "superseded": decision.superseded_at is not None,
        "day": day_offset(meeting_day, referral),
        "diagnosis": text(f"decision.{decision.pk}.consensus_diagnosis"),
        "plan": [
            {"label": item["label"], "detail": text(f"decision.{decision.pk}.plan.{i}")}
            for i, item in enumerate(decision.plan_items())
        ],
        "rationale": text(f"decision.{decision.pk}.rationale"),
        "dissent": text(f"decision.{decision.pk}.dissent"),
    }


# The preparer's and the reviewer's view -------------------------------------------------------------


def preview(teaching_set: TeachingSet, rows: dict[int, Case]) -> list[dict]:
    """Per case: every field with its original, the scrubber's suggestion, the text that will print (if
    included) and what the scrubber still finds in it; every key image and whether it is included."""
    out = []
    for teaching_case in teaching_set.cases.all():
        case = rows[teaching_case.case_id]
        known = known_about(case, teaching_case.other_identifiers)
        texts = {t.key: t for t in teaching_case.texts.all()}
        included_images = {i.key_image_id for i in teaching_case.images.all()}
        out.append(
            {
                "code": teaching_case.code,
                "case": case,
                "other_identifiers": teaching_case.other_identifiers,
                "fields": [_preview_field(f, texts.get(f.key), known) for f in fields_of(case)],
                "images": [
                    {
                        "key_image": image,
                        "included": image.pk in included_images,
                        "caption_key": f"key_image.{image.pk}.caption",
                    }
                    for image in key_images_of(case)
                ],
            }
        )
    return out


def _preview_field(field: Field, text, known) -> dict:
    return {
        "key": field.key,
        "label": field.label,
        "original": field.original,
        "suggested": scrub(field.original, known),
        "included": text is not None,
        "text": text.text if text is not None else "",
        "edited": bool(text and text.edited),
        "still_found": sorted({f.label for f in findings(text.text, known)}) if text is not None else [],
    }
