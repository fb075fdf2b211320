"""The clinical records of a case: imaging and key images, pathology, specialty input, decisions, follow-up."""

import re
from pathlib import PurePath

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from ... import permissions, selectors
from ...models import FollowUpStatus
from ...services import decisions, followups, imaging, opinions, pathology, workflow
from ...services.audit import audit_record
from ...services.idempotency import note_object
from .. import pages
from ..common import act, case_url, confirmed_post, form_view, posted_version
from ..forms import (
    AmendmentForm,
    ConfirmForm,
    DeviationForm,
    FollowUpChangeForm,
    ImagingAddendumForm,
    ImagingAmendForm,
    ImagingStudyForm,
    OpinionForm,
    PathologyReportForm,
    SignForm,
    SurveillanceForm,
)

IMAGE_TYPES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
}


# Imaging ----------------------------------------------------------------------------------------


@login_required
def imaging_new(request, pk):
    case = permissions.get_case_for_user(request.user, pk, "imaging.add")
    form = ImagingStudyForm(request.POST or None, request.FILES or None)
    return form_view(
        request,
        form,
        lambda: imaging.imaging_study_add(case=case, by=request.user, **form.service_data()),
        once="imaging.create",
        done="The imaging study is added.",
        success=case_url(case, "imaging"),
        title="Add an imaging study",
        submit_label="Add study",
        cancel=case_url(case),
        case=case,
    )


@login_required
def imaging_amend(request, pk):
    study = permissions.get_study_for_user(request.user, pk, "imaging.add")
    form = ImagingAmendForm.editing(study, request.POST or None)
    return form_view(
        request,
        form,
        lambda: imaging.imaging_study_amend(study=study, by=request.user, **form.service_data()),
        once="imaging.amend",
        done="The study is amended; the original stays visible, marked as superseded.",
        success=case_url(study.case, "imaging"),
        page=lambda: pages.imaging_amend_page(request, form, study),
    )


@login_required
def imaging_addendum(request, pk):
    study = permissions.get_study_for_user(request.user, pk, "imaging.add")
    form = ImagingAddendumForm(request.POST or None)
    return form_view(
        request,
        form,
        lambda: imaging.imaging_addendum_add(study=study, by=request.user, **form.service_data()),
        once="imaging.addendum",
        done="The addendum is added.",
        success=case_url(study.case, "imaging"),
        title=f"Add an addendum to the {study.get_modality_display()} of {study.body_site}",
        submit_label="Add addendum",
        cancel=case_url(study.case, "imaging"),
        case=study.case,
    )


@login_required
def key_image(request, pk):
    """Key images leave the server only through here: a member of another board gets 404."""
    image = permissions.get_key_image_for_user(request.user, pk)
    audit_record(actor=request.user, action="key_image.view", obj=image)
    try:
        handle = image.image.open("rb")
    except FileNotFoundError:
        raise Http404("The image file is missing.") from None
    # The stored suffix comes from the uploader's file name: only the image types we accept are
    # served as images, anything else as bytes (never, say, text/html from our own origin).
    content_type = IMAGE_TYPES.get(PurePath(image.image.name).suffix.lower(), "application/octet-stream")
    response = FileResponse(handle, content_type=content_type)
    # Patient images: not kept in the browser's cache of a shared ward computer.
    response["Cache-Control"] = "private, no-store"
    return response


# Pathology --------------------------------------------------------------------------------------


@login_required
def pathology_new(request, pk):
    case = permissions.get_case_for_user(request.user, pk, "pathology.add")
    form = PathologyReportForm(request.POST or None)
    return form_view(
        request,
        form,
        lambda: pathology.pathology_report_add(case=case, by=request.user, **form.service_data()),
        once="pathology.create",
        done="The pathology report is added.",
        success=case_url(case, "pathology"),
        title="Add a pathology report",
        submit_label="Add report",
        cancel=case_url(case),
        case=case,
    )


@login_required
def pathology_amend(request, pk):
    report = permissions.get_report_for_user(request.user, pk, "pathology.amend")
    form = AmendmentForm.editing(report, request.POST or None)
    return form_view(
        request,
        form,
        lambda: pathology.pathology_report_amend(report=report, by=request.user, **form.service_data()),
        once="pathology.amend",
        done="The report is amended; the original stays visible, marked as superseded.",
        success=case_url(report.case, "pathology"),
        page=lambda: pages.pathology_amend_page(request, form, report),
    )


@require_POST
@login_required
def pathology_sign_out(request, pk):
    report = permissions.get_report_for_user(request.user, pk)
    act(
        request,
        lambda: pathology.pathology_report_sign_out(
            report=report, by=request.user, expected_version=posted_version(request)
        ),
        "The report is signed out as final.",
    )
    return redirect(case_url(report.case, "pathology"))


# Specialty input --------------------------------------------------------------------------------


@login_required
def opinion_edit(request, pk):
    """Record my specialty's input, or edit the input I already recorded."""
    case = selectors.case_detail(user=request.user, pk=pk, action="opinion.record")
    specialty = permissions.membership(request.user, case.board_id).get_specialty_display().lower()
    mine = next((o for o in case.opinions.all() if o.author_id == request.user.pk), None)
    form = OpinionForm.editing(mine, request.POST or None)
    return form_view(
        request,
        form,
        lambda: _opinion_save(case, mine, request.user, form.cleaned_data),
        once="opinion.save",
        done=f"Your {specialty} input is saved.",
        success=case_url(case, "input"),
        page=lambda: pages.opinion_page(request, form, case, mine=mine, specialty=specialty),
    )


def _opinion_save(case, mine, by, data):
    """My input is updated at the version I saw; without one, it is recorded."""
    fields = {"assessment": data["assessment"], "recommendation": data["recommendation"]}
    if mine:
        return opinions.opinion_update(opinion=mine, by=by, expected_version=data["version"], **fields)
    return opinions.opinion_record(case=case, by=by, **fields)


@require_POST
@login_required
def opinion_confirm(request, pk):
    """ "My input stands": one audited click by the author of an input given on superseded pathology."""
    opinion = permissions.get_opinion_for_user(request.user, pk)
    act(
        request,
        lambda: opinions.opinion_confirm(opinion=opinion, by=request.user, expected_version=posted_version(request)),
        "Your input is re-confirmed on the amended pathology and counts for the consensus again.",
    )
    return redirect(case_url(opinion.case, "input"))


# Decisions --------------------------------------------------------------------------------------


def meeting_from_query(request) -> int | None:
    """The meeting a link pre-selects; anything but an id only leaves the choice to the user."""
    value = request.GET.get("meeting", "")
    return int(value) if re.fullmatch(r"[0-9]{1,18}", value) else None


@login_required
def decision_edit(request, pk):
    """Record the board's decision on a case, or edit its draft."""
    case = selectors.case_detail(user=request.user, pk=pk, action="decision.record")
    draft = workflow.draft_decision(case)
    form = pages.decision_form(request.POST or None, case, decision=draft, meeting_id=meeting_from_query(request))
    return form_view(
        request,
        form,
        lambda: _decision_save(case, draft, request.user, form),
        once="decision.save",
        done="The decision is saved as a draft; the chair signs it.",
        success=case_url(case, "decision"),
        back_to_next=True,
        page=lambda: pages.decision_page(request, form, case, draft=draft),
    )


def _decision_save(case, draft, by, form):
    """The draft is updated at the version the user saw; without one, the decision is recorded."""
    if draft:
        version = form.cleaned_data["version"]
        return decisions.decision_update(decision=draft, by=by, expected_version=version, **form.service_data())
    return decisions.decision_record(case=case, by=by, **form.service_data())


@login_required
def decision_correct(request, pk):
    decision = permissions.get_decision_for_user(request.user, pk, "decision.supersede")
    data = request.POST or None
    form = pages.decision_form(data, decision.case, decision=decision, correcting=True, meeting_id=decision.meeting_id)
    return form_view(
        request,
        form,
        lambda: decisions.decision_correct(
            decision=decision, by=request.user, reason=form.cleaned_data["supersede_reason"], **form.service_data()
        ),
        once="decision.correct",
        done="The correction is drafted; signing it supersedes the signed decision.",
        success=case_url(decision.case, "decision"),
        page=lambda: pages.decision_page(request, form, decision.case, correcting=True),
    )


@login_required
def decision_sign(request, pk):
    """Confirm, then sign: the page shows who is recorded as present, the basis and any unmet gate first."""
    decision = permissions.get_decision_for_user(request.user, pk, action="decision.sign")
    suspended = list(decision.case.follow_ups.filter(status=FollowUpStatus.SUSPENDED))
    data = request.POST if confirmed_post(request) else None
    form = SignForm.editing(decision, data, has_suspended=bool(suspended))
    return form_view(
        request,
        form,
        lambda: decisions.decision_sign(decision=decision, by=request.user, **form.service_data()),
        done="The decision is signed. Follow-up actions are planned and the referrer is told.",
        success=case_url(decision.case, "decision"),
        back_to_next=True,
        page=lambda: pages.sign_page(request, form, decision, suspended),
    )


# Follow-up --------------------------------------------------------------------------------------


@login_required
def follow_up_done(request, pk):
    follow_up = permissions.get_follow_up_for_user(request.user, pk)
    permissions.require_follow_up_closer(request.user, follow_up)
    form = ConfirmForm.editing(follow_up, request.POST if confirmed_post(request) else None)
    return form_view(
        request,
        form,
        lambda: followups.follow_up_complete(follow_up=follow_up, by=request.user, **form.service_data()),
        done="The follow-up is marked done.",
        success=case_url(follow_up.case, "follow-up"),
        page=lambda: pages.follow_up_done_page(request, form, follow_up),
    )


@login_required
def follow_up_deviate(request, pk):
    follow_up = permissions.get_follow_up_for_user(request.user, pk)
    form = DeviationForm.editing(follow_up, request.POST or None)
    return form_view(
        request,
        form,
        lambda: followups.follow_up_deviate(follow_up=follow_up, by=request.user, **form.service_data()),
        done="The follow-up is marked as deviated, with the reason.",
        success=case_url(follow_up.case, "follow-up"),
        title=f"Not carried out: {follow_up.description}",
        submit_label="Mark as deviated",
        cancel=case_url(follow_up.case, "follow-up"),
        case=follow_up.case,
    )


@login_required
def follow_up_change(request, pk):
    """Give a follow-up to someone else, or a new due date (audited with before and after)."""
    follow_up = permissions.get_follow_up_for_user(request.user, pk)
    permissions.require(request.user, "followup.manage", follow_up.case.board_id)
    members = selectors.board_members(board_id=follow_up.case.board_id)
    form = FollowUpChangeForm.editing(follow_up, request.POST or None, members=members)
    return form_view(
        request,
        form,
        lambda: followups.follow_up_reassign(follow_up=follow_up, by=request.user, **form.service_data()),
        done="The follow-up's owner and due date are saved.",
        success=case_url(follow_up.case, "follow-up"),
        page=lambda: pages.follow_up_change_page(request, form, follow_up),
    )


@login_required
def surveillance_apply(request, pk):
    case = permissions.get_case_for_user(request.user, pk, "followup.manage")
    templates, members = selectors.follow_up_templates(), selectors.board_members(board_id=case.board_id)
    form = SurveillanceForm(request.POST or None, templates=templates, members=members)
    return form_view(
        request,
        form,
        lambda: followups.follow_up_apply_template(case=case, by=request.user, **form.service_data()),
        once="surveillance.apply",
        done=lambda visits: f"{len(visits)} surveillance visits are planned.",
        record=lambda row, visits: note_object(row, case),
        success=case_url(case, "follow-up"),
        page=lambda: pages.surveillance_page(request, form, case),
    )
