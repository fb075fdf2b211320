"""Teaching sets in the portal: prepare from a case or a meeting, preview (original beside the scrubbed text,
edit), approve (another reviewer), print. The rules are in cases/services/teaching.py."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from ... import permissions, selectors
from ...printing.documents import http_response
from ...printing.teaching import render_teaching_set
from ...refusals import refusal_response
from ...services import teaching as services
from ...services.errors import Conflict
from .. import pages
from ..common import form_view
from ..forms import TeachingApproveForm, TeachingImageForm, TeachingSetForm, TeachingTextForm


def teaching_url(teaching_set, anchor: str = "") -> str:
    return reverse("teaching-detail", args=[teaching_set.pk]) + (f"#{anchor}" if anchor else "")


@login_required
@require_GET
def teaching_list(request):
    rows = selectors.teaching_set_list(user=request.user).prefetch_related("cases")
    return render(request, "teaching/teaching_list.html", {"teaching_sets": rows[:200]})


PREPARED = "Teaching set prepared: include and check the text it should show."


def _prepare(by, form, cases, **where):
    """The new set; the other names to look for are looked for in each of its cases."""
    text = form.cleaned_data.get("other_identifiers", "")
    identifiers = {case.pk: text for case in cases} if text else {}
    return services.teaching_set_create(by=by, cases=cases, other_identifiers=identifiers, **where)


@login_required
def teaching_new_case(request, pk):
    case = permissions.get_case_for_user(request.user, pk, "teaching.prepare")
    form = TeachingSetForm(request.POST if request.method == "POST" else None)
    return form_view(
        request,
        form,
        lambda: _prepare(request.user, form, [case]),
        once="teaching_set.create",
        done=PREPARED,
        success=teaching_url,
        page=lambda: pages.prepare_page(request, form, case=case),
    )


@login_required
def teaching_new_meeting(request, pk):
    meeting = selectors.meeting_detail(user=request.user, pk=pk, action="teaching.prepare")
    data = request.POST if request.method == "POST" else None
    form = TeachingSetForm(data, agenda_items=list(meeting.agenda_items.all()))
    return form_view(
        request,
        form,
        lambda: _prepare(request.user, form, form.chosen_cases(), meeting=meeting),
        once="teaching_set.create",
        done=PREPARED,
        success=teaching_url,
        page=lambda: pages.prepare_page(request, form, meeting=meeting),
    )


@login_required
@require_GET
def teaching_detail(request, pk):
    return pages.teaching_set_page(request, pk)


def _visible_set(user, pk):
    return permissions.get_visible(permissions.teaching_sets_visible_to(user), pk)


TEXT_DONE = {"include": "Included.", "save": "Saved.", "exclude": "Left out."}


@require_POST
@login_required
def teaching_text(request, pk):
    teaching_set = _visible_set(request.user, pk)
    form = TeachingTextForm(request.POST)
    return form_view(
        request,
        form,
        lambda: _text_change(teaching_set, request.user, form.cleaned_data),
        done=lambda _: TEXT_DONE[form.cleaned_data["action"]],
        success=teaching_url(teaching_set, "texts"),
        page=lambda: pages.teaching_set_page(request, teaching_set.pk, bound=form),
    )


def _text_change(teaching_set, by, data):
    """Include a field's scrubbed text, save my own text for it, or leave it out."""
    common = {"teaching_set": teaching_set, "by": by, "key": data["field"], "expected_version": data["version"]}
    if data["action"] == "include":
        return services.teaching_text_include(**common)
    if data["action"] == "save":
        return services.teaching_text_edit(**common, text=data["text"])
    return services.teaching_text_exclude(**common)


@require_POST
@login_required
def teaching_image(request, pk):
    teaching_set = _visible_set(request.user, pk)
    form = TeachingImageForm(request.POST)
    return form_view(
        request,
        form,
        lambda: _image_change(teaching_set, request.user, form.cleaned_data),
        done=lambda _: "Image included." if form.cleaned_data["action"] == "include" else "Image left out.",
        success=teaching_url(teaching_set, "images"),
        page=lambda: pages.teaching_set_page(request, teaching_set.pk, bound=form),
    )


def _image_change(teaching_set, by, data):
    """Include a key image (its uploader's look for drawn-in identifiers confirmed), or leave it out."""
    images = permissions.key_images_visible_to(by).select_related("study")
    image = permissions.get_visible(images, data["key_image"])  # 404 for an image of another board
    common = {"teaching_set": teaching_set, "by": by, "key_image": image, "expected_version": data["version"]}
    if data["action"] == "include":
        return services.teaching_image_include(**common, no_burned_in_identifiers=data["no_burned_in_identifiers"])
    return services.teaching_image_exclude(**common)


@require_POST
@login_required
def teaching_approve(request, pk):
    teaching_set = _visible_set(request.user, pk)
    form = TeachingApproveForm(request.POST)
    return form_view(
        request,
        form,
        lambda: services.teaching_set_approve(teaching_set=teaching_set, by=request.user, **form.service_data()),
        done="Approved: the teaching copy can be printed.",
        success=teaching_url(teaching_set),
        page=lambda: pages.teaching_set_page(request, teaching_set.pk, bound=form),
    )


@login_required
@require_GET
def teaching_pdf(request, pk):
    try:
        pdf = render_teaching_set(user=request.user, teaching_set_id=pk)
    except Conflict as refused:
        return refusal_response(request, 409, refused.code, refused.message)
    services.teaching_set_print_record(teaching_set=pdf.subject, by=request.user, options=pdf.options)
    return http_response(pdf)
