"""What the portal's pages show: the contexts of the case, meeting, dashboard, coding and teaching pages, and the
titles and intros of the form pages. The views parse, call one service and hand over to these; nothing here
writes but the audit row of a page that is read."""

from django.core.exceptions import ValidationError
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone

from .. import codes, permissions, selectors
from ..codes import tnm
from ..models import Case, FollowUpStatus, MeetingStatus, Outcome, Specialty, Stage
from ..services import coding, decisions, meetings, opinions, workflow
from ..services import teaching as teaching_services
from ..services.audit import audit_list
from ..teaching.export import preview
from .coding_forms import ComorbidityForm, PrimaryDiagnosisForm, StagingForm
from .common import case_url, form_page, refused_status
from .forms import AgendaAddForm, AgendaItemForm, AttendanceCorrectForm, AttendanceForm, DecisionForm, OutcomeForm

# The case page -------------------------------------------------------------------------------------


def case_page_context(user, case) -> dict:
    """Everything the case page shows, read from the rows `selectors.case_detail` prefetched."""
    reports = selectors.pathology_chain(case)
    grouped, missing = selectors.opinions_by_specialty(case)
    can = permissions.allowed_actions(user, case.board_id)
    moves = workflow.next_moves(case)
    if case.is_withdrawn:
        # A withdrawn case is read, not changed: no buttons but the list of who viewed it.
        can, moves = can & {"case.viewers"}, []
    stage_index = workflow.ORDER.index(case.stage)
    return {
        "case": case,
        "patient": case.patient,
        "missing_referral": [Case._meta.get_field(name).verbose_name for name in case.missing_referral_fields],
        "membership": permissions.membership(user, case.board_id),
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
        "follow_ups": case_follow_ups(user, case),
        "agenda_items": case.agenda_items.all(),
        "events": case.events.all(),
        "changes": selectors.pathology_changes(case),
        "decision_under_review": any(d.needs_review for d in case.decisions.all()),
        "stale_inputs": [o for o in case.opinions.all() if o.is_stale],
    }


def case_follow_ups(user, case) -> list:
    """The case's follow-up, each marked overdue or not, and whether this user may close it."""
    follow_ups, today = list(case.follow_ups.all()), timezone.localdate()
    for follow_up in follow_ups:
        follow_up.overdue = follow_up.is_overdue_on(today)
        follow_up.closable = follow_up.status == FollowUpStatus.PLANNED and permissions.can_close_follow_up(
            user, follow_up
        )
    return follow_ups


def decision_context(case, *, exclude_author=None) -> dict:
    """What the opinion and decision forms show beside them, from the rows selectors.case_detail prefetched."""
    return {
        "context_studies": [study for study in selectors.imaging_record(case) if study.current][-3:],
        "context_reports": [report for report in selectors.pathology_chain(case) if report.is_current],
        # First report against the current one: an amendment that changed the diagnosis stays in view after
        # a later amendment that changed only the laterality.
        "context_changes": selectors.pathology_changes(case),
        "context_opinions": [o for o in case.opinions.all() if o.author_id != getattr(exclude_author, "pk", None)],
    }


def decision_form(data, case, *, decision=None, correcting=False, meeting_id=None, participants=()) -> DecisionForm:
    """The decision form for a case: a draft's values when editing, else the meeting and who is present."""
    if decision is not None and not correcting:
        initial = DecisionForm.initial_from(decision)
    else:
        initial = {"meeting": meeting_id, "participants": list(participants)}
    return DecisionForm(
        data,
        initial=initial,
        meetings=selectors.board_meetings(board_id=case.board_id),
        members=selectors.board_members(board_id=case.board_id),
        correcting=correcting,
    )


# The form pages of a case's records (form_page with a title, an intro and the way back) ---------------


def imaging_amend_page(request, form, study):
    return form_page(
        request,
        form,
        title=f"Amend the {study.get_modality_display()} of {study.body_site}",
        submit_label="Amend the study",
        cancel=case_url(study.case, "imaging"),
        case=study.case,
        intro=f"The study of {study.performed_on:%d %b %Y} is not overwritten: the amendment supersedes it, and "
        "both stay readable. Its key images are kept with both.",
    )


def pathology_amend_page(request, form, report):
    return form_page(
        request,
        form,
        title="Amend a pathology report",
        submit_label="Amend report",
        cancel=case_url(report.case, "pathology"),
        case=report.case,
        intro=f"The report of {report.collected_on:%d %b %Y} said: “{report.diagnosis}”. "
        "It is not overwritten: the amendment supersedes it and both stay readable.",
    )


def opinion_page(request, form, case, *, mine, specialty: str):
    """The input form, with the imaging, pathology and other specialties' input beside it."""
    return form_page(
        request,
        form,
        title=f"{'Edit' if mine else 'Record'} the {specialty} input",
        submit_label="Save input",
        cancel=case_url(case, "input"),
        case=case,
        template="cases/opinion_form.html",
        **decision_context(case, exclude_author=request.user),
    )


def sign_page(request, form, decision, suspended):
    """The confirmation page of signing: who is recorded as present, the basis and any unmet gate first."""
    return form_page(
        request,
        form,
        title="Sign the board's decision",
        submit_label="Sign the decision",
        cancel=case_url(decision.case, "decision"),
        case=decision.case,
        intro="Signing is final: a signed decision never changes; a correction supersedes it.",
        template="cases/confirm_page.html",
        details_template="cases/_sign_details.html",
        decision=decision,
        present=decisions.attendance_snapshot(decision.meeting) if decision.meeting else [],
        unmet=decisions.signing_preview(decision=decision),
        suspended=suspended,
    )


def decision_page(request, form, case, *, draft=None, correcting=False):
    """The decision form: a draft to record or edit, or the correction of a signed decision."""
    title = "Edit the draft decision" if draft else "Record the board's decision"
    submit_label = "Save draft decision"
    if correcting:
        title, submit_label = "Correct the signed decision", "Draft the correction"
    return form_page(
        request,
        form,
        title=title,
        submit_label=submit_label,
        cancel=case_url(case, "decision"),
        case=case,
        template="cases/decision_form.html",
        intro=CORRECTION_INTRO if correcting else "",
        **decision_context(case),
    )


CORRECTION_INTRO = "A signed decision never changes: the correction supersedes it once signed, and both stay visible."


def follow_up_done_page(request, form, follow_up):
    return form_page(
        request,
        form,
        title=f"Mark done: {follow_up.description}",
        submit_label="Mark as done",
        cancel=case_url(follow_up.case, "follow-up"),
        case=follow_up.case,
        intro="Marking a follow-up done is final: say so only once it was carried out as the board recommended.",
        template="cases/confirm_page.html",
    )


def follow_up_change_page(request, form, follow_up):
    return form_page(
        request,
        form,
        title=f"Change the owner or due date: {follow_up.description}",
        submit_label="Save",
        cancel=case_url(follow_up.case, "follow-up"),
        case=follow_up.case,
    )


def surveillance_page(request, form, case):
    return form_page(
        request,
        form,
        title="Apply a surveillance schedule",
        submit_label="Plan the visits",
        cancel=case_url(case, "follow-up"),
        case=case,
    )


# Patients and cases -------------------------------------------------------------------------------


def patient_new_page(request, form):
    """The registration form; a refused MRN links to the record it belongs to, when the user may open it."""
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


def case_new_page(request, form, patient, open_cases):
    return form_page(
        request,
        form,
        title=f"New case for {patient.full_name} ({patient.mrn})",
        submit_label="Register case",
        cancel=reverse("patient-detail", args=[patient.pk]),
        open_cases=open_cases,
    )


def referral_page(request, form, case):
    """The referral form; after a refused stale edit, what changed since the user loaded it."""
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


def move_page(request, form, case, to: str):
    """The page of a stage move that needs a reason (a move back) or was refused."""
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


def merge_page(request, form, duplicate, keep, preview):
    """The merge of a duplicate record: the record to keep, and what moves there."""
    context = {"patient": duplicate, "form": form, "preview": preview, "keep": keep}
    return render(request, "cases/patient_merge.html", context, status=refused_status(form))


WITHDRAW_INTRO = (
    "A withdrawn case leaves the worklists and the agendas of meetings still to come. Nothing is deleted: its "
    "record, timeline and audit trail stay readable, marked as withdrawn with your reason."
)


# The dashboard ------------------------------------------------------------------------------------

LIST_LIMIT = 20


def blocked_moves(case) -> list[workflow.Move]:
    """The forward moves of a case when every one of them has unmet gates, else nothing."""
    forward = [move for move in workflow.next_moves(case) if not move.is_back]
    return forward if forward and all(move.unmet for move in forward) else []


def dashboard_context(user) -> dict:
    memberships = sorted(permissions.memberships_of(user).values(), key=lambda m: m.board.name)
    to_move_on = [(case, moves) for case in selectors.cases_to_move_on(user=user) if (moves := blocked_moves(case))]
    return {
        "memberships": memberships,
        "meetings": selectors.meeting_list(user=user, upcoming=True)[:5],
        "awaiting": list(selectors.cases_awaiting_input(user=user)[:LIST_LIMIT]),
        "blocked": to_move_on[:LIST_LIMIT],
        "blocked_total": len(to_move_on),
        "is_coordinator": any(m.role == permissions.COORDINATOR for m in memberships),
        "overdue": list(selectors.overdue_follow_ups(user=user)[:LIST_LIMIT]),
        "needs_review": list(selectors.cases_needing_review(user=user)[:LIST_LIMIT]),
        "recent_cases": list(selectors.case_list(user=user)[:10]),
        "can_register": permissions.can_anywhere(user, "patient.create"),
    }


# The meeting page ---------------------------------------------------------------------------------

# Cancelling has its own confirmation page (a reason, and what happens to the agenda's cases).
NEXT_STATUS = {
    MeetingStatus.SCHEDULED: [(MeetingStatus.IN_PROGRESS, "Start the meeting")],
    MeetingStatus.IN_PROGRESS: [(MeetingStatus.HELD, "End the meeting")],
}


def meeting_page(request, meeting, *, add_form=None, attendance_form=None, item_form=None, correct_form=None):
    """The meeting page; a refused form comes back bound in its place, with its errors beside its fields."""
    can_manage = permissions.can(request.user, "meeting.manage", meeting.board_id)
    is_open = meeting.status in meetings.OPEN_STATUSES
    members = selectors.board_members(board_id=meeting.board_id)
    slots = selectors.agenda_time_slots(meeting)
    if add_form is None and can_manage and is_open:
        add_form = AgendaAddForm(candidates=list(selectors.agenda_candidates(meeting=meeting)), members=members)
    context = {
        "meeting": meeting,
        "rows": agenda_rows(meeting, slots, members, item_form),
        "ends_at": slots[-1][2] if slots else meeting.starts_at,
        "quorum": meeting.quorum(),
        "can_manage": can_manage,
        "is_open": is_open,
        "add_form": add_form,
        **attendance_forms(meeting, members, can_manage, attendance_form, correct_form),
        "can_cancel": can_manage and is_open,
        "can_move": can_manage and meeting.status == MeetingStatus.SCHEDULED,
        "next_status": NEXT_STATUS.get(meeting.status, []) if can_manage else [],
        "can_unpublish": meeting.status == MeetingStatus.SCHEDULED and meeting.starts_at > timezone.now(),
        "first_pending": next((item for item, _, _ in slots if item.outcome == Outcome.PENDING), None),
    }
    status = refused_status(add_form, context["attendance_form"], context["correct_form"], item_form)
    cases = [item.case for item, _, _ in slots]
    audit_list(
        actor=request.user, action="meeting.view", rows=cases, object_type="meeting", extra={"meeting_id": meeting.pk}
    )
    return render(request, "meetings/meeting_detail.html", context, status=status)


def swapped(ids: list[int], index: int, other: int) -> str:
    order = list(ids)
    order[index], order[other] = order[other], order[index]
    return ",".join(map(str, order))


def agenda_rows(meeting, slots, members, item_form=None) -> list[dict]:
    """Each agenda item: its time slot, its form (the refused one bound), its other agendas, its up and down."""
    ids = [item.pk for item, _, _ in slots]
    elsewhere = selectors.other_upcoming_listings(meeting, [item.case_id for item, _, _ in slots])
    rows = []
    for index, (item, starts, ends) in enumerate(slots):
        if item_form is not None and item_form.item_id == item.pk:
            form = item_form
        else:
            initial = {"presenter": item.presenter_id, "minutes": item.minutes}
            form = AgendaItemForm(item=item, initial=initial, members=members)
        rows.append(
            {
                "item": item,
                "starts": starts,
                "ends": ends,
                "form": form,
                "also_on": elsewhere.get(item.case_id, []),
                "up": swapped(ids, index, index - 1) if index > 0 else "",
                "down": swapped(ids, index, index + 1) if index < len(ids) - 1 else "",
            }
        )
    return rows


def attendance_forms(meeting, members, can_manage, attendance_form, correct_form) -> dict:
    """The register while attendance is open; once frozen (a decision was signed), the correction form."""
    attendance = {row.user_id: row for row in meeting.attendance.all()}
    frozen = meetings.attendance_is_frozen(meeting)
    if attendance_form is None and not frozen:
        present = [pk for pk, row in attendance.items() if row.present]
        attendance_form = AttendanceForm(initial={"present": present}, members=members)
    if correct_form is None and frozen and can_manage:
        correct_form = AttendanceCorrectForm(members=members)
    return {
        "members": [(m, attendance.get(m.user_id)) for m in members],
        "attendance_form": attendance_form,
        "attendance_frozen": frozen,
        "correct_form": correct_form,
    }


def publish_page(request, form, meeting):
    return form_page(
        request,
        form,
        title=f"Publish the agenda of {meeting}",
        submit_label="Publish the agenda",
        cancel=reverse("meeting-detail", args=[meeting.pk]) + "#agenda",
        intro="Members are told the agenda at once, and every case added afterwards is flagged as a late addition.",
        template="cases/confirm_page.html",
        undo_note="Until the meeting starts, Back to draft on the meeting page takes the agenda back to a draft.",
    )


def meeting_cancel_page(request, form, meeting):
    return form_page(
        request,
        form,
        title=f"Cancel the meeting of {meeting}",
        submit_label="Cancel the meeting",
        cancel=reverse("meeting-detail", args=[meeting.pk]),
        intro="A cancelled meeting offers nothing but its record: no agenda, attendance or decision.",
        cancel_label="Keep the meeting",
        template="cases/confirm_page.html",
    )


def meeting_move_page(meeting) -> dict:
    """The page that moves a meeting (form_page's keywords)."""
    told = " The agenda is published: every member of the board is told by e-mail." if meeting.is_published else ""
    return {
        "title": f"Move the meeting of {meeting}",
        "submit_label": "Move the meeting",
        "cancel": reverse("meeting-detail", args=[meeting.pk]),
        "intro": "Calendars that hold this meeting replace it." + told,
    }


def meeting_moved(meeting) -> str:
    return "The meeting is moved." + (" Members are e-mailed an updated invitation." if meeting.is_published else "")


def current_item(slots, item_pk=None):
    """The agenda item asked for, else the first still waiting for its outcome, else the first."""
    items = [item for item, _, _ in slots]
    current = next((i for i in items if i.pk == item_pk), None) if item_pk else None
    return current or next((i for i in items if i.outcome == Outcome.PENDING), items[0])


def meeting_run_context(user, meeting, slots, current, case, outcome_form=None) -> dict:
    """In-meeting mode: the case page of the current item, the agenda around it, its outcome and decision forms."""
    items = [item for item, _, _ in slots]
    index = items.index(current)
    present = [row.user_id for row in meeting.attendance.all() if row.present]
    draft = workflow.draft_decision(case)
    return case_page_context(user, case) | {
        "meeting": meeting,
        "slots": slots,
        "current": current,
        "previous_item": items[index - 1] if index > 0 else None,
        "next_item": items[index + 1] if index < len(items) - 1 else None,
        "quorum": meeting.quorum(),
        "can_manage": permissions.can(user, "meeting.manage", meeting.board_id),
        "outcome_form": outcome_form or OutcomeForm(),
        "decision_form": decision_form(None, case, decision=draft, meeting_id=meeting.pk, participants=present),
        "draft": draft,
        "show_decision_form": draft is not None or workflow.current_signed_decision(case) is None,
        "run_url": reverse("meeting-run-item", args=[meeting.pk, current.pk]),
    }


def outcome_message(item, recorded) -> str:
    name = f"Case {item.case_id} ({item.case.patient.full_name})"
    if recorded.outcome != Outcome.DEFERRED:
        return f"{name}: discussed."
    following = getattr(recorded, "deferred_to", None)
    if following is None:
        return (
            f"{name} is deferred. No later meeting of this board is scheduled yet: "
            "the case goes onto the next one as soon as it is scheduled."
        )
    when = timezone.localtime(following.starts_at)
    return f"{name} is deferred to the meeting of {when:%A %d %B %Y, %H:%M}."


# The coding page ----------------------------------------------------------------------------------


def coding_page(request, case, bound: dict | None = None):
    """The case's coded data and its three forms; a refused one comes back bound (`bound`: its name and form)."""
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


# The teaching set page ----------------------------------------------------------------------------


TEACHING_INTRO = (
    "A teaching copy shows structured facts (age band, sex, stage, modality, diagnoses, plan categories) "
    "under a random teaching code, with days from the referral instead of dates. Free text goes in only "
    "as you include and check it; a reviewer of this board who is not you approves it before it prints."
)


def prepare_page(request, form, *, case=None, meeting=None):
    """The form that prepares a teaching set, from a case or from a meeting's agenda."""
    if case is not None:
        title, cancel = "Prepare a teaching set", case_url(case)
    else:
        title, cancel = "Prepare a teaching set from this meeting", reverse("meeting-detail", args=[meeting.pk])
    return form_page(request, form, title=title, submit_label="Prepare", cancel=cancel, case=case, intro=TEACHING_INTRO)


def teaching_set_page(request, teaching_set_id, *, bound=None):
    """The preview: every field's original beside its scrubbed text; the forms to include, edit, approve."""
    teaching_set, rows = selectors.teaching_set_detail(user=request.user, pk=teaching_set_id)
    teaching_services.teaching_set_view_record(teaching_set=teaching_set, by=request.user)
    is_preparer = teaching_set.prepared_by_id == request.user.pk
    may_review = not is_preparer and not teaching_set.is_approved
    context = {
        "teaching_set": teaching_set,
        "cases": preview(teaching_set, rows),
        "is_preparer": is_preparer,
        "can_edit": is_preparer and not teaching_set.is_approved,
        "can_approve": may_review and permissions.can_review_teaching(request.user, teaching_set.board_id),
        "bound": bound,
    }
    return render(request, "teaching/teaching_detail.html", context, status=refused_status(bound))
