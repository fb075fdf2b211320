"""Every step's form: it works for the role allowed to use it, is refused (on the server) to the others,
shows its errors beside the fields, and a refused form changes nothing."""

import pytest
from django.urls import reverse
from django.utils import timezone

from cases import models as m
from cases.services import decisions
from tests import factories as f

COUNTED = [
    m.Patient,
    m.Case,
    m.ImagingStudy,
    m.KeyImage,
    m.PathologyReport,
    m.Opinion,
    m.Decision,
    m.FollowUp,
    m.CaseEvent,
    m.AgendaItem,
    m.Attendance,
]


def state(case=None) -> dict:
    """Row counts of everything a form could write, and the case's stage and version."""
    snapshot = {model.__name__: model.objects.count() for model in COUNTED}
    # Sign-ins and refused probes are audited too; what matters here is that no data change was.
    snapshot["AuditEvent"] = (
        m.AuditEvent.objects.exclude(action__startswith="auth.").exclude(action__startswith="access.").count()
    )
    if case is not None:
        case.refresh_from_db()
        snapshot["case"] = (case.stage, case.version)
    return snapshot


def field_errors(response, field: str) -> list[str]:
    return list(response.context["form"].errors.get(field, []))


def form_errors(response) -> list[str]:
    return list(response.context["form"].non_field_errors())


def assert_error_beside(response, field: str, text: str) -> None:
    """The error is on the field and rendered right after its label, tied to the input by aria-describedby."""
    assert response.status_code == 400
    assert any(text in error for error in field_errors(response, field)), field_errors(response, field)
    html = response.content.decode()
    assert f'id="id_{field}_error"' in html
    assert (
        f'aria-describedby="id_{field}_error"' in html
        or f'aria-describedby="id_{field}_helptext id_{field}_error"' in html
    )


# Patients and cases ------------------------------------------------------------------------------


def patient_data(board, **overrides):
    return {
        "board": board.pk,
        "mrn": "WEB-0001",
        "given_name": "Ada",
        "family_name": "Quist",
        "birth_date": "1990-04-01",
        "sex": "female",
        "comorbidities": "On dialysis.",
        **overrides,
    }


def test_a_coordinator_registers_a_patient_then_the_case(signed_in, coordinator, board):
    client = signed_in(coordinator)
    response = client.post(reverse("patient-new"), patient_data(board))
    patient = m.Patient.objects.get(mrn="WEB-0001")
    assert response["Location"] == reverse("case-new", args=[patient.pk])
    response = client.post(
        reverse("case-new", args=[patient.pk]),
        {
            "board": board.pk,
            "referring_clinician": "Dr. Lund",
            "referring_email": "lund@example.org",
            "clinical_question": "Relapse?",
            "history": "Osteosarcoma 12 years ago.",
            "key_labs": "Calcium high.",
            "performance_status": "1",
            "priority": "urgent",
        },
    )
    case = m.Case.objects.get(patient=patient)
    assert response["Location"] == reverse("case-detail", args=[case.pk])
    assert (case.priority, case.performance_status, case.created_by) == ("urgent", 1, coordinator)
    assert case.is_referral_complete


def test_a_duplicate_record_number_is_refused_beside_its_field_and_nothing_is_saved(
    signed_in, coordinator, board, case
):
    before = state()
    response = signed_in(coordinator).post(reverse("patient-new"), patient_data(board, mrn=case.patient.mrn))
    assert_error_beside(response, "mrn", "is already registered")
    assert state() == before


def test_a_missing_birth_date_is_shown_beside_its_field(signed_in, coordinator, board):
    response = signed_in(coordinator).post(reverse("patient-new"), patient_data(board, birth_date=""))
    assert_error_beside(response, "birth_date", "This field is required.")
    assert "Nothing was saved" in response.content.decode()


@pytest.mark.parametrize("url_name", ["patient-new"])
def test_only_a_coordinator_is_offered_patient_registration_and_the_server_enforces_it(
    signed_in, radiologist, board, url_name
):
    client = signed_in(radiologist)
    assert b"Register a patient" not in client.get(reverse("dashboard")).content
    assert client.get(reverse(url_name)).status_code == 403
    before = state()
    assert client.post(reverse(url_name), patient_data(board)).status_code == 403
    assert state() == before


def test_a_coordinator_of_another_board_cannot_register_a_case_on_this_one(signed_in, outsider, case, board):
    # The patient is not visible to a member of another board: not found, and nothing is created.
    response = signed_in(outsider).post(
        reverse("case-new", args=[case.patient_id]), {"board": board.pk, "priority": "routine"}
    )
    assert response.status_code == 404


def test_a_stale_referral_edit_is_refused_and_the_newer_one_kept(signed_in, coordinator, case):
    data = {"version": case.version, "clinical_question": "Mine", "priority": "routine"}
    m.Case.objects.filter(pk=case.pk).update(version=case.version + 1, clinical_question="Theirs")
    before = state(case)
    response = signed_in(coordinator).post(reverse("referral-edit", args=[case.pk]), data)
    assert any("saved by someone else, or by you in another tab" in e for e in form_errors(response))
    assert state(case) == before
    case.refresh_from_db()
    assert case.clinical_question == "Theirs"


def test_a_coordinator_completes_an_incomplete_referral(signed_in, coordinator, case):
    m.Case.objects.filter(pk=case.pk).update(history="")
    case.refresh_from_db()
    response = signed_in(coordinator).post(
        reverse("referral-edit", args=[case.pk]),
        {
            "version": case.version,
            "referring_clinician": case.referring_clinician,
            "clinical_question": case.clinical_question,
            "history": "Now complete.",
            "priority": "routine",
        },
    )
    assert response.status_code == 302
    case.refresh_from_db()
    assert (case.history, case.is_referral_complete) == ("Now complete.", True)


# Imaging and key images --------------------------------------------------------------------------


def study_data(**overrides):
    return {
        "modality": "XR",
        "body_site": "Left femur",
        "performed_on": "2026-01-10",
        "findings": "Lobulated calcification.",
        "impression": "Calcinosis or relapse.",
        **overrides,
    }


def test_a_radiologist_adds_a_study_with_a_key_image(signed_in, radiologist, make_case):
    case = make_case("imaging")
    response = signed_in(radiologist).post(
        reverse("imaging-new", args=[case.pk]),
        study_data(image_1=f.png_upload(), caption_1="Proximal femur"),
    )
    assert response.status_code == 302
    study = case.imaging_studies.latest("id")
    image = study.key_images.get()
    assert (image.caption, image.width, image.height) == ("Proximal femur", 40, 30)


@pytest.mark.parametrize(
    ("upload", "message"),
    [
        (lambda: f.SimpleUploadedFile("notes.png", b"not an image at all", content_type="image/png"), "not an image"),
        (lambda: f.SimpleUploadedFile("report.pdf", b"%PDF-1.4 fake", content_type="application/pdf"), "not an image"),
        (lambda: f.SimpleUploadedFile("empty.png", b"", content_type="image/png"), "empty"),
    ],
)
def test_an_upload_that_is_not_an_image_is_refused_with_a_message_and_nothing_saved(
    signed_in, radiologist, make_case, upload, message
):
    case = make_case("imaging")
    before = state(case)
    response = signed_in(radiologist).post(
        reverse("imaging-new", args=[case.pk]), study_data(image_1=upload(), caption_1="Caption")
    )
    assert response.status_code == 400
    assert any(message in e for e in field_errors(response, "image_1")), field_errors(response, "image_1")
    assert state(case) == before


def test_an_image_over_the_size_limit_is_refused(signed_in, radiologist, make_case, settings):
    settings.KEY_IMAGE_MAX_BYTES = 50
    case = make_case("imaging")
    before = state(case)
    response = signed_in(radiologist).post(
        reverse("imaging-new", args=[case.pk]), study_data(image_1=f.png_upload(size=(400, 400)), caption_1="Big")
    )
    assert any("larger than" in e for e in field_errors(response, "image_1"))
    assert state(case) == before


def test_a_key_image_needs_a_caption(signed_in, radiologist, make_case):
    case = make_case("imaging")
    response = signed_in(radiologist).post(reverse("imaging-new", args=[case.pk]), study_data(image_1=f.png_upload()))
    assert_error_beside(response, "caption_1", "Give the key image a caption.")


def test_only_imaging_specialists_are_offered_imaging_and_the_server_enforces_it(
    signed_in, pathologist, radiologist, make_case
):
    case = make_case("imaging")
    url = reverse("imaging-new", args=[case.pk])
    assert url in signed_in(radiologist).get(reverse("case-detail", args=[case.pk])).content.decode()
    client = signed_in(pathologist)
    assert url not in client.get(reverse("case-detail", args=[case.pk])).content.decode()
    before = state(case)
    assert client.post(url, study_data()).status_code == 403
    assert state(case) == before


# Pathology ---------------------------------------------------------------------------------------


def report_data(**overrides):
    return {
        "specimen": "Soft-tissue mass",
        "procedure": "Excision biopsy",
        "collected_on": "2026-01-12",
        "diagnosis": "Residual osteosarcoma.",
        "status": "final",
        **overrides,
    }


def test_a_pathologist_adds_then_amends_a_report_and_the_case_goes_to_revised_pathology(signed_in, pathologist, board):
    case = f.CaseFactory(board=board, stage="pathology")
    client = signed_in(pathologist)
    assert client.post(reverse("pathology-new", args=[case.pk]), report_data()).status_code == 302
    report = case.pathology_reports.get()
    response = client.post(
        reverse("pathology-amend", args=[report.pk]),
        {
            "version": report.version,
            "diagnosis": "Tumoral calcinosis.",
            "amendment_reason": "Re-read.",
            "discrepancy": "major",
        },
    )
    assert response.status_code == 302
    amended = case.pathology_reports.get(status="amended")
    assert (amended.supersedes, amended.diagnosis) == (report, "Tumoral calcinosis.")
    case.refresh_from_db()
    assert case.stage == "revised_pathology"


def test_an_amendment_without_reason_or_discrepancy_class_is_refused_beside_the_fields(
    signed_in, pathologist, make_case
):
    case = make_case("pathology")
    report = case.pathology_reports.get()
    before = state(case)
    response = signed_in(pathologist).post(
        reverse("pathology-amend", args=[report.pk]), {"version": report.version, "diagnosis": "Changed."}
    )
    assert_error_beside(response, "amendment_reason", "This field is required.")
    assert field_errors(response, "discrepancy") == ["This field is required."]
    assert state(case) == before


def test_amending_a_superseded_report_is_refused_with_the_reason(signed_in, pathologist, make_case):
    case = make_case("pathology")
    report = case.pathology_reports.get()
    data = {"version": report.version, "diagnosis": "X.", "amendment_reason": "R.", "discrepancy": "minor"}
    client = signed_in(pathologist)
    client.post(reverse("pathology-amend", args=[report.pk]), data)
    before = state(case)
    response = client.post(reverse("pathology-amend", args=[report.pk]), data)
    assert any("already been amended" in e for e in form_errors(response))
    assert state(case) == before


def test_a_preliminary_report_is_signed_out_from_the_case_page(signed_in, pathologist, board):
    case = f.CaseFactory(board=board, stage="pathology")
    report = f.PathologyReportFactory(case=case, status="preliminary", signed_out_at=None)
    client = signed_in(pathologist)
    assert (
        reverse("pathology-sign-out", args=[report.pk])
        in client.get(reverse("case-detail", args=[case.pk])).content.decode()
    )
    client.post(reverse("pathology-sign-out", args=[report.pk]), {"version": report.version})
    report.refresh_from_db()
    assert report.status == "final"


def test_only_a_pathologist_may_amend(signed_in, radiologist, make_case):
    case = make_case("pathology")
    report = case.pathology_reports.get()
    client = signed_in(radiologist)
    assert (
        reverse("pathology-amend", args=[report.pk])
        not in client.get(reverse("case-detail", args=[case.pk])).content.decode()
    )
    before = state(case)
    response = client.post(
        reverse("pathology-amend", args=[report.pk]),
        {"version": report.version, "diagnosis": "X.", "amendment_reason": "R.", "discrepancy": "minor"},
    )
    assert response.status_code == 403
    assert state(case) == before


# Specialty input ---------------------------------------------------------------------------------


def test_a_specialist_records_then_edits_their_input(signed_in, orthopaedic, board):
    case = f.CaseFactory(board=board, stage="pathology")
    client = signed_in(orthopaedic)
    url = reverse("opinion-edit", args=[case.pk])
    assert client.post(url, {"assessment": "Hardware loosening.", "recommendation": "Revise."}).status_code == 302
    opinion = case.opinions.get()
    assert (opinion.specialty, opinion.author) == ("orthopaedic_oncology", orthopaedic)
    assert "Hardware loosening." in client.get(url).content.decode()
    client.post(url, {"assessment": "Hardware loosening, revised.", "version": opinion.version})
    opinion.refresh_from_db()
    assert (opinion.assessment, opinion.version) == ("Hardware loosening, revised.", 2)


def test_input_needs_an_assessment(signed_in, orthopaedic, board):
    case = f.CaseFactory(board=board, stage="pathology")
    before = state(case)
    response = signed_in(orthopaedic).post(reverse("opinion-edit", args=[case.pk]), {"assessment": ""})
    assert_error_beside(response, "assessment", "This field is required.")
    assert state(case) == before


def test_a_coordinator_has_no_specialty_and_is_not_offered_input(signed_in, coordinator, case):
    client = signed_in(coordinator)
    assert (
        reverse("opinion-edit", args=[case.pk])
        not in client.get(reverse("case-detail", args=[case.pk])).content.decode()
    )
    assert client.post(reverse("opinion-edit", args=[case.pk]), {"assessment": "x"}).status_code == 403


# Stage moves -------------------------------------------------------------------------------------


def test_a_coordinator_moves_a_case_forward_with_a_note(signed_in, coordinator, make_case):
    case = make_case("imaging")
    response = signed_in(coordinator).post(
        reverse("case-move", args=[case.pk, "pathology"]), {"version": case.version, "note": "Biopsy planned."}
    )
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.stage == "pathology"
    assert case.events.get(kind="transition").note == "Biopsy planned."


def test_a_move_back_without_a_reason_is_refused_beside_the_note(signed_in, coordinator, make_case):
    case = make_case("pathology")
    before = state(case)
    response = signed_in(coordinator).post(reverse("case-move-back", args=[case.pk]), {"to": "imaging", "note": ""})
    assert_error_beside(response, "note", "needs a reason")
    assert state(case) == before


def test_a_move_back_with_a_reason_goes_back(signed_in, coordinator, make_case):
    case = make_case("pathology")
    signed_in(coordinator).post(
        reverse("case-move-back", args=[case.pk]), {"to": "imaging", "note": "The board wants an MR."}
    )
    case.refresh_from_db()
    assert case.stage == "imaging"


def test_a_move_with_unmet_gates_is_refused_and_names_every_gate(signed_in, coordinator, board):
    case = f.CaseFactory(board=board, stage="pathology")
    before = state(case)
    response = signed_in(coordinator).post(reverse("case-move", args=[case.pk, "consensus"]), {"note": ""})
    errors = form_errors(response)
    assert errors[0] == "The case cannot move from pathology to consensus."
    assert "→ consensus needs input from radiology." in errors
    assert any("final (or amended) pathology report" in e for e in errors)
    assert state(case) == before


def test_only_a_coordinator_or_the_chair_may_move_a_case(signed_in, radiologist, make_case):
    case = make_case("imaging")
    before = state(case)
    assert signed_in(radiologist).post(reverse("case-move", args=[case.pk, "pathology"])).status_code == 403
    assert state(case) == before


# Decisions ---------------------------------------------------------------------------------------


def decision_data(meeting, participants, **overrides):
    return {
        "meeting": meeting.pk,
        "consensus_diagnosis": "Tumoral calcinosis.",
        "plan": ["surveillance", "supportive_care"],
        "detail_surveillance": "Osteosarcoma schedule.",
        "detail_supportive_care": "Phosphate control.",
        "rationale": "Revised pathology.",
        "dissent": "",
        "participants": [u.pk for u in participants],
        **overrides,
    }


def test_the_decision_is_recorded_as_a_draft_and_the_chair_signs_it(
    signed_in, coordinator, chair, make_case, quorate_meeting, specialists
):
    case = make_case("consensus")
    f.on_agenda(quorate_meeting, case)
    response = signed_in(coordinator).post(
        reverse("decision-edit", args=[case.pk]), decision_data(quorate_meeting, specialists.values())
    )
    assert response.status_code == 302
    decision = case.decisions.get()
    assert decision.plan == [
        {"category": "surveillance", "detail": "Osteosarcoma schedule."},
        {"category": "supportive_care", "detail": "Phosphate control."},
    ]
    assert set(decision.participants.all()) == set(specialists.values())
    client = signed_in(chair)
    assert (
        reverse("decision-sign", args=[decision.pk])
        in client.get(reverse("case-detail", args=[case.pk])).content.decode()
    )
    confirm = client.get(reverse("decision-sign", args=[decision.pk]))
    assert "Recorded as present, for the decision" in confirm.content.decode()
    client.post(reverse("decision-sign", args=[decision.pk]), {"version": decision.version})
    decision.refresh_from_db()
    assert decision.status == "draft", "a POST without the confirmation only shows the confirmation page"
    client.post(reverse("decision-sign", args=[decision.pk]), {"version": decision.version, "confirmed": "yes"})
    decision.refresh_from_db()
    assert (decision.status, decision.signed_by) == ("signed", chair)
    assert case.follow_ups.count() == 2


def test_a_decision_needs_a_plan(signed_in, coordinator, make_case, quorate_meeting):
    case = make_case("consensus")
    before = state(case)
    response = signed_in(coordinator).post(
        reverse("decision-edit", args=[case.pk]), decision_data(quorate_meeting, [], plan=[])
    )
    assert_error_beside(response, "plan", "This field is required.")
    assert state(case) == before


def test_the_coordinator_is_not_offered_signing_and_the_server_refuses_it(
    signed_in, coordinator, make_case, quorate_meeting
):
    case = make_case("consensus")
    f.on_agenda(quorate_meeting, case)
    decision = decisions.decision_record(
        case=case, by=coordinator, meeting=quorate_meeting, consensus_diagnosis="X.", plan=[{"category": "biopsy"}]
    )
    client = signed_in(coordinator)
    assert (
        reverse("decision-sign", args=[decision.pk])
        not in client.get(reverse("case-detail", args=[case.pk])).content.decode()
    )
    before = state(case)
    assert client.post(reverse("decision-sign", args=[decision.pk])).status_code == 403
    assert state(case) == before


def test_signing_with_unmet_gates_lists_them_and_changes_nothing(signed_in, coordinator, chair, make_case, board):
    case = make_case("consensus")
    meeting = f.MeetingFactory(board=board)
    decision = decisions.decision_record(
        case=case, by=coordinator, meeting=meeting, consensus_diagnosis="X.", plan=[{"category": "biopsy"}]
    )
    before = state(case)
    response = signed_in(chair).post(reverse("decision-sign", args=[decision.pk]), {"confirmed": "yes"})
    assert state(case) == before
    assert response.status_code == 400
    page = response.content.decode()
    assert "The decision cannot be signed yet." in page
    assert "Record the meeting&#x27;s attendance before signing." in page


def test_the_chair_corrects_a_signed_decision_with_a_reason(
    signed_in, chair, coordinator, make_case, quorate_meeting, specialists
):
    case = make_case("consensus")
    f.on_agenda(quorate_meeting, case)
    decision = decisions.decision_record(
        case=case, by=coordinator, meeting=quorate_meeting, consensus_diagnosis="X.", plan=[{"category": "biopsy"}]
    )
    decisions.decision_sign(decision=decision, by=chair)
    client = signed_in(chair)
    data = decision_data(quorate_meeting, specialists.values(), supersede_reason="")
    response = client.post(reverse("decision-correct", args=[decision.pk]), data)
    assert_error_beside(response, "supersede_reason", "This field is required.")
    data["supersede_reason"] = "The plan missed supportive care."
    assert client.post(reverse("decision-correct", args=[decision.pk]), data).status_code == 302
    assert case.decisions.get(supersedes=decision).status == "draft"


# Follow-up ---------------------------------------------------------------------------------------


@pytest.fixture
def follow_up(case, orthopaedic):
    return m.FollowUp.objects.create(
        case=case, kind="action", description="Review the fusion", owner=orthopaedic, due_on=timezone.localdate()
    )


def test_the_owner_marks_a_follow_up_done(signed_in, orthopaedic, follow_up):
    client = signed_in(orthopaedic)
    assert "Mark as done" in client.get(reverse("follow-up-done", args=[follow_up.pk])).content.decode()
    client.post(reverse("follow-up-done", args=[follow_up.pk]), {"version": follow_up.version, "confirmed": "yes"})
    follow_up.refresh_from_db()
    assert follow_up.status == "done"


def test_a_deviation_needs_a_reason_beside_its_field(signed_in, orthopaedic, follow_up):
    client = signed_in(orthopaedic)
    before = state()
    url = reverse("follow-up-deviate", args=[follow_up.pk])
    response = client.post(url, {"deviation_code": "other", "deviation_reason": " "})
    assert_error_beside(response, "deviation_reason", "Say why the recommendation was not carried out.")
    assert state() == before
    client.post(url, {"deviation_code": "other", "deviation_reason": "The patient declined."})
    follow_up.refresh_from_db()
    assert (follow_up.status, follow_up.deviation_code, follow_up.deviation_reason) == (
        "deviated",
        "other",
        "The patient declined.",
    )


def test_a_coded_deviation_needs_no_words(signed_in, orthopaedic, follow_up):
    client = signed_in(orthopaedic)
    client.post(reverse("follow-up-deviate", args=[follow_up.pk]), {"deviation_code": "performance_status"})
    follow_up.refresh_from_db()
    assert (follow_up.status, follow_up.deviation_code, follow_up.deviation_reason) == (
        "deviated",
        "performance_status",
        "",
    )


def test_a_member_who_neither_owns_nor_manages_a_follow_up_cannot_close_it(signed_in, radiologist, follow_up):
    client = signed_in(radiologist)
    assert (
        reverse("follow-up-done", args=[follow_up.pk])
        not in client.get(reverse("case-detail", args=[follow_up.case_id])).content.decode()
    )
    assert client.post(reverse("follow-up-done", args=[follow_up.pk])).status_code == 403
    follow_up.refresh_from_db()
    assert follow_up.status == "planned"


def test_a_coordinator_applies_the_surveillance_template_once(signed_in, coordinator, orthopaedic, case):
    template = m.FollowUpTemplate.objects.get(code="osteosarcoma-treated")
    data = {"template": template.pk, "start_on": "2026-01-01", "owner": orthopaedic.pk}
    client = signed_in(coordinator)
    assert client.post(reverse("surveillance-apply", args=[case.pk]), data).status_code == 302
    visits = case.follow_ups.filter(template=template)
    assert visits.count() == len(template.visit_months())
    assert {v.owner for v in visits} == {orthopaedic}
    before = state(case)
    response = client.post(reverse("surveillance-apply", args=[case.pk]), data)
    assert form_errors(response) == ["This schedule is already applied to the case."]
    assert state(case) == before


def test_a_move_to_a_stage_that_does_not_exist_is_not_found(signed_in, coordinator, case):
    client = signed_in(coordinator)
    assert client.get(reverse("case-move", args=[case.pk, "nowhere"])).status_code == 404
    assert client.post(reverse("case-move-back", args=[case.pk]), {"to": "nowhere", "note": "x"}).status_code == 404
