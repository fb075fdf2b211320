from datetime import date

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from cases import models as m
from cases.services import followups
from cases.services.errors import Conflict
from tests import factories as f


@pytest.fixture
def osteosarcoma(db):
    return m.FollowUpTemplate.objects.get(code="osteosarcoma-treated")


def test_the_osteosarcoma_schedule_is_three_monthly_then_six_monthly_then_yearly(osteosarcoma):
    assert osteosarcoma.visit_months() == [3, 6, 9, 12, 15, 18, 21, 24, 30, 36, 42, 48, 54, 60, 72, 84, 96, 108, 120]


def test_applying_a_template_plans_dated_visits(case, coordinator, orthopaedic, osteosarcoma):
    visits = followups.follow_up_apply_template(
        case=case, template=osteosarcoma, by=coordinator, start_on=date(2026, 11, 30), owner=orthopaedic
    )
    assert len(visits) == 19
    assert [v.due_on for v in visits[:3]] == [date(2027, 2, 28), date(2027, 5, 30), date(2027, 8, 30)]
    assert visits[-1].due_on == date(2036, 11, 30)
    assert {(v.kind, v.owner, v.status) for v in visits} == {("surveillance", orthopaedic, "planned")}
    with pytest.raises(Conflict):
        followups.follow_up_apply_template(case=case, template=osteosarcoma, by=coordinator, start_on=date(2026, 12, 1))


def test_month_arithmetic_keeps_to_the_end_of_short_months():
    assert followups.add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert followups.add_months(date(2027, 11, 30), 3) == date(2028, 2, 29)


def test_a_member_cannot_plan_follow_up(case, radiologist, osteosarcoma):
    with pytest.raises(PermissionDenied):
        followups.follow_up_apply_template(case=case, template=osteosarcoma, by=radiologist, start_on=date.today())


def test_the_owner_completes_and_a_deviation_needs_a_reason(case, orthopaedic, radiologist):
    action = m.FollowUp.objects.create(
        case=case, kind="action", description="Review", owner=orthopaedic, due_on=date(2027, 1, 1)
    )
    other = m.FollowUp.objects.create(
        case=case, kind="action", description="CT", owner=orthopaedic, due_on=date(2027, 1, 1)
    )
    with pytest.raises(PermissionDenied):
        followups.follow_up_complete(follow_up=action, by=radiologist)
    done = followups.follow_up_complete(follow_up=action, by=orthopaedic, expected_version=1)
    assert (done.status, done.version) == ("done", 2) and done.completed_at
    with pytest.raises(ValidationError):
        followups.follow_up_deviate(follow_up=other, by=orthopaedic, reason="")
    deviated = followups.follow_up_deviate(follow_up=other, by=orthopaedic, reason="The patient chose not to have CT.")
    assert (deviated.status, deviated.deviation_reason) == ("deviated", "The patient chose not to have CT.")
    assert deviated.deviation_code == "other"
    # Carried out after all: done, and the deviation stays as its history; a done one is final.
    later = followups.follow_up_complete(follow_up=deviated, by=orthopaedic)
    assert (later.status, later.deviation_code, later.deviation_reason) == (
        "done",
        "other",
        "The patient chose not to have CT.",
    )
    with pytest.raises(Conflict):
        followups.follow_up_complete(follow_up=later, by=orthopaedic)


def test_overdue_follow_ups_are_listed_for_the_board(case, coordinator, outsider):
    from cases import selectors

    f.UserFactory()
    m.FollowUp.objects.create(case=case, kind="action", description="Overdue", due_on=date(2020, 1, 1))
    m.FollowUp.objects.create(case=case, kind="action", description="Later", due_on=date(2099, 1, 1))
    assert [fu.description for fu in selectors.overdue_follow_ups(user=coordinator)] == ["Overdue"]
    assert list(selectors.overdue_follow_ups(user=outsider)) == []


@pytest.mark.parametrize(
    "schedule",
    [
        [],
        [{"every_months": 0, "until_month": 12}],
        [{"every_months": 6, "until_month": 24}, {"every_months": 3, "until_month": 12}],
        [{"every_months": "3", "until_month": 12}],
        [{"every": 3}],
    ],
)
def test_a_malformed_schedule_is_refused(schedule):
    with pytest.raises(ValidationError):
        m.followups.validate_schedule(schedule)


@pytest.mark.django_db(transaction=True)
def test_the_surveillance_schedule_survives_a_flush():
    """`flush` (the test runner's, after each transactional test) empties every table: the reference schedule
    comes back with it, so no later test or server finds the osteosarcoma template gone."""
    from django.core.management import call_command

    call_command("flush", interactive=False, verbosity=0)
    assert m.FollowUpTemplate.objects.filter(code="osteosarcoma-treated").count() == 1
    assert m.AuditDatabase.objects.count() == 1  # and the id its audit checkpoints name it by
