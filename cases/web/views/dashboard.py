from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from ...services.audit import audit_list
from .. import pages


@login_required
def dashboard(request):
    context = pages.dashboard_context(request.user)
    blocked = (case for case, _ in context["blocked"])
    shown = [*context["awaiting"], *blocked, *context["needs_review"], *context["recent_cases"], *context["overdue"]]
    audit_list(actor=request.user, action="dashboard.view", rows=shown, object_type="dashboard")
    return render(request, "cases/dashboard.html", context)
