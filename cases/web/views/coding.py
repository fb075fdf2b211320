"""The case's coded data: primary diagnosis, comorbidities, TNM staging history; and the code search
behind the pickers (an HTML page without JavaScript, JSON for static/js/code-picker.js)."""

from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_POST

from ... import codes, permissions
from ...services import coding
from ...services.audit import audit_record
from .. import pages
from ..coding_forms import ComorbidityForm, PrimaryDiagnosisForm, StagingForm
from ..common import form_view

FORMS = {"primary": PrimaryDiagnosisForm, "comorbidity": ComorbidityForm, "staging": StagingForm}


@login_required
def case_coding(request, pk):
    case = permissions.get_case_for_user(request.user, pk)
    audit_record(actor=request.user, action="case.coding_view", obj=case)
    return pages.coding_page(request, case)


def _post(request, pk, name: str, call, done: str):
    case = permissions.get_case_for_user(request.user, pk, "coding.record")
    form = FORMS[name](request.POST)
    return form_view(
        request,
        form,
        lambda: call(case=case, by=request.user, **form.service_data()),
        done=done,
        success=reverse("case-coding", args=[case.pk]),
        page=lambda: pages.coding_page(request, case, {name: form}),
    )


@login_required
@require_POST
def coding_primary(request, pk):
    return _post(request, pk, "primary", coding.diagnosis_set_primary, "The primary diagnosis is coded.")


@login_required
@require_POST
def coding_comorbidity(request, pk):
    return _post(request, pk, "comorbidity", coding.comorbidity_add, "The comorbidity is added.")


@login_required
@require_POST
def coding_staging(request, pk):
    done = "The staging is recorded; earlier stagings stay in the history."
    return _post(request, pk, "staging", coding.staging_record, done)


@login_required
def code_search(request):
    """?list=icd-10-cm&q=renal: an HTML page of matches, or JSON with ?format=json (the picker)."""
    list_name = request.GET.get("list", "")
    term = request.GET.get("q", "")[:100]
    found = codes.search(list_name, term) if list_name in codes.SEARCHABLE else []
    if request.GET.get("format") == "json":
        return JsonResponse({"results": [coding.as_dict() for coding in found]})
    context = {"lists": sorted(codes.SEARCHABLE), "list_name": list_name, "term": term, "found": found}
    return render(request, "cases/code_search.html", context)
