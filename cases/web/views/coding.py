"""The case's coded data: primary diagnosis, comorbidities, TNM staging history; and the code search
behind the pickers (an HTML page without JavaScript, JSON for static/js/code-picker.js)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from ... import codes, permissions, selectors
from ...codes import tnm
from ...services import coding
from ...services.audit import audit_record
from ..coding_forms import ComorbidityForm, PrimaryDiagnosisForm, StagingForm
from ..common import refused_status, submit

FORMS = {"primary": PrimaryDiagnosisForm, "comorbidity": ComorbidityForm, "staging": StagingForm}


def _page(request, case, bound: dict | None = None):
    data = selectors.case_coding(case=case)
    primary = data["primary"]
    initial = {name: getattr(primary, name) for name in coding.DIAGNOSIS_FIELDS} if primary else {}
    forms = {
        "primary": PrimaryDiagnosisForm(initial={**initial, "version": primary.version if primary else None}),
        "comorbidity": ComorbidityForm(),
        "staging": StagingForm(),
        **(bound or {}),
    }
    context = {
        "case": case,
        "coding": data,
        "forms": forms,
        "can_code": permissions.can(request.user, "coding.record", case.board_id),
        "staging_labels": {s.pk: coding.staging_label(s) for s in data["stagings"]},
        "behaviour": codes.behaviour(primary.morphology) if primary else "",
        "editions": tnm.EDITIONS,
    }
    return render(request, "cases/coding.html", context, status=refused_status(*(bound or {}).values()))


@login_required
def case_coding(request, pk):
    case = permissions.get_case_for_user(request.user, pk)
    audit_record(actor=request.user, action="case.coding_view", obj=case)
    return _page(request, case)


def _post(request, pk, name: str, call, done: str):
    case = permissions.get_case_for_user(request.user, pk)
    permissions.require(request.user, "coding.record", case.board_id)
    form = FORMS[name](request.POST)
    if form.is_valid():
        ok, _ = submit(form, lambda: call(case, form))
        if ok:
            messages.success(request, done)
            return redirect(reverse("case-coding", args=[case.pk]))
    return _page(request, case, {name: form})


@login_required
@require_POST
def coding_primary(request, pk):
    def call(case, form):
        fields = form.service_fields()
        return coding.diagnosis_set_primary(
            case=case, by=request.user, expected_version=form.cleaned_data["version"], **fields
        )

    return _post(request, pk, "primary", call, "The primary diagnosis is coded.")


@login_required
@require_POST
def coding_comorbidity(request, pk):
    return _post(
        request,
        pk,
        "comorbidity",
        lambda case, form: coding.comorbidity_add(case=case, by=request.user, **form.cleaned_data),
        "The comorbidity is added.",
    )


@login_required
@require_POST
def coding_staging(request, pk):
    return _post(
        request,
        pk,
        "staging",
        lambda case, form: coding.staging_record(case=case, by=request.user, **form.cleaned_data),
        "The staging is recorded; earlier stagings stay in the history.",
    )


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
