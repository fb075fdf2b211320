from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from ... import permissions, selectors
from ...services import workflow

LIST_LIMIT = 20


def blocked_moves(case) -> list[workflow.Move]:
    """The forward moves of a case when every one of them has unmet gates, else nothing."""
    forward = [move for move in workflow.next_moves(case) if not move.is_back]
    return forward if forward and all(move.unmet for move in forward) else []


@login_required
def dashboard(request):
    user = request.user
    memberships = sorted(permissions.memberships_of(user).values(), key=lambda m: m.board.name)
    to_move_on = [(case, moves) for case in selectors.cases_to_move_on(user=user) if (moves := blocked_moves(case))]
    context = {
        "memberships": memberships,
        "meetings": selectors.meeting_list(user=user, upcoming=True)[:5],
        "awaiting": selectors.cases_awaiting_input(user=user)[:LIST_LIMIT],
        "blocked": to_move_on[:LIST_LIMIT],
        "blocked_total": len(to_move_on),
        "is_coordinator": any(m.role == permissions.COORDINATOR for m in memberships),
        "overdue": selectors.overdue_follow_ups(user=user)[:LIST_LIMIT],
        "recent_cases": selectors.case_list(user=user)[:10],
        "can_register": permissions.can_anywhere(user, "patient.create"),
    }
    return render(request, "cases/dashboard.html", context)
