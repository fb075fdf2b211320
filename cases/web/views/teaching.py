"""Teaching sets in the portal: prepare from a case or a meeting, preview (original beside the scrubbed text,
edit), approve (another reviewer), print. The rules are in cases/services/teaching.py."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from ... import permissions, selectors
from ...printing.documents import http_response
from ...printing.teaching import render_teaching_set
from ...refusals import refusal_response
from ...services import teaching as services
from ...services.errors import Conflict
from ...teaching.export import preview
from ..common import form_page, refused_status, submit, submit_once
from ..forms import TeachingApproveForm, TeachingImageForm, TeachingSetForm, TeachingTextForm


def teaching_url(teaching_set, anchor: str = "") -> str:
    return reverse("teaching-detail", args=[teaching_set.pk]) + (f"#{anchor}" if anchor else "")


@login_required
@require_GET
def teaching_list(request):
    rows = selectors.teaching_set_list(user=request.user).prefetch_related("cases")
    return render(request, "teaching/teaching_list.html", {"teaching_sets": rows[:200]})


PREPARED = "Teaching set prepared: include and check the text it should show."


def _identifiers(form, cases) -> dict[int, str]:
    text = form.cleaned_data.get("other_identifiers", "")
    return {case.pk: text for case in cases} if text else {}


@login_required
def teaching_new_case(request, pk):
    case = permissions.get_case_for_user(request.user, pk)
    permissions.require(request.user, "teaching.prepare", case.board_id)
    form = TeachingSetForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        ok, teaching_set = submit_once(request, form, lambda: services.teaching_set_create(
            by=request.user, cases=[case], other_identifiers=_identifiers(form, [case])),
            scope="teaching_set.create", done=PREPARED)  # fmt: skip
        if ok:
            return redirect(teaching_url(teaching_set))
    return form_page(request, form, title="Prepare a teaching set", submit_label="Prepare", case=case,
                     cancel=reverse("case-detail", args=[case.pk]), intro=INTRO)  # fmt: skip


@login_required
def teaching_new_meeting(request, pk):
    meeting = selectors.meeting_detail(user=request.user, pk=pk)
    permissions.require(request.user, "teaching.prepare", meeting.board_id)
    items = list(meeting.agenda_items.all())
    choices = [(item.case_id, f"{item.position}. {item.case.patient.full_name}") for item in items]
    form = TeachingSetForm(request.POST if request.method == "POST" else None, choices=choices)
    if request.method == "POST" and form.is_valid():
        by_id = {item.case_id: item.case for item in items}
        cases = [by_id[pk] for pk in form.cleaned_data["cases"]]
        ok, teaching_set = submit_once(request, form, lambda: services.teaching_set_create(
            by=request.user, cases=cases, meeting=meeting, other_identifiers=_identifiers(form, cases)),
            scope="teaching_set.create", done=PREPARED)  # fmt: skip
        if ok:
            return redirect(teaching_url(teaching_set))
    return form_page(request, form, title="Prepare a teaching set from this meeting", submit_label="Prepare",
                     cancel=reverse("meeting-detail", args=[meeting.pk]), intro=INTRO)  # fmt: skip


INTRO = (
    "A teaching copy shows structured facts (age band, sex, stage, modality, diagnoses, plan categories) "
    "under a random teaching code, with days from the referral instead of dates. Free text goes in only "
    "as you include and check it; a reviewer of this board who is not you approves it before it prints."
)


def teaching_page(request, teaching_set_id, *, bound=None):
    """The preview: every field's original beside its scrubbed text; the forms to include, edit, approve."""
    teaching_set, rows = selectors.teaching_set_detail(user=request.user, pk=teaching_set_id)
    services.teaching_set_view_record(teaching_set=teaching_set, by=request.user)
    is_preparer = teaching_set.prepared_by_id == request.user.pk
    context = {
        "teaching_set": teaching_set,
        "cases": preview(teaching_set, rows),
        "is_preparer": is_preparer,
        "can_edit": is_preparer and not teaching_set.is_approved,
        "can_approve": not is_preparer
        and not teaching_set.is_approved
        and permissions.can_review_teaching(request.user, teaching_set.board_id),
        "bound": bound,
    }
    return render(request, "teaching/teaching_detail.html", context, status=refused_status(bound))


@login_required
@require_GET
def teaching_detail(request, pk):
    return teaching_page(request, pk)


def _visible_set(user, pk):
    return permissions.get_visible(permissions.teaching_sets_visible_to(user), pk)


@require_POST
@login_required
def teaching_text(request, pk):
    teaching_set = _visible_set(request.user, pk)
    form = TeachingTextForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        common = {"teaching_set": teaching_set, "by": request.user, "key": data["field"],
                  "expected_version": data["version"]}  # fmt: skip
        call = {
            "include": lambda: services.teaching_text_include(**common),
            "save": lambda: services.teaching_text_edit(**common, text=data["text"]),
            "exclude": lambda: services.teaching_text_exclude(**common),
        }[data["action"]]
        ok, _ = submit(form, call)
        if ok:
            messages.success(
                request, {"include": "Included.", "save": "Saved.", "exclude": "Left out."}[data["action"]]
            )
            return redirect(teaching_url(teaching_set, "texts"))
    return teaching_page(request, teaching_set.pk, bound=form)


@require_POST
@login_required
def teaching_image(request, pk):
    teaching_set = _visible_set(request.user, pk)
    form = TeachingImageForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        image = permissions.get_visible(permissions.key_images_visible_to(request.user).select_related("study"),
                                        data["key_image"])  # fmt: skip
        common = {"teaching_set": teaching_set, "by": request.user, "key_image": image,
                  "expected_version": data["version"]}  # fmt: skip
        if data["action"] == "include":
            call = lambda: services.teaching_image_include(  # noqa: E731
                **common, no_burned_in_identifiers=data["no_burned_in_identifiers"]
            )
        else:
            call = lambda: services.teaching_image_exclude(**common)  # noqa: E731
        ok, _ = submit(form, call)
        if ok:
            messages.success(request, "Image included." if data["action"] == "include" else "Image left out.")
            return redirect(teaching_url(teaching_set, "images"))
    return teaching_page(request, teaching_set.pk, bound=form)


@require_POST
@login_required
def teaching_approve(request, pk):
    teaching_set = _visible_set(request.user, pk)
    form = TeachingApproveForm(request.POST)
    if form.is_valid():
        ok, _ = submit(form, lambda: services.teaching_set_approve(
            teaching_set=teaching_set, by=request.user, expected_version=form.cleaned_data["version"]))  # fmt: skip
        if ok:
            messages.success(request, "Approved: the teaching copy can be printed.")
            return redirect(teaching_url(teaching_set))
    return teaching_page(request, teaching_set.pk, bound=form)


@login_required
@require_GET
def teaching_pdf(request, pk):
    try:
        pdf = render_teaching_set(user=request.user, teaching_set_id=pk)
    except Conflict as refused:
        return refusal_response(request, 409, refused.code, refused.message)
    services.teaching_set_print_record(teaching_set=pdf.subject, by=request.user, options=pdf.options)
    return http_response(pdf)
