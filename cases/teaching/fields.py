"""Which free-text fields of a case a teaching copy may include, and what the scrubber knows of its patient.

A field is named by a key that says where its text lives: "case.7.history", "imaging.12.findings",
"decision.4.plan.0". The keys carry database ids: they stay on the server and never print.
Diagnoses and body sites are included by default (a teaching case needs them); everything else is
left out unless the preparer includes it. Either way the text that prints is a TeachingText a person
saw and the reviewer approved.
"""

from collections.abc import Iterator
from dataclasses import dataclass

from django.db.models import Prefetch, QuerySet

from ..models import Case, Decision, ImagingStudy, KeyImage, PathologyReport, TnmStaging
from .scrubber import Known, clinician_name


@dataclass(frozen=True)
class Field:
    key: str
    label: str
    original: str
    default: bool = False  # included when the set is created


def case_rows(queryset: QuerySet[Case]) -> QuerySet[Case]:
    """The cases with every row their fields and their teaching copy read, in a fixed number of queries."""
    return queryset.select_related("patient", "board").prefetch_related(
        Prefetch("imaging_studies", queryset=ImagingStudy.objects.prefetch_related("key_images")),
        Prefetch("pathology_reports", queryset=PathologyReport.objects.order_by("created_at", "id")),
        "opinions",
        Prefetch("decisions", queryset=Decision.objects.select_related("meeting")),
        "follow_ups",
    )


def with_codes(queryset: QuerySet[Case]) -> QuerySet[Case]:
    """The coded diagnoses and the TNM staging history too: what the printed copy shows beside the fields."""
    return queryset.prefetch_related(
        "diagnoses", Prefetch("stagings", queryset=TnmStaging.objects.order_by("created_at", "id"))
    )


def fields_of(case: Case) -> list[Field]:
    return list(_fields(case))


def _fields(case: Case) -> Iterator[Field]:
    yield Field(f"case.{case.pk}.clinical_question", "Clinical question", case.clinical_question)
    yield Field(f"case.{case.pk}.history", "History", case.history)
    yield Field(f"case.{case.pk}.comorbidities", "Comorbidities", case.patient.comorbidities)
    yield Field(f"case.{case.pk}.key_labs", "Key labs", case.key_labs)
    for n, study in enumerate(case.imaging_studies.all(), start=1):
        name = f"Imaging {n} ({study.modality})"
        yield Field(f"imaging.{study.pk}.body_site", f"{name}: body site", study.body_site, default=True)
        yield Field(f"imaging.{study.pk}.findings", f"{name}: findings", study.findings)
        yield Field(f"imaging.{study.pk}.impression", f"{name}: impression", study.impression)
        for m, image in enumerate(study.key_images.all(), start=1):
            yield Field(f"key_image.{image.pk}.caption", f"{name}: caption of image {m}", image.caption)
    for n, report in enumerate(case.pathology_reports.all(), start=1):
        name = f"Pathology report {n}"
        yield Field(f"pathology.{report.pk}.diagnosis", f"{name}: diagnosis", report.diagnosis, default=True)
        yield Field(f"pathology.{report.pk}.specimen", f"{name}: specimen", report.specimen)
        if report.amendment_reason:
            reason = report.amendment_reason
            yield Field(f"pathology.{report.pk}.amendment_reason", f"{name}: reason for amendment", reason)
    for opinion in case.opinions.all():
        name = opinion.get_specialty_display()
        yield Field(f"opinion.{opinion.pk}.assessment", f"{name}: assessment", opinion.assessment)
        yield Field(f"opinion.{opinion.pk}.recommendation", f"{name}: recommendation", opinion.recommendation)
    for n, decision in enumerate(case.decisions.all(), start=1):
        name = f"Decision {n}"
        yield Field(f"decision.{decision.pk}.consensus_diagnosis", f"{name}: consensus diagnosis",
                    decision.consensus_diagnosis, default=True)  # fmt: skip
        for i, item in enumerate(decision.plan_items()):
            yield Field(f"decision.{decision.pk}.plan.{i}", f"{name}: plan, {item['label']}", item["detail"])
        yield Field(f"decision.{decision.pk}.rationale", f"{name}: rationale", decision.rationale)
        yield Field(f"decision.{decision.pk}.dissent", f"{name}: dissent", decision.dissent)


def key_images_of(case: Case) -> list[KeyImage]:
    return [image for study in case.imaging_studies.all() for image in study.key_images.all()]


def known_about(case: Case, other_identifiers: str = "") -> Known:
    """Everything the system (and the preparer) knows that identifies the case's patient."""
    patient = case.patient
    extra = [line.strip() for line in other_identifiers.splitlines() if line.strip()]
    names = [patient.given_name, patient.family_name, clinician_name(case.referring_clinician)]
    numbers = [patient.mrn, *(s.accession_number for s in case.imaging_studies.all() if s.accession_number)]
    numbers += [line for line in extra if any(c.isdigit() for c in line)]
    phrases = [case.referring_email, *extra] if case.referring_email else extra
    return Known(
        names=tuple(n for n in [*names, *extra] if n),
        record_numbers=tuple(numbers),
        birth_date=patient.birth_date,
        phrases=tuple(phrases),
    )
