"""One access helper per object, taking the action: 404 when the object is not visible, then 403 when not allowed."""

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404

from cases import models as m
from cases import permissions, selectors
from tests import factories as f


@pytest.mark.parametrize(
    ("get", "make"),
    [
        (permissions.get_case_for_user, lambda case: case),
        (permissions.get_report_for_user, lambda case: case.pathology_reports.get()),
        (permissions.get_decision_for_user, lambda case: f.DecisionFactory(case=case)),
    ],
)
def test_an_outsider_gets_404_and_a_member_without_the_role_403(get, make, make_case, outsider, radiologist, chair):
    obj = make(make_case("consensus"))
    with pytest.raises(Http404):
        get(outsider, obj.pk, "decision.sign")
    with pytest.raises(PermissionDenied):
        get(radiologist, obj.pk, "decision.sign")
    assert get(chair, obj.pk, "decision.sign") == obj
    assert get(radiologist, obj.pk) == obj  # seeing it needs no action


def test_selectors_take_the_action_too(case, quorate_meeting, outsider, radiologist, coordinator):
    with pytest.raises(Http404):
        selectors.case_detail(user=outsider, pk=case.pk, action="case.update")
    with pytest.raises(PermissionDenied):
        selectors.case_detail(user=radiologist, pk=case.pk, action="case.update")
    with pytest.raises(PermissionDenied):
        selectors.meeting_detail(user=radiologist, pk=quorate_meeting.pk, action="meeting.manage")
    assert selectors.meeting_detail(user=coordinator, pk=quorate_meeting.pk, action="meeting.manage") == quorate_meeting


def test_the_owner_or_a_manager_closes_a_follow_up(case, coordinator, radiologist, pathologist, outsider):
    follow_up = m.FollowUp.objects.create(
        case=case, kind="action", category="surveillance", description="Scan", owner=radiologist, due_on="2031-1-1"
    )
    assert permissions.can_close_follow_up(radiologist, follow_up)
    assert permissions.can_close_follow_up(coordinator, follow_up)
    assert not permissions.can_close_follow_up(pathologist, follow_up)
    with pytest.raises(PermissionDenied):
        permissions.require_follow_up_closer(pathologist, follow_up)
    with pytest.raises(Http404):
        permissions.require_follow_up_closer(outsider, follow_up)


def test_the_boards_allowing_an_action_or_a_refusal(board, coordinator, radiologist):
    assert [m.board for m in permissions.memberships_allowing(coordinator, "patient.create")] == [board]
    assert permissions.can_anywhere(coordinator, "patient.create")
    assert not permissions.can_anywhere(radiologist, "patient.create")
    with pytest.raises(PermissionDenied, match="Only a coordinator registers patients."):
        permissions.memberships_allowing(radiologist, "patient.create")
