from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from .. import permissions, selectors


@login_required
def dashboard(request):
    memberships = sorted(permissions.memberships_of(request.user).values(), key=lambda m: m.board.name)
    context = {
        "memberships": memberships,
        "meetings": selectors.meeting_list(user=request.user, upcoming=True)[:5],
        "awaiting": selectors.cases_awaiting_input(user=request.user)[:20],
        "overdue": selectors.overdue_follow_ups(user=request.user)[:20],
        "recent_cases": selectors.case_list(user=request.user)[:20],
    }
    return render(request, "cases/dashboard.html", context)
