"""A case, or a meeting's decisions, as an HL7 FHIR R4 Bundle (mCODE STU4 profiles; docs/fhir.md).

Reads only: the rows come from selectors.case_fhir / meeting_fhir, so the number of queries is
fixed. Every resource id is derived from our primary keys (`pathology-12`), and every fullUrl from
the id (a name-based UUID), so the same case in the same state gives the same bytes: the API and
the PDF/A summary embed one and the same document.
"""

import json
import uuid
from datetime import date, datetime

from django.utils import timezone

from .. import codes
from ..codes import tnm
from ..models import (
    Case,
    Decision,
    DecisionStatus,
    DiagnosisRole,
    FollowUpStatus,
    Modality,
    PlanCategory,
    ReportStatus,
    StagingKind,
)

MCODE = "http://hl7.org/fhir/us/mcode/StructureDefinition/"
PROFILES = {
    "patient": MCODE + "mcode-cancer-patient",
    "primary": MCODE + "mcode-primary-cancer-condition",
    "stage_group": MCODE + "mcode-tnm-stage-group",
    "t": MCODE + "mcode-tnm-primary-tumor-category",
    "n": MCODE + "mcode-tnm-regional-nodes-category",
    "m": MCODE + "mcode-tnm-distant-metastases-category",
    "ecog": MCODE + "mcode-ecog-performance-status",
}
HISTOLOGY_EXTENSION = MCODE + "mcode-histology-morphology-behavior"
LATERALITY_EXTENSION = MCODE + "mcode-laterality-qualifier"

# Our own identifiers: URNs, so nothing here claims a hospital's namespace. docs/fhir.md says how to set them.
MRN_SYSTEM = "urn:tumorboard:mrn"
USER_SYSTEM = "urn:tumorboard:user"
CASE_SYSTEM = "urn:tumorboard:case"
LOCAL = "urn:tumorboard:codes:"
NAMESPACE = uuid.UUID("6f1d3c2e-8a51-4c39-9d3e-2b7f0c4a9e10")

V2_0203 = "http://terminology.hl7.org/CodeSystem/v2-0203"
V2_0074 = "http://terminology.hl7.org/CodeSystem/v2-0074"
CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
CONDITION_VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
CONDITION_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
DICOM = "http://dicom.nema.org/resources/ontology/DCM"
PROVENANCE_PARTICIPANT = "http://terminology.hl7.org/CodeSystem/provenance-participant-type"
PROVENANCE_ENTITY = "http://hl7.org/fhir/provenance-entity-role"  # the code system of ProvenanceEntityRole
DATA_OPERATION = "http://terminology.hl7.org/CodeSystem/v3-DataOperation"
SIGNATURE_TYPE = "urn:iso-astm:E1762-95:2013"

MULTIDISCIPLINARY_ASSESSMENT = {"system": codes.SNOMED, "code": "312384001", "display": "Multidisciplinary assessment"}

# LOINC codes of the TNM observations, by staging kind and element.
TNM_LOINC = {
    StagingKind.CLINICAL: {
        "stage_group": ("21908-9", "Stage group.clinical Cancer"),
        "t": ("21905-5", "Primary tumor.clinical [Class] Cancer"),
        "n": ("21906-3", "Regional lymph nodes.clinical [Class] Cancer"),
        "m": ("21907-1", "Distant metastases.clinical [Class] Cancer"),
    },
    StagingKind.PATHOLOGICAL: {
        "stage_group": ("21902-2", "Stage group.pathology Cancer"),
        "t": ("21899-0", "Primary tumor.pathology Cancer"),
        "n": ("21900-6", "Regional lymph nodes.pathology Cancer"),
        "m": ("21901-4", "Distant metastases.pathology Cancer"),
    },
}

DICOM_MODALITY = {
    Modality.XR: [("DX", "Digital Radiography")],
    Modality.CT: [("CT", "Computed Tomography")],
    Modality.MR: [("MR", "Magnetic Resonance")],
    Modality.PET: [("PT", "Positron emission tomography")],
    Modality.PET_CT: [("PT", "Positron emission tomography"), ("CT", "Computed Tomography")],
    Modality.US: [("US", "Ultrasound")],
    Modality.NM: [("NM", "Nuclear Medicine")],
}

# Follow-up status → CarePlan.activity.detail.status (docs/fhir.md): held after an amendment → on-hold;
# closed when the next decision was signed and the chair did not carry it over → cancelled.
ACTIVITY_STATUS = {
    FollowUpStatus.PLANNED: "scheduled",
    FollowUpStatus.DONE: "completed",
    FollowUpStatus.DEVIATED: "stopped",
    FollowUpStatus.SUSPENDED: "on-hold",
    FollowUpStatus.SUPERSEDED: "cancelled",
}
STATUS_REASON = {
    FollowUpStatus.SUSPENDED: "Suspended: the pathology the decision rests on was amended.",
    FollowUpStatus.SUPERSEDED: "Closed: the board signed a new decision and did not carry this item over.",
}
REPORT_STATUS = {ReportStatus.PRELIMINARY: "preliminary", ReportStatus.FINAL: "final", ReportStatus.AMENDED: "amended"}


# Plumbing -----------------------------------------------------------------------------------


def full_url(resource_type: str, resource_id: str) -> str:
    return f"urn:uuid:{uuid.uuid5(NAMESPACE, f'{resource_type}/{resource_id}')}"


def ref(resource_type: str, resource_id: str, display: str = "") -> dict:
    reference = {"reference": full_url(resource_type, resource_id)}
    if display:
        reference["display"] = display
    return reference


def instant(value: datetime) -> str:
    return timezone.localtime(value).isoformat(timespec="seconds")


def day(value: date) -> str:
    return value.isoformat()


def coding(system: str, code: str, display: str = "") -> dict:
    found = {"system": system, "code": code}
    if display:
        found["display"] = display
    return found


def concept(*codings: dict, text: str = "") -> dict:
    found = {}
    if codings:
        found["coding"] = list(codings)
    if text:
        found["text"] = text
    return found


def local(kind: str, code: str, display: str = "") -> dict:
    return coding(LOCAL + kind, code, display)


class Entries:
    """The Bundle's entries, each resource once, in the order first added."""

    def __init__(self):
        self.resources: dict[str, dict] = {}

    def add(self, resource: dict) -> dict:
        key = full_url(resource["resourceType"], resource["id"])
        self.resources.setdefault(key, resource)
        return resource

    def bundle(self, *, bundle_id: str, identifier: str, timestamp: datetime) -> dict:
        return {
            "resourceType": "Bundle",
            "id": bundle_id,
            "meta": {"lastUpdated": instant(timestamp)},
            "identifier": {"system": CASE_SYSTEM, "value": identifier},
            "type": "collection",
            "timestamp": instant(timestamp),
            "entry": [{"fullUrl": key, "resource": resource} for key, resource in self.resources.items()],
        }


def to_bytes(bundle: dict) -> bytes:
    """The one serialisation the API answers and the PDF/A embeds."""
    return json.dumps(bundle, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


# People -------------------------------------------------------------------------------------


def _human_name(user) -> dict:
    name = {"text": user.get_full_name() or user.get_username()}
    if user.last_name:
        name["family"] = user.last_name
    if user.first_name:
        name["given"] = [user.first_name]
    return name


def practitioner(entries: Entries, user, memberships: dict) -> dict:
    """A Practitioner for the user, and a PractitionerRole for their place on the board."""
    resource_id = f"practitioner-{user.pk}"
    entries.add(
        {
            "resourceType": "Practitioner",
            "id": resource_id,
            "identifier": [{"system": USER_SYSTEM, "value": user.get_username()}],
            "active": user.is_active,
            "name": [_human_name(user)],
        }
    )
    membership = memberships.get(user.pk)
    if membership is not None:
        role = {
            "resourceType": "PractitionerRole",
            "id": f"role-{membership.pk}",
            "active": True,
            "practitioner": ref("Practitioner", resource_id),
            "organization": ref("Organization", f"board-{membership.board_id}"),
            "code": [concept(local("role", membership.role, membership.get_role_display()))],
        }
        if membership.specialty:
            role["specialty"] = [concept(local("specialty", membership.specialty, membership.get_specialty_display()))]
        entries.add(role)
    return ref("Practitioner", resource_id, user.get_full_name() or user.get_username())


def organization(entries: Entries, board) -> dict:
    entries.add(
        {
            "resourceType": "Organization",
            "id": f"board-{board.pk}",
            "active": board.is_active,
            "type": [concept(local("organization", "tumor-board", "Multidisciplinary tumor board"))],
            "name": board.name,
        }
    )
    return ref("Organization", f"board-{board.pk}", board.name)


# Patient and diagnoses ----------------------------------------------------------------------


def patient(entries: Entries, case: Case) -> dict:
    who = case.patient
    entries.add(
        {
            "resourceType": "Patient",
            "id": f"patient-{who.pk}",
            "meta": {"profile": [PROFILES["patient"]]},
            "identifier": [
                {
                    "use": "usual",
                    "type": concept(coding(V2_0203, "MR", "Medical record number")),
                    "system": MRN_SYSTEM,
                    "value": who.mrn,
                }
            ],
            "name": [{"use": "official", "family": who.family_name, "given": [who.given_name]}],
            "gender": who.sex,
            "birthDate": day(who.birth_date),
        }
    )
    return ref("Patient", f"patient-{who.pk}", who.full_name)


def _icd10(diagnosis) -> dict:
    return coding(codes.ICD10CM, diagnosis.icd10_code, diagnosis.icd10_display)


def _body_site(code: str, display: str, laterality: str) -> dict:
    site = concept(coding(codes.ICDO3, code, display))
    if laterality:
        side = codes.laterality(laterality)
        site["extension"] = [
            {"url": LATERALITY_EXTENSION, "valueCodeableConcept": concept(coding(side.system, side.code, side.display))}
        ]
    return site


def primary_condition(entries: Entries, case: Case, subject: dict, diagnosis, stage_refs: list[dict]) -> dict:
    resource = {
        "resourceType": "Condition",
        "id": f"condition-{diagnosis.pk}",
        "meta": {"profile": [PROFILES["primary"]]},
        "clinicalStatus": concept(coding(CONDITION_CLINICAL, "active", "Active")),
        "verificationStatus": concept(coding(CONDITION_VERIFICATION, "confirmed", "Confirmed")),
        "category": [concept(coding(CONDITION_CATEGORY, "problem-list-item", "Problem List Item"))],
        "code": concept(
            *([_icd10(diagnosis)] if diagnosis.icd10_code else []), text=diagnosis.text or diagnosis.icd10_display
        ),
        "subject": subject,
        "recordedDate": instant(diagnosis.updated_at),
    }
    if diagnosis.morphology:
        histology = concept(coding(codes.ICDO3, diagnosis.morphology, diagnosis.morphology_display))
        resource["extension"] = [{"url": HISTOLOGY_EXTENSION, "valueCodeableConcept": histology}]
    if diagnosis.topography:
        resource["bodySite"] = [_body_site(diagnosis.topography, diagnosis.topography_display, diagnosis.laterality)]
    if diagnosis.diagnosed_on:
        resource["onsetDateTime"] = day(diagnosis.diagnosed_on)
    if stage_refs:
        resource["stage"] = [{"assessment": stage_refs}]
    entries.add(resource)
    return ref("Condition", resource["id"])


def comorbidity(entries: Entries, subject: dict, diagnosis) -> dict:
    resource = {
        "resourceType": "Condition",
        "id": f"condition-{diagnosis.pk}",
        "clinicalStatus": concept(coding(CONDITION_CLINICAL, "active", "Active")),
        "verificationStatus": concept(coding(CONDITION_VERIFICATION, "confirmed", "Confirmed")),
        "category": [concept(coding(CONDITION_CATEGORY, "problem-list-item", "Problem List Item"))],
        "code": concept(_icd10(diagnosis), text=diagnosis.text or diagnosis.icd10_display),
        "subject": subject,
        "recordedDate": instant(diagnosis.created_at),
    }
    if diagnosis.diagnosed_on:
        resource["onsetDateTime"] = day(diagnosis.diagnosed_on)
    entries.add(resource)
    return ref("Condition", resource["id"])


# Staging and performance status -------------------------------------------------------------


def _category_value(staging, element: str) -> dict:
    text = staging.category(element) if element != "stage_group" else staging.stage_group
    if staging.edition.startswith("ajcc"):
        return concept(coding(codes.AJCC, text), text=text)
    return concept(text=text)  # UICC publishes no code system: the category as text


def staging_observations(entries: Entries, staging, subject: dict, focus: dict | None, performer: dict) -> list[dict]:
    """The stage group Observation with its T, N and M category Observations as members."""
    loinc, members = TNM_LOINC[staging.kind], []
    base = {
        "resourceType": "Observation",
        "status": "final",
        "category": [concept(coding(OBSERVATION_CATEGORY, "exam", "Exam"))],
        "subject": subject,
        "effectiveDateTime": day(staging.staged_on),
        "performer": [performer],
        "method": concept(
            local("staging-edition", staging.edition, tnm.EDITIONS[staging.edition]), text=tnm.EDITIONS[staging.edition]
        ),
    }
    if focus:
        base["focus"] = [focus]
    for element in ("t", "n", "m"):
        if getattr(staging, element):
            resource_id = f"tnm-{staging.pk}-{element}"
            code, display = loinc[element]
            entries.add(
                {
                    **base,
                    "id": resource_id,
                    "meta": {"profile": [PROFILES[element]]},
                    "code": concept(coding(codes.LOINC, code, display)),
                    "valueCodeableConcept": _category_value(staging, element),
                }
            )
            members.append(ref("Observation", resource_id))
    refs = list(members)
    if staging.stage_group or members:
        code, display = loinc["stage_group"]
        group = {
            **base,
            "id": f"tnm-{staging.pk}-group",
            "meta": {"profile": [PROFILES["stage_group"]]},
            "code": concept(coding(codes.LOINC, code, display)),
        }
        if staging.stage_group:
            group["valueCodeableConcept"] = _category_value(staging, "stage_group")
        else:
            group["dataAbsentReason"] = concept(
                coding("http://terminology.hl7.org/CodeSystem/data-absent-reason", "not-asked", "Not Asked")
            )
        if members:
            group["hasMember"] = members
        entries.add(group)
        refs.insert(0, ref("Observation", group["id"]))
    return refs


def ecog(entries: Entries, case: Case, subject: dict) -> None:
    if case.performance_status is None:
        return
    score = case.performance_status
    entries.add(
        {
            "resourceType": "Observation",
            "id": f"ecog-case-{case.pk}",
            "meta": {"profile": [PROFILES["ecog"]]},
            "status": "final",
            "category": [concept(coding(OBSERVATION_CATEGORY, "survey", "Survey"))],
            "code": concept(coding(codes.LOINC, "89247-1", "ECOG Performance Status score")),
            "subject": subject,
            "effectiveDateTime": instant(case.updated_at),
            "valueInteger": score,
            "interpretation": [
                concept(coding(codes.LOINC, codes.ECOG_ANSWERS[score], case.get_performance_status_display()))
            ],
        }
    )


# Pathology and imaging ----------------------------------------------------------------------


def pathology_reports(entries: Entries, case: Case, subject: dict, people) -> None:
    """One DiagnosticReport per report; an amendment's Provenance names the report it revises."""
    reports = list(case.pathology_reports.all())
    successor = {r.supersedes_id: r for r in reports if r.supersedes_id}
    for report in reports:
        resource = {
            "resourceType": "DiagnosticReport",
            "id": f"pathology-{report.pk}",
            "status": REPORT_STATUS[report.status],
            "category": [concept(coding(V2_0074, "SP", "Surgical Pathology"))],
            "code": concept(
                coding(codes.LOINC, "11526-1", "Pathology study"), text=f"{report.procedure}: {report.specimen}"
            ),
            "subject": subject,
            "effectiveDateTime": day(report.collected_on),
            "performer": [people(report.pathologist)],
            "conclusion": report.diagnosis,
        }
        if report.signed_out_at:
            resource["issued"] = instant(report.signed_out_at)
        conclusion = []
        if report.morphology:
            conclusion.append(coding(codes.ICDO3, report.morphology, report.morphology_display))
        if report.topography:
            conclusion.append(coding(codes.ICDO3, report.topography, report.topography_display))
        if conclusion:
            resource["conclusionCode"] = [concept(c) for c in conclusion]
        if report.pk in successor:
            # Still the record of what was reported then: kept, tagged, and linked from its successor.
            resource["meta"] = superseded_meta("report")
        entries.add(resource)
        if report.supersedes_id:
            entries.add(
                revision_provenance(
                    f"amendment-{report.pk}",
                    amended=f"pathology-{report.pk}",
                    replaced=f"pathology-{report.supersedes_id}",
                    recorded=report.signed_out_at or report.created_at,
                    reason=concept(local("amendment-discrepancy", report.discrepancy), text=report.amendment_reason),
                    author=people(report.pathologist),
                )
            )


def superseded_meta(what: str) -> dict:
    return {"tag": [local("record-state", "superseded", f"Superseded by an amended {what}")]}


def revision_provenance(
    provenance_id: str, *, amended: str, replaced: str, recorded, reason: dict, author: dict
) -> dict:
    """The Provenance of an amendment: its DiagnosticReport (`amended`) is a revision of the one it replaces.
    R4's DiagnosticReport has no "replaces" element; this is FHIR's own way to say it (docs/fhir.md)."""
    return {
        "resourceType": "Provenance",
        "id": provenance_id,
        "target": [ref("DiagnosticReport", amended)],
        "recorded": instant(recorded),
        "activity": concept(coding(DATA_OPERATION, "UPDATE", "revise")),
        "reason": [reason],
        "agent": [{"type": concept(coding(PROVENANCE_PARTICIPANT, "author", "Author")), "who": author}],
        "entity": [{"role": "revision", "what": ref("DiagnosticReport", replaced)}],
    }


def imaging_studies(entries: Entries, case: Case, subject: dict, people) -> None:
    studies = list(case.imaging_studies.all())
    replaced = {study.supersedes_id for study in studies if study.supersedes_id}
    for study in studies:
        study_id = f"imaging-{study.pk}"
        resource = {
            "resourceType": "ImagingStudy",
            "id": study_id,
            "status": "available",
            "modality": [coding(DICOM, code, display) for code, display in DICOM_MODALITY[study.modality]],
            "subject": subject,
            "started": day(study.performed_on),
            "interpreter": [people(study.radiologist)],
            "description": f"{study.get_modality_display()}, {study.body_site}",
        }
        if study.accession_number:
            resource["identifier"] = [
                {"type": concept(coding(V2_0203, "ACSN", "Accession ID")), "value": study.accession_number}
            ]
        entries.add(resource)
        report = {
            "resourceType": "DiagnosticReport",
            "id": f"imaging-report-{study.pk}",
            "status": "final",
            "category": [concept(coding(V2_0074, "RAD", "Radiology"))],
            "code": concept(coding(codes.LOINC, "18748-4", "Diagnostic imaging study"), text=resource["description"]),
            "subject": subject,
            "effectiveDateTime": day(study.performed_on),
            "performer": [people(study.radiologist)],
            "imagingStudy": [ref("ImagingStudy", study_id)],
        }
        if study.accession_number:
            report["identifier"] = resource["identifier"]
        if study.impression or study.findings:
            report["conclusion"] = study.impression or study.findings
        if study.supersedes_id:
            report["status"] = "amended"
        if study.pk in replaced:
            # As pathology: the study as first reported stays, tagged, and its amendment links back to it.
            resource["meta"], report["meta"] = superseded_meta("study"), superseded_meta("study")
        entries.add(report)
        if study.supersedes_id:
            entries.add(
                revision_provenance(
                    f"imaging-amendment-{study.pk}",
                    amended=f"imaging-report-{study.pk}",
                    replaced=f"imaging-report-{study.supersedes_id}",
                    recorded=study.created_at,
                    reason=concept(text=study.amendment_reason),
                    author=people(study.radiologist),
                )
            )


# The board's review -------------------------------------------------------------------------


def _plan_status(decision: Decision) -> str:
    if decision.superseded_at:
        return "revoked"
    if decision.status != DecisionStatus.SIGNED:
        return "draft"
    # Signed, but the pathology it rests on was amended: held until the board decides again.
    return "on-hold" if decision.stale_since else "active"


def _in_force(decision: Decision) -> bool:
    return decision.status == DecisionStatus.SIGNED and decision.superseded_at is None


def _follow_ups_of(case: Case, decision: Decision) -> tuple[list, list]:
    """(the decision's own follow-ups, the surveillance visits a schedule template generated before any decision).

    Those visits are made by no decision; they belong to the case's plan in force, so they are activities of the
    signed decision not superseded, and of no other CarePlan. A schedule applied after signing is the decision's own.
    """
    own = [f for f in case.follow_ups.all() if f.decision_id == decision.pk]
    visits = [f for f in case.follow_ups.all() if f.decision_id is None] if _in_force(decision) else []
    return own, visits


def _activity(category: str, detail: str, follow_up) -> dict:
    label = PlanCategory(category).label if category in PlanCategory.values else category
    body = {
        "kind": "ServiceRequest",
        "code": concept(local("plan-category", category, label), text=label),
        "status": ACTIVITY_STATUS.get(follow_up.status, "unknown") if follow_up else "not-started",
        "description": detail or label,
    }
    if follow_up is not None:
        body["scheduledString"] = f"due {day(follow_up.due_on)}"
        if follow_up.status == FollowUpStatus.DEVIATED:
            body["statusReason"] = concept(text=follow_up.deviation_reason)
        elif follow_up.status in STATUS_REASON:
            body["statusReason"] = concept(text=STATUS_REASON[follow_up.status])
    return {"detail": body}


def care_plan(entries: Entries, case: Case, decision: Decision, subject: dict, addresses: dict | None, people) -> None:
    """The board's review as a CarePlan (MII tumor-conference pattern), its activities following the follow-ups."""
    follow_ups, visits = _follow_ups_of(case, decision)
    activities, used = [], set()
    for item in decision.plan or []:
        match = next((f for f in follow_ups if f.category == item["category"] and f.pk not in used), None)
        if match is not None:
            used.add(match.pk)
        activities.append(_activity(item["category"], item.get("detail", ""), match))
    for follow_up in [*follow_ups, *visits]:
        if follow_up.pk not in used:
            activities.append(_activity(follow_up.category or "surveillance", follow_up.description, follow_up))
    notes = [{"text": f"Rationale: {decision.rationale}"}] if decision.rationale else []
    notes.append({"text": f"Dissent: {decision.dissent}" if decision.dissent else "Dissent: none recorded."})
    resource = {
        "resourceType": "CarePlan",
        "id": f"careplan-{decision.pk}",
        "status": _plan_status(decision),
        "intent": "plan",
        "category": [concept(MULTIDISCIPLINARY_ASSESSMENT)],
        "title": f"{case.board.name}: board decision",
        "description": decision.consensus_diagnosis,
        "subject": subject,
        "created": instant(decision.signed_at or decision.created_at),
        "author": people(decision.signed_by or decision.recorded_by),
        # Sorted: a many-to-many comes back in no fixed order (PostgreSQL), and the bytes must not change.
        "contributor": [people(user) for user in sorted(decision.participants.all(), key=lambda user: user.pk)],
        "activity": activities,
        "note": notes,
    }
    if not resource["contributor"]:
        del resource["contributor"]
    if addresses:
        resource["addresses"] = [addresses]
    if decision.supersedes_id:
        resource["replaces"] = [ref("CarePlan", f"careplan-{decision.supersedes_id}")]
    entries.add(resource)
    if decision.status == DecisionStatus.SIGNED:
        signature_provenance(entries, decision, people)


def signature_provenance(entries: Entries, decision: Decision, people) -> None:
    chair = people(decision.signed_by)
    entries.add(
        {
            "resourceType": "Provenance",
            "id": f"signature-{decision.pk}",
            "target": [ref("CarePlan", f"careplan-{decision.pk}")],
            "recorded": instant(decision.signed_at),
            "agent": [{"type": concept(coding(PROVENANCE_PARTICIPANT, "attester", "Attester")), "who": chair}],
            "signature": [
                {
                    "type": [coding(SIGNATURE_TYPE, "1.2.840.10065.1.12.1.5", "Verification Signature")],
                    "when": instant(decision.signed_at),
                    "who": chair,
                }
            ],
        }
    )


# Bundles ------------------------------------------------------------------------------------


def _people(entries: Entries, memberships):
    by_user = {m.user_id: m for m in memberships}

    def people(user) -> dict:
        return practitioner(entries, user, by_user)

    return people


def add_case(entries: Entries, case: Case, memberships, *, review_only: bool = False) -> tuple:
    organization(entries, case.board)
    people = _people(entries, memberships)
    subject = patient(entries, case)
    diagnoses = list(case.diagnoses.all())
    primary = next((d for d in diagnoses if d.role == DiagnosisRole.PRIMARY), None)
    primary_ref = ref("Condition", f"condition-{primary.pk}") if primary else None
    stage_refs = []
    for staging in case.stagings.all():
        refs = staging_observations(entries, staging, subject, primary_ref, people(staging.recorded_by))
        stage_refs = refs[:1] or stage_refs  # the newest staging's group is the condition's summary
    if primary:
        primary_condition(entries, case, subject, primary, stage_refs)
    if not review_only:
        for diagnosis in diagnoses:
            if diagnosis.role == DiagnosisRole.COMORBIDITY:
                comorbidity(entries, subject, diagnosis)
        ecog(entries, case, subject)
        pathology_reports(entries, case, subject, people)
        imaging_studies(entries, case, subject, people)
    return subject, primary_ref, people


def case_bundle(case: Case) -> dict:
    """The case as a FHIR collection Bundle; the same case in the same state gives the same Bundle."""
    entries = Entries()
    _subject, primary_ref, people = add_case(entries, case, case.board.memberships.all())
    for decision in case.decisions.all():
        care_plan(entries, case, decision, _subject, primary_ref, people)
    return entries.bundle(bundle_id=f"case-{case.pk}", identifier=f"case-{case.pk}", timestamp=case.updated_at)


def meeting_bundle(meeting, cases: list[Case]) -> dict:
    """A meeting's decisions: for each, the patient, the diagnosis and staging it addressed, the CarePlan."""
    entries = Entries()
    organization(entries, meeting.board)
    latest = meeting.created_at
    for case in cases:
        subject, primary_ref, people = add_case(entries, case, case.fhir_memberships, review_only=True)
        for decision in case.decisions.all():
            if decision.meeting_id == meeting.pk:
                care_plan(entries, case, decision, subject, primary_ref, people)
                latest = max(latest, decision.updated_at)
    return entries.bundle(bundle_id=f"meeting-{meeting.pk}", identifier=f"meeting-{meeting.pk}", timestamp=latest)
