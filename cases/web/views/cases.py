"""Patients and cases: the list, the case page, registration, the referral and stage moves."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.views.decorators.http import require_POST

from ... import permissions, selectors
from ...models import Case, FollowUpStatus, Specialty, Stage
from ...services import cases as case_services
from ...services import opinions, workflow
from ...services.audit import audit_list, audit_record
from ..common import case_url, form_page, submit, submit_once
from ..forms import CaseCreateForm, CaseFilterForm, MoveForm, PatientForm, ReferralForm

PAGE_SIZE = 25


SEARCH_SESSION_KEY = "tb_case_search"


@login_required
def case_list(request):
    """The case list. Its search goes by POST and is kept in the session, so a patient's name or MRN never
    appears in a URL (nor in any access log, browser history or Referer); the other filters stay in the URL."""
    if request.method == "POST":
        posted = CaseFilterForm(
            request.POST,
            memberships=permissions.memberships_of(request.user).values(),
            meetings=selectors.meeting_list(user=request.user),
        )
        if not posted.is_valid() and "q" in posted.errors:
            return render(request, "cases/case_list.html", {"form": posted, "page": None}, status=400)
        request.session[SEARCH_SESSION_KEY] = posted.cleaned_data.get("q", "")
        kept = {k: v for k, v in request.POST.items() if k not in ("q", "csrfmiddlewaretoken", "page") and v}
        return redirect(reverse("case-list") + ("?" + urlencode(kept) if kept else ""))
    if "clear" in request.GET:
        request.session.pop(SEARCH_SESSION_KEY, None)
        return redirect("case-list")
    data = request.GET.copy()
    if "q" not in data:
        data["q"] = request.session.get(SEARCH_SESSION_KEY, "")
    form = CaseFilterForm(
        data,
        memberships=permissions.memberships_of(request.user).values(),
        meetings=selectors.meeting_list(user=request.user),
    )
    cases = selectors.case_list(user=request.user, **form.filters())
    page = Paginator(cases, PAGE_SIZE).get_page(request.GET.get("page"))
    can_register = permissions.can_anywhere(request.user, "patient.create")
    audit_list(actor=request.user, action="case.list", query=data, rows=page, object_type="case")
    return render(request, "cases/case_list.html", {"form": form, "page": page, "can_register": can_register})


def case_page_context(user, case) -> dict:
    """Everything the case page shows, read from the rows `selectors.case_detail` prefetched."""
    reports = selectors.pathology_chain(case)
    grouped, missing = selectors.opinions_by_specialty(case)
    membership = permissions.membership(user, case.board_id)
    can = permissions.allowed_actions(user, case.board_id)
    moves = workflow.next_moves(case)
    if case.is_withdrawn:
        # A withdrawn case is read, not changed: no buttons but the list of who viewed it.
        can, moves = can & {"case.viewers"}, []
    follow_ups, today = list(case.follow_ups.all()), timezone.localdate()
    for follow_up in follow_ups:
        follow_up.overdue = follow_up.is_overdue_on(today)
        follow_up.closable = follow_up.status == FollowUpStatus.PLANNED and permissions.can_close_follow_up(
            user, follow_up
        )
    stage_index = workflow.ORDER.index(case.stage)
    return {
        "case": case,
        "patient": case.patient,
        "missing_referral": [Case._meta.get_field(name).verbose_name for name in case.missing_referral_fields],
        "membership": membership,
        "can": can,
        "stages": [(value, label, i - stage_index) for i, (value, label) in enumerate(Stage.choices)],
        "forward_moves": [m for m in moves if not m.is_back],
        "back_moves": [m for m in moves if m.is_back],
        "studies": selectors.imaging_record(case),
        "reports": reports,
        "current_report_ids": {r.pk for r in reports if r.is_current},
        "opinion_groups": [(Specialty(code).label, rows) for code, rows in grouped.items()],
        "missing_specialties": [Specialty(code).label for code in missing],
        "my_opinion": next((o for o in case.opinions.all() if o.author_id == user.pk), None),
        "input_open": not opinions.input_is_closed(case),
        "decisions": case.decisions.all(),
        "has_draft": workflow.draft_decision(case) is not None,
        "follow_ups": follow_ups,
        "agenda_items": case.agenda_items.all(),
        "events": case.events.all(),
        "changes": selectors.pathology_changes(case),
        "decision_under_review": any(d.needs_review for d in case.decisions.all()),
        "stale_inputs": [o for o in case.opinions.all() if o.is_stale],
    }


@login_required
def case_detail(request, pk):
    case = selectors.case_detail(user=request.user, pk=pk)
    audit_record(actor=request.user, action="case.view", obj=case)
    context = case_page_context(request.user, case)
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
    if request.method == "POST" and form.is_valid():
        fields = {name: value for name, value in form.cleaned_data.items() if name != "board"}
        ok, patient = submit_once(
            request,
            form,
            lambda: case_services.patient_create(board=form.cleaned_data["board"], by=request.user, **fields),
            scope="patient.create",
            done=lambda patient: f"{patient.full_name} is registered. Now register the case (referral).",
        )
        if ok:
            return redirect("case-new", patient.pk)
    return form_page(
        request,
        form,
        title="Register a patient",
        submit_label="Register patient",
        cancel="dashboard",
        intro="Not sure whether the patient is registered already? Search the patients first.",
        existing=already_registered(request.user, form),
    )


def already_registered(user, form):
    """The patient a refused registration's MRN belongs to, when the user may open that record."""
    if "mrn" not in form.errors:
        return None
    try:
        # Only an MRN the field accepts (a NUL byte or an overlong one never reaches the database).
        mrn = form.fields["mrn"].clean(form.data.get("mrn", ""))
    except ValidationError:
        return None
    return permissions.patients_visible_to(user).filter(mrn__iexact=mrn.strip()).first()


@login_required
def case_new(request, patient_pk):
    patient = permissions.get_patient_for_user(request.user, patient_pk)
    open_cases = selectors.open_cases_of(user=request.user, patient=patient)
    form = CaseCreateForm(
        request.POST or None,
        memberships=permissions.memberships_allowing(request.user, "case.create"),
        has_open_cases=bool(open_cases),
    )
    if request.method == "POST" and form.is_valid():
        ok, case = submit_once(
            request,
            form,
            lambda: case_services.case_create(
                patient=patient,
                board=form.cleaned_data["board"],
                by=request.user,
                refuse_second_open_case=not form.cleaned_data.get("confirm_second_case"),
                **form.case_fields(),
            ),
            scope="case.create",
            done=lambda case: f"Case {case.pk} is registered.",
        )
        if ok:
            return redirect("case-detail", case.pk)
    return form_page(
        request,
        form,
        title=f"New case for {patient.full_name} ({patient.mrn})",
        submit_label="Register case",
        cancel=reverse("patient-detail", args=[patient.pk]),
        open_cases=open_cases,
    )


@login_required
def referral_edit(request, pk):
    case = permissions.get_case_for_user(request.user, pk, "case.update")
    initial = {name: getattr(case, name) for name in ReferralForm.base_fields} | {"version": case.version}
    form = ReferralForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        fields = {name: value for name, value in form.cleaned_data.items() if name != "version"}
        ok, _ = submit(
            form,
            lambda: case_services.case_update(
                case=case, by=request.user, expected_version=form.cleaned_data["version"], **fields
            ),
        )
        if ok:
            messages.success(request, "The referral is saved.")
            return redirect("case-detail", case.pk)
    return form_page(
        request,
        form,
        title="Edit the referral",
        submit_label="Save referral",
        cancel=case_url(case),
        case=case,
        stale=stale_differences(form, case),
    )


def stale_differences(form, obj) -> list[tuple[str, object, object]] | None:
    """After a refused stale edit: each field whose saved value now differs from what the user sent
    (label, saved now, sent), so they see what changed before reloading. None when the edit was not stale."""
    if not form.is_bound or form.cleaned_data.get("version") in (None, obj.version):
        return None
    obj.refresh_from_db()
    rows = []
    for name, value in form.cleaned_data.items():
        if name != "version" and hasattr(obj, name) and getattr(obj, name) != value:
            field = form.fields[name]
            saved = getattr(obj, f"get_{name}_display")() if hasattr(obj, f"get_{name}_display") else getattr(obj, name)
            rows.append((field.label or name.replace("_", " ").capitalize(), saved, value))
    return rows


@login_required
def case_move(request, pk, to):
    """The stage bar posts here; the page itself is shown when a move needs a reason or was refused."""
    case = permissions.get_case_for_user(request.user, pk, "case.transition")
    if to not in Stage.values:
        raise Http404("There is no such stage.")
    form = MoveForm(request.POST or None, initial={"version": case.version})
    if request.method == "POST" and form.is_valid():
        ok, _ = submit(
            form,
            lambda: workflow.case_transition(
                case=case,
                to=to,
                by=request.user,
                note=form.cleaned_data["note"],
                expected_version=form.cleaned_data["version"],
            ),
        )
        if ok:
            messages.success(request, f"The case moved to {Stage(to).label.lower()}.")
            return redirect("case-detail", case.pk)
    back = workflow.is_back_move(case.stage, to) if to in workflow.allowed_targets(case.stage) else False
    return form_page(
        request,
        form,
        title=f"Move the case from {case.get_stage_display().lower()} to {Stage(to).label.lower()}",
        submit_label=f"Move to {Stage(to).label.lower()}",
        cancel=case_url(case),
        case=case,
        intro="A move back needs a reason, recorded in the timeline." if back else "",
    )


@require_POST
@login_required
def case_move_back(request, pk):
    """The stage bar's "move back" form names its target in a field; send it to the move page."""
    to = request.POST.get("to", "")
    if to not in Stage.values:
        raise Http404("There is no such stage.")
    return case_move(request, pk, to)
