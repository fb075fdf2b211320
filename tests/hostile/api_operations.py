"""The API's operations: a valid body for each, the object its path names, and what goes in If-Match.

To add an operation: give its operationId (from the OpenAPI schema) an entry in API_OPS below: the role
that may call it, `body` (world -> a valid JSON body), `if_match` (world -> the object whose ETag it checks,
and whose pk is the {id} of the path) or else `id` (world -> that {id}). Field kinds come from the schema;
`kinds` overrides them. Reads need their resource in RESOURCE_OBJECTS. test_api_writes.py names what is missing.
"""

from dataclasses import dataclass, field

from cases import models as m
from tests.hostile import payloads as hc
from tests.hostile import records
from tests.hostile.records import TODAY
from tests.hostile.world import World


@dataclass
class ApiOp:
    role: str | None
    body: object = None  # world -> valid JSON body; None: the operation reads no body
    id: object = None  # world -> the {id} of the path (default: the pk of the `if_match` object)
    if_match: object = None  # world -> the object whose ETag goes in If-Match
    kinds: dict = field(default_factory=dict)  # overrides of the kinds read from the schema
    stores_text: bool = True
    multipart: bool = False


def referral_body() -> dict:
    return records.REFERRAL | {"performance_status": 1, "no_pathology_reason": ""}


def decision_body(w: World) -> dict:
    return records.DECISION | {
        "meeting": w.meeting.pk,
        "participants": [w.user("chair").pk],
        "plan": [{"category": "surveillance", "detail": "Every 3 months."}],
        "trial_considered": True,
        "trial_eligible": True,
        "trial_enrolled": False,
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
        body=lambda w: records.STAGING,
        id=lambda w: w.intake.pk,
        stores_text=False,  # T, N, M and the stage group follow the TNM grammar
    ),
    "v1_fhir_referrals_create": ApiOp("coordinator", body=referral_bundle, stores_text=False),
    "v1_auth_token_create": ApiOp(
        None, body=lambda w: {"username": "coordinator", "password": "wrong-password"}, stores_text=False
    ),
    "v1_auth_logout_create": ApiOp("coordinator"),
    "v1_auth_sign_out_everywhere_create": ApiOp("coordinator", stores_text=False),
    "v1_patients_create": ApiOp("coordinator", body=lambda w: {"board": w.board.pk, **records.PATIENT}),
    "v1_cases_create": ApiOp(
        "coordinator", body=lambda w: {"patient": w.patient.pk, "board": w.board.pk, **referral_body()}
    ),
    "v1_cases_partial_update": ApiOp("coordinator", body=lambda w: referral_body(), if_match=lambda w: w.intake),
    "v1_cases_transition_create": ApiOp(
        "coordinator", body=lambda w: {"to": "imaging", "note": "Referral complete."}, if_match=lambda w: w.intake
    ),
    "v1_imaging_studies_create": ApiOp("radiologist", body=lambda w: {"case": w.imaging.pk, **records.STUDY}),
    "v1_imaging_studies_key_images_create": ApiOp(
        "radiologist", body=lambda w: {"caption": "Axial"}, id=lambda w: w.study.pk, multipart=True
    ),
    "v1_pathology_reports_create": ApiOp(
        "pathologist",
        body=lambda w: {"case": w.pathology.pk, **records.PATHOLOGY, "icdo3_code": "", "status": "final"},
        kinds={"icdo3_code": hc.CHOICE},
    ),
    "v1_pathology_reports_partial_update": ApiOp(
        "pathologist",
        body=lambda w: records.PATHOLOGY,
        if_match=lambda w: w.prelim_report,
        kinds={"icdo3_code": hc.CHOICE},
    ),
    "v1_pathology_reports_amend_create": ApiOp(
        "pathologist",
        body=lambda w: records.PATHOLOGY | records.AMENDMENT,
        if_match=lambda w: w.final_report,
        kinds={"icdo3_code": hc.CHOICE},
    ),
    "v1_pathology_reports_sign_out_create": ApiOp("pathologist", if_match=lambda w: w.prelim_report),
    "v1_opinions_create": ApiOp("orthopaedic", body=lambda w: {"case": w.intake.pk, **records.OPINION}),
    "v1_opinions_confirm_create": ApiOp("radiologist", if_match=lambda w: w.opinion, stores_text=False),
    "v1_opinions_partial_update": ApiOp("radiologist", body=lambda w: records.OPINION, if_match=lambda w: w.opinion),
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
    "v1_meetings_reschedule_create": ApiOp(
        "coordinator",
        body=lambda w: {"starts_at": "2030-03-04T15:00:00+01:00", "location": "Room 2", "video_link": ""},
        id=lambda w: w.upcoming.pk,
    ),
    "v1_meetings_status_create": ApiOp(
        "coordinator",
        body=lambda w: {"status": "cancelled", "reason": "Chair unavailable.", "agenda": "release"},
        id=lambda w: w.meeting.pk,
    ),
    "v1_decisions_create": ApiOp("chair", body=lambda w: {"case": w.intake.pk, **decision_body(w)}),
    "v1_decisions_partial_update": ApiOp("chair", body=decision_body, if_match=lambda w: w.draft),
    "v1_decisions_sign_create": ApiOp("chair", if_match=lambda w: w.draft),
    "v1_decisions_correct_create": ApiOp(
        "chair", body=lambda w: {"reason": "Typo in the plan.", **decision_body(w)}, id=lambda w: w.signed.pk
    ),
    "v1_follow_ups_partial_update": ApiOp(
        "coordinator", body=lambda w: {"owner": w.user("chair").pk, "due_on": TODAY}, if_match=lambda w: w.follow_up
    ),
    "v1_follow_ups_complete_create": ApiOp("coordinator", if_match=lambda w: w.follow_up),
    "v1_follow_ups_deviate_create": ApiOp(
        "coordinator", body=lambda w: {"code": "other", "reason": "Patient's choice."}, if_match=lambda w: w.follow_up
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
        if_match=lambda w: w.teaching,
        kinds={"field": hc.CHOICE},
    ),
    "v1_teaching_sets_images_create": ApiOp(
        "radiologist",
        body=lambda w: {"key_image": w.key_image.pk, "included": True, "no_burned_in_identifiers": True},
        if_match=lambda w: w.teaching,
    ),
    "v1_teaching_sets_approve_create": ApiOp("chair", if_match=lambda w: w.teaching),
    "v1_follow_ups_apply_template_create": ApiOp(
        "coordinator",
        body=lambda w: {
            "case": w.signed_case.pk,
            "template": w.template.code,
            "start_on": TODAY,
            "owner": w.user("chair").pk,
        },
        kinds={"template": hc.CHOICE},
    ),
}


# Reads: the object each resource's {id} names. Query parameters DRF treats leniently: an ordering or
# page size naming nothing known falls back to the default (documented in docs/api.md).
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
