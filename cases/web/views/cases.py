"""Patients and cases: the list, the case page, registration, the referral and stage moves."""

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_POST

from ... import permissions, selectors
from ...models import Stage
from ...services import cases as case_services
from ...services import workflow
from ...services.audit import audit_list, audit_record
from .. import pages
from ..common import case_url, form_view
from ..forms import CaseCreateForm, CaseFilterForm, MoveForm, PatientForm, ReferralForm

PAGE_SIZE = 25


SEARCH_SESSION_KEY = "tb_case_search"


@login_required
def case_list(request):
    """The case list. Its search goes by POST and is kept in the session, so a patient's name or MRN never
    appears in a URL (nor in any access log, browser history or Referer); the other filters stay in the URL."""
    if request.method == "POST":
        return _keep_search(request)
    if "clear" in request.GET:
        request.session.pop(SEARCH_SESSION_KEY, None)
        return redirect("case-list")
    form = _filter_form(request, _with_kept_search(request))
    cases = selectors.case_list(user=request.user, **form.filters())
    page = Paginator(cases, PAGE_SIZE).get_page(request.GET.get("page"))
    can_register = permissions.can_anywhere(request.user, "patient.create")
    audit_list(actor=request.user, action="case.list", query=form.data, rows=page, object_type="case")
    return render(request, "cases/case_list.html", {"form": form, "page": page, "can_register": can_register})


def _filter_form(request, data) -> CaseFilterForm:
    memberships = permissions.memberships_of(request.user).values()
    return CaseFilterForm(data, memberships=memberships, meetings=selectors.meeting_list(user=request.user))


def _keep_search(request):
    """A posted search goes into the session and the other filters into the URL; a refused search shows (400)."""
    posted = _filter_form(request, request.POST)
    if not posted.is_valid() and "q" in posted.errors:
        return render(request, "cases/case_list.html", {"form": posted, "page": None}, status=400)
    request.session[SEARCH_SESSION_KEY] = posted.cleaned_data.get("q", "")
    kept = {k: v for k, v in request.POST.items() if k not in ("q", "csrfmiddlewaretoken", "page") and v}
    return redirect(reverse("case-list") + ("?" + urlencode(kept) if kept else ""))


def _with_kept_search(request):
    """The URL's filters, with the search kept in the session unless the URL names one."""
    data = request.GET.copy()
    if "q" not in data:
        data["q"] = request.session.get(SEARCH_SESSION_KEY, "")
    return data


@login_required
def case_detail(request, pk):
    case = selectors.case_detail(user=request.user, pk=pk)
    audit_record(actor=request.user, action="case.view", obj=case)
    context = pages.case_page_context(request.user, case)
    # Coordinators see who opened or printed the case (this visit included).
    context["viewers"] = selectors.case_viewers(case_id=case.pk) if "case.viewers" in context["can"] else None
    return render(request, "cases/case_detail.html", context)


@login_required
def patient_detail(request, pk):
    patient = permissions.get_patient_for_user(request.user, pk)
    audit_record(actor=request.user, action="patient.view", obj=patient)
    context = {
        "patient": patient,
        "cases": selectors.patient_cases(user=request.user, patient=patient),
        "can_add_case": not patient.is_merged and permissions.can_anywhere(request.user, "case.create"),
        "can_merge": not patient.is_merged
        and permissions.can(request.user, "patient.merge", patient.registered_board_id),
        "merged_records": list(patient.merged_records.all()),
    }
    return render(request, "cases/patient_detail.html", context)


@login_required
def patient_new(request):
    memberships = permissions.memberships_allowing(request.user, "patient.create")
    form = PatientForm(request.POST or None, memberships=memberships)
    return form_view(
        request,
        form,
        lambda: case_services.patient_create(by=request.user, **form.service_data()),
        once="patient.create",
        done=lambda patient: f"{patient.full_name} is registered. Now register the case (referral).",
        success=lambda patient: reverse("case-new", args=[patient.pk]),
        page=lambda: pages.patient_new_page(request, form),
    )


@login_required
def case_new(request, patient_pk):
    patient = permissions.get_patient_for_user(request.user, patient_pk)
    open_cases = selectors.open_cases_of(user=request.user, patient=patient)
    memberships = permissions.memberships_allowing(request.user, "case.create")
    form = CaseCreateForm(request.POST or None, memberships=memberships, has_open_cases=bool(open_cases))
    return form_view(
        request,
        form,
        lambda: case_services.case_create(patient=patient, by=request.user, **form.service_data()),
        once="case.create",
        done=lambda case: f"Case {case.pk} is registered.",
        success=case_url,
        page=lambda: pages.case_new_page(request, form, patient, open_cases),
    )


@login_required
def referral_edit(request, pk):
    case = permissions.get_case_for_user(request.user, pk, "case.update")
    form = ReferralForm.editing(case, request.POST or None)
    return form_view(
        request,
        form,
        lambda: case_services.case_update(case=case, by=request.user, **form.service_data()),
        done="The referral is saved.",
        success=case_url(case),
        page=lambda: pages.referral_page(request, form, case),
    )


@login_required
def case_move(request, pk, to):
    """The stage bar posts here; the page itself is shown when a move needs a reason or was refused."""
    case = permissions.get_case_for_user(request.user, pk, "case.transition")
    if to not in Stage.values:
        raise Http404("There is no such stage.")
    form = MoveForm.editing(case, request.POST or None)
    return form_view(
        request,
        form,
        lambda: workflow.case_transition(case=case, to=to, by=request.user, **form.service_data()),
        done=f"The case moved to {Stage(to).label.lower()}.",
        success=case_url(case),
        page=lambda: pages.move_page(request, form, case, to),
    )


@require_POST
@login_required
def case_move_back(request, pk):
    """The stage bar's "move back" form names its target in a field; send it to the move page."""
    to = request.POST.get("to", "")
    if to not in Stage.values:
        raise Http404("There is no such stage.")
    return case_move(request, pk, to)
