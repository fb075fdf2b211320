"""Finding patients, and mending registration mistakes: withdraw a case, merge a patient registered twice."""

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import reverse

from ... import permissions, selectors
from ...services import records
from ...services.audit import audit_list
from .. import pages
from ..common import already_made, case_url, form_view, refused_status
from ..forms import MergeChooseForm, PatientSearchForm, WithdrawForm

PAGE_SIZE = 25
SEARCH_LIMIT = 50


@login_required
def patient_list(request):
    """Recently registered patients; a search (POSTed, so names and MRNs stay out of URLs and logs) finds one."""
    form = PatientSearchForm(request.POST if request.method == "POST" else None)
    if form.is_bound and form.is_valid():
        context = _found(request, form)
    else:
        page = Paginator(selectors.patient_find(user=request.user), PAGE_SIZE).get_page(request.GET.get("page"))
        audit_list(actor=request.user, action="patient.list", query=request.GET, rows=page, object_type="patient")
        context = {"form": form, "page": page}
    context["can_register"] = any(
        permissions.can(request.user, "patient.create", b) for b in permissions.visible_board_ids(request.user)
    )
    return render(request, "cases/patient_list.html", context, status=refused_status(form))


def _found(request, form) -> dict:
    """The patients a search finds (the first SEARCH_LIMIT), audited with the term."""
    term = form.cleaned_data["q"]
    found = list(selectors.patient_find(user=request.user, term=term)[: SEARCH_LIMIT + 1])
    results = found[:SEARCH_LIMIT]
    audit_list(actor=request.user, action="patient.search", query={"q": term}, rows=results, object_type="patient")
    return {"form": form, "results": results, "more": len(found) > SEARCH_LIMIT, "term": term}


@login_required
def case_withdraw(request, pk):
    case = permissions.get_case_for_user(request.user, pk, "case.withdraw")
    form = WithdrawForm.editing(case, request.POST or None)
    return form_view(
        request,
        form,
        lambda: records.case_withdraw(case=case, by=request.user, **form.service_data()),
        done=f"Case {case.pk} is withdrawn. Its history stays readable here.",
        success=case_url(case),
        title=f"Withdraw case {case.pk}",
        submit_label="Withdraw the case",
        cancel=case_url(case),
        case=case,
        intro=pages.WITHDRAW_INTRO,
    )


@login_required
def patient_merge(request, pk):
    """Choose the record to keep (GET ?keep=MRN), see what moves, then confirm (POST)."""
    duplicate = permissions.get_patient_for_user(request.user, pk)
    permissions.require(request.user, "patient.merge", duplicate.registered_board_id)
    if (kept := already_made(request, "patient.merge")) is not None:
        return redirect("patient-detail", kept.pk)
    form, keep, preview = _merge_form(request, duplicate)
    return form_view(
        request,
        form,
        lambda: records.patient_merge(duplicate=duplicate, keep=keep, by=request.user),
        once="patient.merge",
        done=lambda kept: f"{duplicate.mrn} is merged into {kept.mrn}: its cases are now on this record.",
        success=lambda kept: reverse("patient-detail", args=[kept.pk]),
        page=lambda: pages.merge_page(request, form, duplicate, keep, preview),
    )


def _merge_form(request, duplicate):
    """The form, the record to keep and what the merge would move; a posted merge it would refuse says why."""
    source = request.POST if request.method == "POST" else request.GET
    form = MergeChooseForm(source if "keep" in source else None)
    keep = preview = None
    if form.is_bound and form.is_valid():
        keep = _record_to_keep(request, duplicate, form.cleaned_data["keep"])
        if keep is None:
            form.add_error("keep", "No other patient with this medical record number is on your boards.")
        else:
            preview = records.patient_merge_preview(duplicate=duplicate, keep=keep, by=request.user)
    if request.method == "POST" and preview is not None and not preview.allowed:
        form.add_error(None, " ".join(preview.problems))
    return form, keep, preview


def _record_to_keep(request, duplicate, mrn: str):
    keep = selectors.patient_find(user=request.user).filter(mrn__iexact=mrn.strip()).first()
    return keep if keep is not None and keep.pk != duplicate.pk else None
