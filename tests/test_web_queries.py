"""Every list and detail page runs the same number of SQL queries whatever the number of rows.

Each test measures a page with few rows, adds enough rows that an N+1 would show (30+), and pins
the count; the pinned numbers include the session (read and re-saved on each request, for the idle
timeout), the user and their memberships, and on case and patient pages the audit event of the read.
"""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from cases import models as m
from tests import factories as f

MANY = 32


def queries(client, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(captured)


def assert_constant(client, url, grow, expected, django_assert_num_queries):
    """The count with few rows equals the count after `grow()` adds many, and equals `expected`.

    Every page's count includes its one audit INSERT (issue 11: lists, dashboard and meeting pages gained it).
    """
    few = queries(client, url)
    grow()
    many = queries(client, url)
    assert (few, many) == (expected, expected)
    with django_assert_num_queries(expected):
        assert client.get(url).status_code == 200


def many_cases(board, stage="imaging", count=MANY, **kwargs):
    return [f.CaseFactory(board=board, stage=stage, **kwargs) for _ in range(count)]


def rich_case(case, specialists, pathologist, count=6):
    """Many imaging studies with key images, an amendment chain, inputs, events and follow-ups."""
    for i in range(count):
        study = f.ImagingStudyFactory(case=case, radiologist=specialists["radiology"])
        for j in range(2):
            m.KeyImage.objects.create(study=study, image=f.png_upload(f"k{i}{j}.png"), caption=f"Image {i}.{j}")
    previous = f.PathologyReportFactory(case=case, pathologist=pathologist)
    for i in range(count):
        previous = f.PathologyReportFactory(
            case=case,
            pathologist=pathologist,
            supersedes=previous,
            status="amended",
            discrepancy="major",
            amendment_reason=f"Re-read {i}.",
            diagnosis=f"Diagnosis {i}.",
        )
    for i in range(count):
        other = f.UserFactory()
        f.MembershipFactory(user=other, board=case.board, specialty="nursing")
        f.OpinionFactory(case=case, specialty="nursing", author=other)
        m.CaseEvent.objects.create(case=case, kind="updated", summary=f"Event {i}", actor=other)
        m.FollowUp.objects.create(
            case=case, kind="action", description=f"Visit {i}", owner=other, due_on=timezone.localdate()
        )


def test_the_case_list_query_count_is_constant(signed_in, coordinator, board, django_assert_num_queries):
    f.CaseFactory(board=board)
    assert_constant(
        signed_in(coordinator), reverse("case-list"), lambda: many_cases(board), 10, django_assert_num_queries
    )


def test_the_dashboard_query_count_is_constant(
    signed_in, coordinator, board, specialists, quorate_meeting, django_assert_num_queries
):
    def grow(count=MANY):
        for case in many_cases(board, stage="pathology", count=count):
            f.PathologyReportFactory(case=case, status="preliminary", signed_out_at=None)
            overdue = timezone.localdate().replace(year=2020)
            m.FollowUp.objects.create(case=case, kind="action", description="Visit", due_on=overdue)
        for case in many_cases(board, stage="consensus", count=count):
            report = f.PathologyReportFactory(case=case)
            f.DecisionFactory(
                case=case,
                status="signed",
                signed_by=coordinator,
                signed_at=timezone.now(),
                meeting=quorate_meeting,
                pathology_report=report,
            )
            f.PathologyReportFactory(
                case=case, supersedes=report, status="amended", discrepancy="major", amendment_reason="Re-read."
            )

    grow(count=1)
    # One more than before issue 10: the cases needing review after an amendment (one query).
    assert_constant(signed_in(coordinator), reverse("dashboard"), grow, 16, django_assert_num_queries)


def test_the_dashboard_of_a_specialist_has_a_constant_query_count(
    signed_in, radiologist, board, django_assert_num_queries
):
    assert_constant(
        signed_in(radiologist), reverse("dashboard"), lambda: many_cases(board), 12, django_assert_num_queries
    )


def test_a_case_with_many_opinions_images_and_reports_has_a_constant_query_count(
    signed_in, coordinator, make_case, specialists, pathologist, django_assert_num_queries
):
    case = make_case("pathology")
    rich_case(case, specialists, pathologist, count=1)
    decision = f.DecisionFactory(case=case, recorded_by=coordinator, meeting=f.MeetingFactory(board=case.board))
    decision.participants.set(specialists.values())
    m.AgendaItem.objects.create(meeting=decision.meeting, case=case, position=1)
    url = reverse("case-detail", args=[case.pk])
    assert_constant(
        signed_in(coordinator),
        url,
        lambda: rich_case(case, specialists, pathologist, count=MANY // 2),
        19,  # a coordinator's page also lists who viewed the case (one grouped query); imaging addenda
        django_assert_num_queries,
    )


def test_the_patient_page_query_count_is_constant(signed_in, coordinator, case, django_assert_num_queries):
    assert_constant(
        signed_in(coordinator),
        reverse("patient-detail", args=[case.patient_id]),
        lambda: many_cases(case.board, patient=case.patient),
        10,  # the records merged into this one
        django_assert_num_queries,
    )


def test_the_meeting_list_query_count_is_constant(signed_in, coordinator, board, django_assert_num_queries):
    def grow():
        for i in range(MANY):
            f.MeetingFactory(board=board, starts_at=timezone.now() + timezone.timedelta(days=i - MANY // 2))

    # 10: the cases awaiting a meeting, and the cancelled group, are one query each.
    assert_constant(signed_in(coordinator), reverse("meeting-list"), grow, 11, django_assert_num_queries)


def test_the_meeting_page_query_count_is_constant(
    signed_in, coordinator, board, quorate_meeting, radiologist, django_assert_num_queries
):
    def grow():
        for i, case in enumerate(many_cases(board), start=2):
            m.AgendaItem.objects.create(meeting=quorate_meeting, case=case, position=i, presenter=radiologist)
        for _ in range(MANY):
            user = f.UserFactory()
            f.MembershipFactory(user=user, board=board, specialty="nursing")
            f.AttendanceFactory(meeting=quorate_meeting, user=user, specialty="nursing")

    m.AgendaItem.objects.create(meeting=quorate_meeting, case=f.CaseFactory(board=board), position=1)
    url = reverse("meeting-detail", args=[quorate_meeting.pk])
    # +1: the agenda's cases on other upcoming agendas (one query).
    assert_constant(signed_in(coordinator), url, grow, 14, django_assert_num_queries)


def test_in_meeting_mode_has_a_constant_query_count(
    signed_in, chair, board, quorate_meeting, make_case, specialists, pathologist, django_assert_num_queries
):
    case = make_case("consensus")
    m.AgendaItem.objects.create(meeting=quorate_meeting, case=case, position=1)
    draft = f.DecisionFactory(case=case, meeting=quorate_meeting, recorded_by=chair)
    draft.participants.set(specialists.values())

    def grow():
        rich_case(case, specialists, pathologist, count=MANY // 4)
        for i, other in enumerate(many_cases(board), start=2):
            m.AgendaItem.objects.create(meeting=quorate_meeting, case=other, position=i)

    url = reverse("meeting-run", args=[quorate_meeting.pk])
    assert_constant(signed_in(chair), url, grow, 24, django_assert_num_queries)  # +1: imaging addenda


@pytest.mark.parametrize("url_name", ["referral-edit", "opinion-edit", "decision-edit", "surveillance-apply"])
def test_the_forms_of_a_case_have_a_constant_query_count(
    signed_in, chair, coordinator, make_case, specialists, pathologist, url_name
):
    case = make_case("consensus")
    user = coordinator if url_name == "referral-edit" else chair
    client = signed_in(user)
    url = reverse(url_name, args=[case.pk])
    few = queries(client, url)
    rich_case(case, specialists, pathologist, count=MANY // 4)
    for _ in range(MANY // 4):
        f.MeetingFactory(board=case.board)
    assert queries(client, url) == few
