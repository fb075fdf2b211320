"""What the portal's pages show: dashboard, case list, case page, patient page, meetings, error pages."""

import re
from datetime import timedelta

import pytest
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone
from django.views.defaults import server_error

from cases import models as m
from cases.selectors import CASE_ORDERINGS
from cases.services import followups, pathology
from cases.web.forms import SORTS
from tests import factories as f
from tests.conftest import audit_actions


def html_of(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def text_of(response) -> str:
    """The page as a reader sees it: tags removed, whitespace collapsed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html_of(response)))


def section(text: str, heading: str) -> str:
    """The text from a heading up to the next card's heading (every dashboard card starts with "h2")."""
    assert heading in text, heading
    following = text.split(heading, 1)[1]
    ends = [following.find(h) for h in DASHBOARD_HEADINGS if h != heading and h in following]
    return following[: min(ends)] if ends else following


DASHBOARD_HEADINGS = [
    "My boards",
    "Next meetings",
    "Awaiting input from my specialty",
    "Cases that cannot move on yet",
    "Overdue follow-ups",
    "Recently updated cases",
]


@pytest.fixture
def amended_case(make_case, pathologist):
    case = make_case("pathology")
    report = case.pathology_reports.get()
    pathology.pathology_report_amend(
        report=report,
        by=pathologist,
        diagnosis="Tumoral calcinosis; no osteosarcoma.",
        amendment_reason="Slides re-read with the dialysis history.",
        discrepancy="major",
    )
    case.refresh_from_db()
    return case


# Dashboard ---------------------------------------------------------------------------------------


def test_the_dashboard_lists_my_boards_and_the_next_meetings_with_agenda_counts(signed_in, coordinator, make_case):
    meeting = f.MeetingFactory(board=coordinator.memberships.get().board, location="Room 4B")
    for _ in range(2):
        m.AgendaItem.objects.create(
            meeting=meeting, case=make_case("imaging"), position=1 + meeting.agenda_items.count()
        )
    response = signed_in(coordinator).get(reverse("dashboard"))
    html = html_of(response)
    assert "<title>Dashboard · Tumor Board</title>" in html
    for heading in DASHBOARD_HEADINGS:
        assert html.count(f">{heading}</h2>") == 1, heading
    text = text_of(response)
    assert "Sarcoma board — Coordinator" in text
    assert "2 cases on the agenda" in text


def test_the_dashboard_lists_cases_awaiting_my_specialty_only(signed_in, board, radiologist, orthopaedic):
    waiting = f.CaseFactory(board=board, stage="imaging", patient__family_name="Waitingforradiology")
    done = f.CaseFactory(board=board, stage="imaging", patient__family_name="Alreadyreviewed")
    f.OpinionFactory(case=done, specialty="radiology", author=radiologist)
    text = section(text_of(signed_in(radiologist).get(reverse("dashboard"))), "Awaiting input from my specialty")
    assert waiting.patient.family_name in text
    assert done.patient.family_name not in text


def test_coordinators_see_cases_whose_next_move_has_unmet_gates_in_plain_words(signed_in, board, coordinator):
    stuck = f.CaseFactory(board=board, stage="imaging", patient__family_name="Stuckinimaging")
    f.ImagingStudyFactory(case=stuck, impression="")
    ready = f.CaseFactory(board=board, stage="imaging", patient__family_name="Readytomove")
    f.ImagingStudyFactory(case=ready)
    text = section(text_of(signed_in(coordinator).get(reverse("dashboard"))), "Cases that cannot move on yet")
    assert "Stuckinimaging" in text
    assert "imaging → pathology needs at least one imaging study with an impression." in text
    assert "Readytomove" not in text


def test_board_members_who_are_not_coordinators_do_not_get_the_gate_list(signed_in, radiologist):
    assert "Cases that cannot move on yet" not in text_of(signed_in(radiologist).get(reverse("dashboard")))


def test_the_dashboard_lists_recently_updated_cases(signed_in, coordinator, amended_case):
    text = section(text_of(signed_in(coordinator).get(reverse("dashboard"))), "Recently updated cases")
    assert amended_case.patient.full_name in text
    assert "Revised pathology Amended pathology" in text


def test_the_dashboard_lists_overdue_follow_ups(signed_in, coordinator, case):
    f_up = m.FollowUp.objects.create(
        case=case, kind="action", description="Repeat chest CT", due_on=timezone.localdate() - timedelta(days=3)
    )
    m.FollowUp.objects.create(case=case, kind="action", description="Future visit", due_on=timezone.localdate())
    text = text_of(signed_in(coordinator).get(reverse("dashboard")))
    assert f_up.description in text
    assert "Future visit" not in text


# Case list ---------------------------------------------------------------------------------------


@pytest.fixture
def listed(board, other_board, coordinator):
    f.MembershipFactory(user=coordinator, board=other_board, role="coordinator", specialty="")
    return {
        "urgent": f.CaseFactory(
            board=board, stage="imaging", priority="urgent", patient__family_name="Alvarez", patient__mrn="MRN-A1"
        ),
        "routine": f.CaseFactory(
            board=board,
            stage="pathology",
            patient__family_name="Berg",
            clinical_question="Ewing sarcoma local control?",
        ),
        "breast": f.CaseFactory(board=other_board, stage="consensus", patient__family_name="Castell"),
    }


def names_in(response) -> list[str]:
    return re.findall(r'<a href="/cases/\d+/">([^<]+)</a>', html_of(response))


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({}, {"Alvarez", "Berg", "Castell"}),
        ({"stage": "imaging"}, {"Alvarez"}),
        ({"priority": "urgent"}, {"Alvarez"}),
        ({"q": "MRN-A1"}, {"Alvarez"}),
        ({"q": "berg"}, {"Berg"}),
        ({"q": "ewing"}, {"Berg"}),
        ({"amended": "yes"}, set()),
        ({"amended": "no"}, {"Alvarez", "Berg", "Castell"}),
    ],
)
def test_the_case_list_filters_and_searches(signed_in, coordinator, listed, query, expected):
    response = signed_in(coordinator).get(reverse("case-list"), query)
    assert {name.split()[-1] for name in names_in(response)} == expected


def test_the_case_list_filters_by_board_and_by_meeting(signed_in, coordinator, listed, board):
    client = signed_in(coordinator)
    assert {n.split()[-1] for n in names_in(client.get(reverse("case-list"), {"board": board.pk}))} == {
        "Alvarez",
        "Berg",
    }
    meeting = f.MeetingFactory(board=board)
    m.AgendaItem.objects.create(meeting=meeting, case=listed["routine"], position=1)
    assert [n.split()[-1] for n in names_in(client.get(reverse("case-list"), {"meeting": meeting.pk}))] == ["Berg"]


def test_the_case_list_filters_cases_with_amended_pathology(signed_in, coordinator, amended_case):
    f.CaseFactory(board=amended_case.board, patient__family_name="Unamended")
    response = signed_in(coordinator).get(reverse("case-list"), {"amended": "yes"})
    assert names_in(response) == [amended_case.patient.full_name]
    assert "Amended pathology" in html_of(response)


def test_the_case_list_sorts_by_patient_name(signed_in, coordinator, listed):
    response = signed_in(coordinator).get(reverse("case-list"), {"sort": "patient"})
    assert [n.split()[-1] for n in names_in(response)] == ["Alvarez", "Berg", "Castell"]


def test_the_case_list_shows_the_stage_as_a_badge(signed_in, coordinator, listed):
    assert '<span class="badge stage stage-imaging">Imaging</span>' in html_of(
        signed_in(coordinator).get(reverse("case-list"))
    )


def test_the_case_list_pages_thirty_cases_and_keeps_the_filters(signed_in, coordinator, board):
    for _ in range(30):
        f.CaseFactory(board=board, stage="imaging")
    client = signed_in(coordinator)
    first = client.get(reverse("case-list"), {"stage": "imaging"})
    assert len(names_in(first)) == 25
    assert "Page 1 of 2" in text_of(first)
    assert "?stage=imaging&amp;page=2" in html_of(first)
    assert len(names_in(client.get(reverse("case-list"), {"stage": "imaging", "page": 2}))) == 5


def test_every_sort_offered_is_one_the_selector_knows():
    assert {key for key, _ in SORTS} <= set(CASE_ORDERINGS)


def test_an_invalid_filter_is_ignored_rather_than_failing(signed_in, coordinator, listed):
    response = signed_in(coordinator).get(reverse("case-list"), {"board": "abc", "sort": "nonsense", "page": "x"})
    assert len(names_in(response)) == 3


# Case page ---------------------------------------------------------------------------------------


def test_the_case_page_header_names_the_patient_board_stage_and_priority(signed_in, coordinator, case):
    case.patient.comorbidities = "On haemodialysis."
    case.patient.save()
    text = text_of(signed_in(coordinator).get(reverse("case-detail", args=[case.pk])))
    for expected in [
        case.patient.full_name,
        f"Age {case.patient.age}",
        "Sex Female",
        f"MRN {case.patient.mrn}",
        "Board Sarcoma board",
        "Stage Intake",
        "Priority Routine",
        case.clinical_question,
        case.history,
        "On haemodialysis.",
        case.key_labs,
    ]:
        assert expected in text, expected


def test_viewing_a_case_writes_one_audit_event(signed_in, coordinator, case):
    signed_in(coordinator).get(reverse("case-detail", args=[case.pk]))
    assert audit_actions(case_id=case.pk) == ["case.view"]
    event = m.AuditEvent.objects.get(action="case.view")
    assert (event.actor, event.patient_id) == (coordinator, case.patient_id)


def test_the_case_page_shows_imaging_with_key_image_thumbnails_served_by_the_checked_view(signed_in, coordinator, case):
    study = f.ImagingStudyFactory(case=case, impression="Tumoral calcinosis likely.")
    image = m.KeyImage.objects.create(study=study, image=f.png_upload(), caption="Lobulated calcification")
    html = html_of(signed_in(coordinator).get(reverse("case-detail", args=[case.pk])))
    url = reverse("key-image", args=[image.pk])
    assert f'<a href="{url}" data-enlarge' in html
    assert f'<img src="{url}" alt="Lobulated calcification"' in html
    assert "Tumoral calcinosis likely." in html
    assert "/media/" not in html


def test_the_amendment_chain_strikes_through_the_superseded_report_and_highlights_the_change(
    signed_in, coordinator, amended_case
):
    html = html_of(signed_in(coordinator).get(reverse("case-detail", args=[amended_case.pk])))
    superseded, current = amended_case.pathology_reports.order_by("id")
    superseded_block = html.split(f'id="report-{superseded.pk}"')[1]
    assert "Superseded — do not use" in superseded_block
    assert f"<del>{superseded.diagnosis}</del>" in superseded_block
    current_block = html.split(f'id="report-{current.pk}"')[1].split(f'id="report-{superseded.pk}"')[0]
    assert "The diagnosis changed on amendment" in current_block
    assert f"<del>{superseded.diagnosis}</del>" in current_block
    assert f"<ins>{current.diagnosis}</ins>" in current_block
    assert "Slides re-read with the dialysis history." in current_block
    assert "Discrepancy: Major — diagnosis or management changes" in current_block


def test_an_amendment_that_keeps_the_diagnosis_shows_no_change_box(signed_in, coordinator, make_case, pathologist):
    case = make_case("pathology")
    report = case.pathology_reports.get()
    pathology.pathology_report_amend(
        report=report,
        by=pathologist,
        diagnosis=report.diagnosis,
        amendment_reason="Typo in the specimen.",
        discrepancy="none",
    )
    html = html_of(signed_in(coordinator).get(reverse("case-detail", args=[case.pk])))
    assert "The diagnosis changed on amendment" not in html
    assert "Superseded — do not use" in html


def test_specialty_input_is_grouped_by_specialty_with_author_and_the_missing_ones_listed(
    signed_in, coordinator, board, radiologist
):
    case = f.CaseFactory(board=board, stage="pathology")
    f.OpinionFactory(case=case, specialty="radiology", author=radiologist, assessment="Looks like calcinosis.")
    text = text_of(signed_in(coordinator).get(reverse("case-detail", args=[case.pk])))
    assert "Radiology Looks like calcinosis." in text
    assert radiologist.get_full_name() in text
    assert "Still missing, required by the board: Pathology, Orthopaedic oncology, Radiation oncology." in text


def test_the_stage_bar_offers_a_ready_move_and_explains_a_blocked_one(signed_in, coordinator, board):
    case = f.CaseFactory(board=board, stage="pathology")
    f.PathologyReportFactory(case=case, status="preliminary", signed_out_at=None)
    html = html_of(signed_in(coordinator).get(reverse("case-detail", args=[case.pk])))
    assert f'action="{reverse("case-move", args=[case.pk, "revised_pathology"])}"' in html
    assert f'action="{reverse("case-move", args=[case.pk, "consensus"])}"' not in html
    assert "To consensus: not yet" in html
    assert "→ consensus needs input from radiology." in html
    assert "→ consensus needs a final (or amended) pathology report" in html
    assert "Move back to an earlier stage" in html


def test_members_who_may_not_move_cases_see_the_gates_but_no_move_buttons(signed_in, radiologist, make_case):
    case = make_case("imaging")
    html = html_of(signed_in(radiologist).get(reverse("case-detail", args=[case.pk])))
    assert "Ready to move to pathology: a coordinator or the chair moves it." in html
    assert reverse("case-move", args=[case.pk, "pathology"]) not in html
    assert "Move back to an earlier stage" not in html


def test_the_timeline_lists_everything_newest_first(signed_in, coordinator, make_case):
    case = make_case("imaging")
    m.CaseEvent.objects.create(case=case, kind="created", summary="First thing", actor=coordinator)
    m.CaseEvent.objects.create(case=case, kind="updated", summary="Second thing", actor=coordinator, note="Why.")
    text = text_of(signed_in(coordinator).get(reverse("case-detail", args=[case.pk])))
    assert text.index("Second thing") < text.index("First thing")
    assert "Why." in text


def test_the_case_page_shows_the_decision_and_follow_ups(signed_in, coordinator, chair, make_case, quorate_meeting):
    case = make_case("consensus")
    decision = f.DecisionFactory(
        case=case,
        meeting=quorate_meeting,
        status="signed",
        signed_by=chair,
        signed_at=timezone.now(),
        consensus_diagnosis="Callus and tumoral calcinosis.",
        dissent="Radiology preferred a CT.",
    )
    followups.follow_up_apply_template(
        case=case,
        template=m.FollowUpTemplate.objects.get(code="osteosarcoma-treated"),
        by=coordinator,
        start_on=timezone.localdate(),
    )
    text = text_of(signed_in(coordinator).get(reverse("case-detail", args=[case.pk])))
    assert "Callus and tumoral calcinosis." in text
    assert "Surveillance : Schedule." in text
    assert "Radiology preferred a CT." in text
    assert f"Signed by {chair.get_full_name()}" in text
    assert "Month 3: Chest CT" in text
    assert decision.signed_at is not None


def test_a_decision_made_on_since_amended_pathology_is_flagged(
    signed_in, coordinator, chair, make_case, pathologist, quorate_meeting
):
    case = make_case("consensus")
    report = case.pathology_reports.get()
    f.DecisionFactory(
        case=case,
        meeting=quorate_meeting,
        status="signed",
        signed_by=chair,
        signed_at=timezone.now(),
        pathology_report=report,
    )
    pathology.pathology_report_amend(
        report=report, by=pathologist, diagnosis="Changed.", amendment_reason="Re-read.", discrepancy="major"
    )
    text = text_of(signed_in(coordinator).get(reverse("case-detail", args=[case.pk])))
    assert "Based on superseded pathology: the board must review it." in text
    assert "Needs review after an amendment" in text


# Patient page ------------------------------------------------------------------------------------


def test_the_patient_page_lists_the_patients_cases_on_my_boards_only(signed_in, coordinator, case, other_board):
    hidden = f.CaseFactory(board=other_board, patient=case.patient, clinical_question="Breast question hidden")
    text = text_of(signed_in(coordinator).get(reverse("patient-detail", args=[case.patient_id])))
    assert case.patient.full_name in text
    assert f"MRN {case.patient.mrn}" in text
    assert f"Case {case.pk}" in text
    assert f"Case {hidden.pk}" not in text
    assert "Breast question hidden" not in text


def test_viewing_a_patient_writes_one_audit_event(signed_in, coordinator, case):
    signed_in(coordinator).get(reverse("patient-detail", args=[case.patient_id]))
    assert audit_actions(action="patient.view", patient_id=case.patient_id) == ["patient.view"]


# Meetings ----------------------------------------------------------------------------------------


def test_the_meeting_list_separates_upcoming_and_past_meetings(signed_in, coordinator, board):
    f.MeetingFactory(board=board, starts_at=timezone.now() + timedelta(days=2), location="Upcoming room")
    f.MeetingFactory(board=board, starts_at=timezone.now() - timedelta(days=20), location="Past room", status="held")
    text = text_of(signed_in(coordinator).get(reverse("meeting-list")))
    upcoming, past = text.split("Upcoming", 1)[1].split("Past", 1)
    assert "Upcoming room" in upcoming and "Past room" not in upcoming
    assert "Past room" in past


def test_the_meeting_page_shows_time_slots_and_which_quorum_specialties_are_missing(
    signed_in, coordinator, board, radiologist, make_case
):
    meeting = f.MeetingFactory(board=board, starts_at=timezone.now().replace(hour=16, minute=0) + timedelta(days=1))
    m.AgendaItem.objects.create(meeting=meeting, case=make_case("imaging"), position=1, minutes=20)
    m.AgendaItem.objects.create(meeting=meeting, case=make_case("imaging"), position=2, minutes=10)
    f.AttendanceFactory(meeting=meeting, user=radiologist, specialty="radiology")
    text = text_of(signed_in(coordinator).get(reverse("meeting-detail", args=[meeting.pk])))
    start = timezone.localtime(meeting.starts_at)
    assert f"{start:%H:%M} – {start + timedelta(minutes=20):%H:%M}" in text
    assert f"{start + timedelta(minutes=20):%H:%M} – {start + timedelta(minutes=30):%H:%M}" in text
    assert "Not quorate" in text
    assert "Present: Radiology" in text
    assert "Missing: Pathology, Orthopaedic oncology, Radiation oncology" in text


def test_a_quorate_meeting_says_so(signed_in, coordinator, quorate_meeting):
    text = text_of(signed_in(coordinator).get(reverse("meeting-detail", args=[quorate_meeting.pk])))
    assert "Quorate" in text and "Not quorate" not in text


# Error pages -------------------------------------------------------------------------------------


def test_the_404_page_is_friendly_and_does_not_confirm_the_object_exists(signed_in, outsider, case):
    response = signed_in(outsider).get(reverse("case-detail", args=[case.pk]))
    assert response.status_code == 404
    assert b"it belongs to a board you are not a member of" in response.content
    assert case.patient.family_name.encode() not in response.content


def test_the_403_page_says_why_and_that_nothing_changed(signed_in, radiologist, case):
    response = signed_in(radiologist).get(reverse("decision-edit", args=[case.pk]))
    assert response.status_code == 403
    assert b"Only a coordinator or the chair records a decision." in response.content
    assert b"Nothing was changed." in response.content


def test_the_500_page_is_friendly(db):
    response = server_error(RequestFactory().get("/"))
    assert response.status_code == 500
    assert b"Something went wrong" in response.content
    assert b"What you were doing may not have been saved" in response.content


def test_the_case_header_says_when_the_diagnosis_changed(signed_in, coordinator, make_case, pathologist):
    from django.urls import reverse

    from cases.services import pathology as pathology_services

    case = make_case("pathology")
    page = signed_in(coordinator).get(reverse("case-detail", args=[case.pk]))
    assert b"Diagnosis changed on amendment" not in page.content
    pathology_services.pathology_report_amend(
        report=case.pathology_reports.get(),
        by=pathologist,
        diagnosis="Tumoral calcinosis.",
        amendment_reason="Re-review.",
        discrepancy="major",
    )
    page = signed_in(coordinator).get(reverse("case-detail", args=[case.pk]))
    header = page.content.split(b'class="case-header"')[1].split(b"</header>")[0]
    assert b"Diagnosis changed on amendment (major discrepancy)." in header
