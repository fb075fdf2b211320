"""The clinical records of a case: imaging and key images, pathology, specialty input, decisions, follow-up."""

import re
from pathlib import PurePath

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from ... import permissions, selectors
from ...models import FollowUpStatus
from ...services import decisions, followups, imaging, opinions, pathology, workflow
from ...services.audit import audit_record
from ...services.idempotency import note_object
from ..common import act, case_url, confirmed_post, form_page, posted_version, redirect_next, submit, submit_once
from ..forms import (
    AmendmentForm,
    ConfirmForm,
    DecisionForm,
    DeviationForm,
    FollowUpChangeForm,
    ImagingAddendumForm,
    ImagingAmendForm,
    ImagingStudyForm,
    OpinionForm,
    PathologyReportForm,
    SignForm,
    SurveillanceForm,
    trial_choice,
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
    if request.method == "POST" and form.is_valid():
        ok, _ = submit_once(
            request,
            form,
            lambda: imaging.imaging_study_add(
                case=case, by=request.user, key_images=form.key_images(), **form.study_fields()
            ),
            scope="imaging.create",
            done="The imaging study is added.",
        )
        if ok:
            return redirect(case_url(case, "imaging"))
    return form_page(
        request, form, title="Add an imaging study", submit_label="Add study", cancel=case_url(case), case=case
    )


IMAGING_FIELDS = ["modality", "body_site", "performed_on", "accession_number", "findings", "impression"]


@login_required
def imaging_amend(request, pk):
    study = permissions.get_study_for_user(request.user, pk, "imaging.add")
    case = study.case
    form = ImagingAmendForm(request.POST or None, initial={name: getattr(study, name) for name in IMAGING_FIELDS})
    if request.method == "POST" and form.is_valid():
        ok, _ = submit_once(
            request,
            form,
            lambda: imaging.imaging_study_amend(
                study=study, by=request.user, amendment_reason=form.cleaned_data["amendment_reason"],
                **form.study_fields(),
            ),
            scope="imaging.amend",
            done="The study is amended; the original stays visible, marked as superseded.",
        )  # fmt: skip
        if ok:
            return redirect(case_url(case, "imaging"))
    return form_page(
        request,
        form,
        title=f"Amend the {study.get_modality_display()} of {study.body_site}",
        submit_label="Amend the study",
        cancel=case_url(case, "imaging"),
        case=case,
        intro=f"The study of {study.performed_on:%d %b %Y} is not overwritten: the amendment supersedes it, and both "
        "stay readable. Its key images are kept with both.",
    )


@login_required
def imaging_addendum(request, pk):
    study = permissions.get_study_for_user(request.user, pk, "imaging.add")
    case = study.case
    form = ImagingAddendumForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        ok, _ = submit_once(
            request,
            form,
            lambda: imaging.imaging_addendum_add(study=study, by=request.user, text=form.cleaned_data["text"]),
            scope="imaging.addendum",
            done="The addendum is added.",
        )
        if ok:
            return redirect(case_url(case, "imaging"))
    return form_page(
        request,
        form,
        title=f"Add an addendum to the {study.get_modality_display()} of {study.body_site}",
        submit_label="Add addendum",
        cancel=case_url(case, "imaging"),
        case=case,
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
    if request.method == "POST" and form.is_valid():
        ok, _ = submit_once(
            request,
            form,
            lambda: pathology.pathology_report_add(case=case, by=request.user, **form.cleaned_data),
            scope="pathology.create",
            done="The pathology report is added.",
        )
        if ok:
            return redirect(case_url(case, "pathology"))
    return form_page(
        request, form, title="Add a pathology report", submit_label="Add report", cancel=case_url(case), case=case
    )


@login_required
def pathology_amend(request, pk):
    report = permissions.get_report_for_user(request.user, pk, "pathology.amend")
    case = report.case
    initial = {
        "diagnosis": report.diagnosis,
        "icdo3_code": report.icdo3_code,
        "topography": report.topography,
        "morphology": report.morphology,
        "laterality": report.laterality,
        "version": report.version,
    }
    form = AmendmentForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        ok, _ = submit_once(
            request,
            form,
            lambda: pathology.pathology_report_amend(
                report=report,
                by=request.user,
                diagnosis=data["diagnosis"],
                icdo3_code=data["icdo3_code"],
                topography=data["topography"],
                morphology=data["morphology"],
                laterality=data["laterality"],
                amendment_reason=data["amendment_reason"],
                discrepancy=data["discrepancy"],
                expected_version=data["version"],
            ),
            scope="pathology.amend",
            done="The report is amended; the original stays visible, marked as superseded.",
        )
        if ok:
            return redirect(case_url(case, "pathology"))
    return form_page(
        request,
        form,
        title="Amend a pathology report",
        submit_label="Amend report",
        cancel=case_url(case, "pathology"),
        case=case,
        intro=f"The report of {report.collected_on:%d %b %Y} said: “{report.diagnosis}”. "
        "It is not overwritten: the amendment supersedes it and both stay readable.",
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
    membership = permissions.membership(request.user, case.board_id)
    mine = next((o for o in case.opinions.all() if o.author_id == request.user.pk), None)
    initial = (
        {"assessment": mine.assessment, "recommendation": mine.recommendation, "version": mine.version} if mine else {}
    )
    form = OpinionForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        fields = {"assessment": data["assessment"], "recommendation": data["recommendation"]}
        if mine:
            call = lambda: opinions.opinion_update(  # noqa: E731
                opinion=mine, by=request.user, expected_version=data["version"], **fields
            )
        else:
            call = lambda: opinions.opinion_record(case=case, by=request.user, **fields)  # noqa: E731
        done = f"Your {membership.get_specialty_display().lower()} input is saved."
        ok, _ = submit_once(request, form, call, scope="opinion.save", done=done)
        if ok:
            return redirect(case_url(case, "input"))
    verb = "Edit" if mine else "Record"
    return form_page(
        request,
        form,
        title=f"{verb} the {membership.get_specialty_display().lower()} input",
        submit_label="Save input",
        cancel=case_url(case, "input"),
        case=case,
        template="cases/opinion_form.html",
        **decision_context(case, exclude_author=request.user),
    )


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


def decision_context(case, *, exclude_author=None) -> dict:
    """What the opinion form shows beside it, from the rows selectors.case_detail prefetched."""
    return {
        "context_studies": [study for study in selectors.imaging_record(case) if study.current][-3:],
        "context_reports": [report for report in selectors.pathology_chain(case) if report.is_current],
        "context_opinions": [o for o in case.opinions.all() if o.author_id != getattr(exclude_author, "pk", None)],
    }


# Decisions --------------------------------------------------------------------------------------


def decision_form(data, case, *, decision=None, correcting=False, meeting_id=None, participants=()) -> DecisionForm:
    """The decision form for a case: a draft's values when editing, else the meeting and who is present."""
    if decision is not None and not correcting:
        initial = {
            "meeting": decision.meeting_id,
            "consensus_diagnosis": decision.consensus_diagnosis,
            "plan": decision.plan_categories,
            "rationale": decision.rationale,
            "dissent": decision.dissent,
            "participants": [u.pk for u in decision.participants.all()],
            "version": decision.version,
            "guideline_concordance": decision.guideline_concordance,
            "concordance_reason": decision.concordance_reason,
            "trial": trial_choice(decision),
            "treatment_intent": decision.treatment_intent,
        } | {f"detail_{item['category']}": item.get("detail", "") for item in decision.plan}
    else:
        initial = {"meeting": meeting_id, "participants": list(participants)}
    return DecisionForm(
        data,
        initial=initial,
        meetings=selectors.board_meetings(board_id=case.board_id),
        members=selectors.board_members(board_id=case.board_id),
        correcting=correcting,
    )


def meeting_from_query(request) -> int | None:
    """The meeting a link pre-selects; anything but an id only leaves the choice to the user."""
    value = request.GET.get("meeting", "")
    return int(value) if re.fullmatch(r"[0-9]{1,18}", value) else None


@login_required
def decision_edit(request, pk):
    """Record the board's decision on a case, or edit its draft."""
    case = selectors.case_detail(user=request.user, pk=pk, action="decision.record")
    draft = workflow.draft_decision(case)
    form = decision_form(request.POST or None, case, decision=draft, meeting_id=meeting_from_query(request))
    if request.method == "POST" and form.is_valid():
        common = {
            "by": request.user,
            "meeting": form.chosen_meeting(),
            "participants": form.chosen_participants(),
            **form.decision_fields(),
        }
        if draft:
            call = lambda: decisions.decision_update(  # noqa: E731
                decision=draft, expected_version=form.cleaned_data["version"], **common
            )
        else:
            call = lambda: decisions.decision_record(case=case, **common)  # noqa: E731
        ok, _ = submit_once(
            request, form, call, scope="decision.save", done="The decision is saved as a draft; the chair signs it."
        )
        if ok:
            return redirect_next(request, case_url(case, "decision"))
    return form_page(
        request,
        form,
        title="Edit the draft decision" if draft else "Record the board's decision",
        submit_label="Save draft decision",
        cancel=case_url(case, "decision"),
        case=case,
        template="cases/decision_form.html",
    )


@login_required
def decision_correct(request, pk):
    decision = permissions.get_decision_for_user(request.user, pk, "decision.supersede")
    case = decision.case
    form = decision_form(request.POST or None, case, decision=decision, correcting=True, meeting_id=decision.meeting_id)
    if request.method == "POST" and form.is_valid():
        ok, _ = submit_once(
            request,
            form,
            lambda: decisions.decision_correct(
                decision=decision,
                by=request.user,
                reason=form.cleaned_data["supersede_reason"],
                meeting=form.chosen_meeting(),
                participants=form.chosen_participants(),
                **form.decision_fields(),
            ),
            scope="decision.correct",
            done="The correction is drafted; signing it supersedes the signed decision.",
        )
        if ok:
            return redirect(case_url(case, "decision"))
    return form_page(
        request,
        form,
        title="Correct the signed decision",
        submit_label="Draft the correction",
        cancel=case_url(case, "decision"),
        case=case,
        template="cases/decision_form.html",
        intro="A signed decision never changes: the correction supersedes it once signed, and both stay visible.",
    )


@login_required
def decision_sign(request, pk):
    """Confirm, then sign: the page shows who is recorded as present, the basis and any unmet gate first."""
    decision = permissions.get_decision_for_user(request.user, pk, action="decision.sign")
    case = decision.case
    suspended = list(case.follow_ups.filter(status=FollowUpStatus.SUSPENDED))
    form = SignForm(
        request.POST if confirmed_post(request) else None,
        initial={"version": decision.version},
        has_suspended=bool(suspended),
    )
    if form.is_bound and form.is_valid():
        ok, _ = submit(
            form,
            lambda: decisions.decision_sign(
                decision=decision,
                by=request.user,
                expected_version=form.cleaned_data["version"],
                suspended_follow_ups=form.cleaned_data.get("suspended_follow_ups", ""),
            ),
        )
        if ok:
            messages.success(request, "The decision is signed. Follow-up actions are planned and the referrer is told.")
            return redirect_next(request, case_url(case, "decision"))
    return form_page(
        request,
        form,
        title="Sign the board's decision",
        submit_label="Sign the decision",
        cancel=case_url(case, "decision"),
        case=case,
        intro="Signing is final: a signed decision never changes; a correction supersedes it.",
        template="cases/confirm_page.html",
        details_template="cases/_sign_details.html",
        decision=decision,
        present=decisions.attendance_snapshot(decision.meeting) if decision.meeting else [],
        unmet=decisions.signing_preview(decision=decision),
        suspended=suspended,
    )


# Follow-up --------------------------------------------------------------------------------------


@login_required
def follow_up_done(request, pk):
    follow_up = permissions.get_follow_up_for_user(request.user, pk)
    permissions.require_follow_up_closer(request.user, follow_up)
    case = follow_up.case
    form = ConfirmForm(request.POST if confirmed_post(request) else None, initial={"version": follow_up.version})
    if form.is_bound and form.is_valid():
        ok, _ = submit(
            form,
            lambda: followups.follow_up_complete(
                follow_up=follow_up, by=request.user, expected_version=form.cleaned_data["version"]
            ),
        )
        if ok:
            messages.success(request, "The follow-up is marked done.")
            return redirect(case_url(case, "follow-up"))
    return form_page(
        request,
        form,
        title=f"Mark done: {follow_up.description}",
        submit_label="Mark as done",
        cancel=case_url(case, "follow-up"),
        case=case,
        intro="Marking a follow-up done is final: say so only once it was carried out as the board recommended.",
        template="cases/confirm_page.html",
    )


@login_required
def follow_up_deviate(request, pk):
    follow_up = permissions.get_follow_up_for_user(request.user, pk)
    case = follow_up.case
    form = DeviationForm(request.POST or None, initial={"version": follow_up.version})
    if request.method == "POST" and form.is_valid():
        ok, _ = submit(
            form,
            lambda: followups.follow_up_deviate(
                follow_up=follow_up,
                by=request.user,
                reason=form.cleaned_data["deviation_reason"],
                code=form.cleaned_data["deviation_code"],
                expected_version=form.cleaned_data["version"],
            ),
        )
        if ok:
            messages.success(request, "The follow-up is marked as deviated, with the reason.")
            return redirect(case_url(case, "follow-up"))
    return form_page(
        request,
        form,
        title=f"Not carried out: {follow_up.description}",
        submit_label="Mark as deviated",
        cancel=case_url(case, "follow-up"),
        case=case,
    )


@login_required
def follow_up_change(request, pk):
    """Give a follow-up to someone else, or a new due date (audited with before and after)."""
    follow_up = permissions.get_follow_up_for_user(request.user, pk)
    case = follow_up.case
    permissions.require(request.user, "followup.manage", case.board_id)
    initial = {"owner": follow_up.owner_id, "due_on": follow_up.due_on, "version": follow_up.version}
    form = FollowUpChangeForm(
        request.POST or None, initial=initial, members=selectors.board_members(board_id=case.board_id)
    )
    if request.method == "POST" and form.is_valid():
        ok, _ = submit(
            form,
            lambda: followups.follow_up_reassign(
                follow_up=follow_up,
                by=request.user,
                owner=form.chosen_owner(),
                due_on=form.cleaned_data["due_on"],
                expected_version=form.cleaned_data["version"],
            ),
        )
        if ok:
            messages.success(request, "The follow-up's owner and due date are saved.")
            return redirect(case_url(case, "follow-up"))
    return form_page(
        request,
        form,
        title=f"Change the owner or due date: {follow_up.description}",
        submit_label="Save",
        cancel=case_url(case, "follow-up"),
        case=case,
    )


@login_required
def surveillance_apply(request, pk):
    case = permissions.get_case_for_user(request.user, pk, "followup.manage")
    form = SurveillanceForm(
        request.POST or None,
        templates=selectors.follow_up_templates(),
        members=selectors.board_members(board_id=case.board_id),
    )
    if request.method == "POST" and form.is_valid():
        ok, _ = submit_once(
            request,
            form,
            lambda: followups.follow_up_apply_template(
                case=case,
                template=form.cleaned_data["template"],
                by=request.user,
                start_on=form.cleaned_data["start_on"],
                owner=form.chosen_owner(),
            ),
            scope="surveillance.apply",
            done=lambda visits: f"{len(visits)} surveillance visits are planned.",
            record=lambda row, visits: note_object(row, case),
        )
        if ok:
            return redirect(case_url(case, "follow-up"))
    return form_page(
        request,
        form,
        title="Apply a surveillance schedule",
        submit_label="Plan the visits",
        cancel=case_url(case, "follow-up"),
        case=case,
    )
