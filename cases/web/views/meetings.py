"""Meetings: the list, scheduling, the agenda builder, attendance and quorum, and the in-meeting mode."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from ... import permissions, selectors
from ...models import MeetingStatus, Outcome
from ...services import meetings, workflow
from ...services.audit import audit_list, audit_record
from ..common import act, confirmed_post, form_page, posted_choice, posted_ids, refused_status, submit, submit_once
from ..forms import (
    AgendaAddForm,
    AgendaItemForm,
    AttendanceCorrectForm,
    AttendanceForm,
    ConfirmForm,
    MeetingCancelForm,
    MeetingForm,
    MeetingPlaceForm,
    OutcomeForm,
)
from .cases import case_page_context
from .records import decision_form

PAST_LIMIT = 30
# Cancelling has its own confirmation page (a reason, and what happens to the agenda's cases).
NEXT_STATUS = {
    MeetingStatus.SCHEDULED: [(MeetingStatus.IN_PROGRESS, "Start the meeting")],
    MeetingStatus.IN_PROGRESS: [(MeetingStatus.HELD, "End the meeting")],
}


def meeting_url(meeting, anchor: str = "") -> str:
    return reverse("meeting-detail", args=[meeting.pk]) + (f"#{anchor}" if anchor else "")


@login_required
def meeting_list(request):
    user = request.user
    context = {
        "upcoming": selectors.meeting_list(user=user, upcoming=True),
        "awaiting": selectors.awaiting_a_meeting(user=user),
        "past": selectors.meeting_list(user=user, upcoming=False)[:PAST_LIMIT],
        "cancelled": selectors.meeting_list(user=user, cancelled=True)[:PAST_LIMIT],
        "can_schedule": permissions.can_anywhere(user, "meeting.manage"),
    }
    context["upcoming"], context["past"] = list(context["upcoming"]), list(context["past"])
    audit_list(actor=user, action="meeting.list", rows=[*context["upcoming"], *context["past"]], object_type="meeting")
    return render(request, "meetings/meeting_list.html", context)


@login_required
def meeting_new(request):
    memberships = permissions.memberships_allowing(request.user, "meeting.manage")
    form = MeetingForm(request.POST or None, memberships=memberships)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        ok, meeting = submit_once(
            request,
            form,
            lambda: meetings.meeting_schedule(
                board=data["board"],
                by=request.user,
                starts_at=data["starts_at"],
                location=data["location"],
                video_link=data["video_link"],
            ),
            scope="meeting.create",
            done="The meeting is scheduled. Build its agenda below.",
        )
        if ok:
            return redirect("meeting-detail", meeting.pk)
    return form_page(request, form, title="Schedule a meeting", submit_label="Schedule", cancel="meeting-list")


@login_required
def meeting_move(request, pk):
    """Move a scheduled meeting: its start, room or video link."""
    meeting = permissions.get_meeting_for_user(request.user, pk, action="meeting.manage")
    initial = {"starts_at": meeting.starts_at, "location": meeting.location, "video_link": meeting.video_link}
    form = MeetingPlaceForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        ok, _ = submit(form, lambda: meetings.meeting_reschedule(meeting=meeting, by=request.user, **form.cleaned_data))
        if ok:
            told = " Members are e-mailed an updated invitation." if meeting.is_published else ""
            messages.success(request, "The meeting is moved." + told)
            return redirect(meeting_url(meeting))
    return form_page(
        request,
        form,
        title=f"Move the meeting of {meeting}",
        submit_label="Move the meeting",
        cancel=meeting_url(meeting),
        intro="Calendars that hold this meeting replace it."
        + (" The agenda is published: every member of the board is told by e-mail." if meeting.is_published else ""),
    )


def swapped(ids: list[int], index: int, other: int) -> str:
    order = list(ids)
    order[index], order[other] = order[other], order[index]
    return ",".join(map(str, order))


def meeting_page(request, meeting, *, add_form=None, attendance_form=None, item_form=None, correct_form=None):
    """The meeting page; a refused form comes back bound, with its errors beside its fields."""
    user = request.user
    can_manage = permissions.can(user, "meeting.manage", meeting.board_id)
    is_open = meeting.status in meetings.OPEN_STATUSES
    members = selectors.board_members(board_id=meeting.board_id)
    slots = selectors.agenda_time_slots(meeting)
    ids = [item.pk for item, _, _ in slots]
    elsewhere = selectors.other_upcoming_listings(meeting, [item.case_id for item, _, _ in slots])
    rows = []
    for index, (item, starts, ends) in enumerate(slots):
        form = item_form[1] if item_form and item_form[0] == item.pk else None
        rows.append(
            {
                "item": item,
                "starts": starts,
                "ends": ends,
                "form": form
                or AgendaItemForm(
                    prefix=f"item-{item.pk}",
                    initial={"presenter": item.presenter_id, "minutes": item.minutes},
                    members=members,
                ),
                "also_on": elsewhere.get(item.case_id, []),
                "up": swapped(ids, index, index - 1) if index > 0 else "",
                "down": swapped(ids, index, index + 1) if index < len(ids) - 1 else "",
            }
        )
    if add_form is None and can_manage and is_open:
        add_form = AgendaAddForm(candidates=list(selectors.agenda_candidates(meeting=meeting)), members=members)
    attendance = {row.user_id: row for row in meeting.attendance.all()}
    frozen = meetings.attendance_is_frozen(meeting)
    if attendance_form is None and not frozen:
        present = [pk for pk, row in attendance.items() if row.present]
        attendance_form = AttendanceForm(initial={"present": present}, members=members)
    if correct_form is None and frozen and can_manage:
        correct_form = AttendanceCorrectForm(members=members)
    context = {
        "meeting": meeting,
        "rows": rows,
        "ends_at": slots[-1][2] if slots else meeting.starts_at,
        "quorum": meeting.quorum(),
        "members": [(m, attendance.get(m.user_id)) for m in members],
        "can_manage": can_manage,
        "is_open": is_open,
        "add_form": add_form,
        "attendance_form": attendance_form,
        "attendance_frozen": frozen,
        "correct_form": correct_form,
        "can_cancel": can_manage and is_open,
        "can_move": can_manage and meeting.status == MeetingStatus.SCHEDULED,
        "next_status": NEXT_STATUS.get(meeting.status, []) if can_manage else [],
        "can_unpublish": meeting.status == MeetingStatus.SCHEDULED and meeting.starts_at > timezone.now(),
        "first_pending": next((item for item, _, _ in slots if item.outcome == Outcome.PENDING), None),
    }
    status = refused_status(add_form, attendance_form, correct_form, item_form[1] if item_form else None)
    audit_list(
        actor=user,
        action="meeting.view",
        rows=[item.case for item, _, _ in slots],
        object_type="meeting",
        extra={"meeting_id": meeting.pk},
    )
    return render(request, "meetings/meeting_detail.html", context, status=status)


@login_required
def meeting_detail(request, pk):
    return meeting_page(request, selectors.meeting_detail(user=request.user, pk=pk))


def agenda_added(item) -> str:
    late = " It is flagged as a late addition: the agenda was already published." if item.is_late else ""
    return f"{item.case.patient.full_name} is on the agenda.{late}"


@require_POST
@login_required
def agenda_add(request, pk):
    meeting = selectors.meeting_detail(user=request.user, pk=pk, action="meeting.manage")
    form = AgendaAddForm(
        request.POST,
        candidates=list(selectors.agenda_candidates(meeting=meeting)),
        members=selectors.board_members(board_id=meeting.board_id),
    )
    if form.is_valid():
        ok, item = submit_once(
            request,
            form,
            lambda: meetings.agenda_add(
                meeting=meeting,
                case=form.chosen_case(),
                by=request.user,
                presenter=form.chosen_presenter(),
                minutes=form.cleaned_data["minutes"],
            ),
            scope="agenda.add",
            done=agenda_added,
        )
        if ok:
            return redirect(meeting_url(meeting, "agenda"))
    return meeting_page(request, meeting, add_form=form)


@require_POST
@login_required
def agenda_item_update(request, pk):
    item = permissions.get_agenda_item_for_user(request.user, pk)
    members = selectors.board_members(board_id=item.meeting.board_id)
    form = AgendaItemForm(request.POST, prefix=f"item-{item.pk}", members=members)
    if form.is_valid():
        ok, _ = submit(
            form,
            lambda: meetings.agenda_item_update(
                item=item, by=request.user, presenter=form.chosen_presenter(), minutes=form.cleaned_data["minutes"]
            ),
        )
        if ok:
            messages.success(request, "The agenda item is saved.")
            return redirect(meeting_url(item.meeting, "agenda"))
    meeting = selectors.meeting_detail(user=request.user, pk=item.meeting_id)
    return meeting_page(request, meeting, item_form=(item.pk, form))


@require_POST
@login_required
def agenda_item_remove(request, pk):
    item = permissions.get_agenda_item_for_user(request.user, pk)
    act(request, lambda: meetings.agenda_remove(item=item, by=request.user), "The case is removed from the agenda.")
    return redirect(meeting_url(item.meeting, "agenda"))


@require_POST
@login_required
def agenda_reorder(request, pk):
    meeting = permissions.get_meeting_for_user(request.user, pk)
    order = posted_ids(request, "order")
    act(request, lambda: meetings.agenda_reorder(meeting=meeting, by=request.user, item_ids=order), "Agenda reordered.")
    return redirect(meeting_url(meeting, "agenda"))


@login_required
def agenda_publish(request, pk):
    """Confirm, then publish: from now on every case added is flagged as a late addition."""
    meeting = permissions.get_meeting_for_user(request.user, pk, action="meeting.manage")
    form = ConfirmForm(request.POST if confirmed_post(request) else None)
    if form.is_bound and form.is_valid():
        ok, _ = submit(form, lambda: meetings.agenda_publish(meeting=meeting, by=request.user))
        if ok:
            messages.success(request, "The agenda is published. Cases added from now on are flagged as late.")
            return redirect(meeting_url(meeting, "agenda"))
    return form_page(
        request,
        form,
        title=f"Publish the agenda of {meeting}",
        submit_label="Publish the agenda",
        cancel=meeting_url(meeting, "agenda"),
        intro="Publishing cannot be undone here: members are told the agenda, "
        "and every case added afterwards is flagged as a late addition.",
        template="cases/confirm_page.html",
    )


@login_required
def meeting_cancel(request, pk):
    """Confirm the cancellation with a reason, and choose where the agenda's cases go."""
    meeting = permissions.get_meeting_for_user(request.user, pk, action="meeting.manage")
    form = MeetingCancelForm(request.POST if confirmed_post(request) else None)
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        ok, _ = submit(
            form,
            lambda: meetings.meeting_cancel(
                meeting=meeting, by=request.user, reason=data["reason"], agenda=data["agenda"]
            ),
        )
        if ok:
            messages.success(request, "The meeting is cancelled. Its record stays readable.")
            return redirect(meeting_url(meeting))
    return form_page(
        request,
        form,
        title=f"Cancel the meeting of {meeting}",
        submit_label="Cancel the meeting",
        cancel=meeting_url(meeting),
        intro="A cancelled meeting offers nothing but its record: no agenda, attendance or decision.",
        cancel_label="Keep the meeting",
        template="cases/confirm_page.html",
    )


@require_POST
@login_required
def attendance_correct(request, pk):
    meeting = selectors.meeting_detail(user=request.user, pk=pk)
    form = AttendanceCorrectForm(request.POST, members=selectors.board_members(board_id=meeting.board_id))
    if form.is_valid():
        data = form.cleaned_data
        ok, _ = submit(
            form,
            lambda: meetings.attendance_correct(
                meeting=meeting,
                by=request.user,
                user=form.chosen_user(),
                present=data["present"],
                reason=data["reason"],
            ),
        )
        if ok:
            messages.success(request, "The correction is recorded. Decisions already signed keep their attendance.")
            return redirect(meeting_url(meeting, "attendance"))
    return meeting_page(request, meeting, correct_form=form)


@require_POST
@login_required
def agenda_unpublish(request, pk):
    meeting = permissions.get_meeting_for_user(request.user, pk)
    act(
        request,
        lambda: meetings.agenda_unpublish(meeting=meeting, by=request.user),
        "The agenda is back to draft: packets print as DRAFT until it is published again.",
    )
    return redirect(meeting_url(meeting, "agenda"))


@require_POST
@login_required
def attendance_record(request, pk):
    meeting = selectors.meeting_detail(user=request.user, pk=pk)
    form = AttendanceForm(request.POST, members=selectors.board_members(board_id=meeting.board_id))
    if form.is_valid():
        present, absent = form.register()
        ok, _ = submit(
            form,
            lambda: meetings.attendance_record_many(meeting=meeting, by=request.user, present=present, absent=absent),
        )
        if ok:
            messages.success(request, "Attendance is recorded.")
            return redirect(meeting_url(meeting, "attendance"))
    return meeting_page(request, meeting, attendance_form=form)


@require_POST
@login_required
def meeting_status(request, pk):
    meeting = permissions.get_meeting_for_user(request.user, pk)
    status = posted_choice(request, "status", MeetingStatus.values)
    label = MeetingStatus(status).label.lower()
    act(
        request,
        lambda: meetings.meeting_set_status(meeting=meeting, by=request.user, status=status),
        f"The meeting is {label}.",
    )
    return redirect(meeting_url(meeting))


# In-meeting mode --------------------------------------------------------------------------------


@login_required
def meeting_run(request, pk, item_pk=None, outcome_form=None):
    """Walk the agenda case by case: the case at a glance, its outcome, and the board's decision."""
    meeting = selectors.meeting_detail(user=request.user, pk=pk)
    slots = selectors.agenda_time_slots(meeting)
    items = [item for item, _, _ in slots]
    if meeting.status == MeetingStatus.CANCELLED:
        messages.info(request, "The meeting was cancelled: only its record remains.")
        return redirect(meeting_url(meeting))
    if not items:
        messages.info(request, "The agenda is empty.")
        return redirect(meeting_url(meeting, "agenda"))
    current = next((i for i in items if i.pk == item_pk), None) if item_pk else None
    current = current or next((i for i in items if i.outcome == Outcome.PENDING), items[0])
    case = selectors.case_detail(user=request.user, pk=current.case_id)
    audit_record(actor=request.user, action="case.view", obj=case)
    index = items.index(current)
    present = [row.user_id for row in meeting.attendance.all() if row.present]
    draft = workflow.draft_decision(case)
    context = case_page_context(request.user, case) | {
        "meeting": meeting,
        "slots": slots,
        "current": current,
        "previous_item": items[index - 1] if index > 0 else None,
        "next_item": items[index + 1] if index < len(items) - 1 else None,
        "quorum": meeting.quorum(),
        "can_manage": permissions.can(request.user, "meeting.manage", meeting.board_id),
        "outcome_form": outcome_form or OutcomeForm(),
        "decision_form": decision_form(None, case, decision=draft, meeting_id=meeting.pk, participants=present),
        "draft": draft,
        "show_decision_form": draft is not None or workflow.current_signed_decision(case) is None,
        "run_url": reverse("meeting-run-item", args=[meeting.pk, current.pk]),
    }
    return render(request, "meetings/meeting_run.html", context, status=refused_status(outcome_form))


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


@require_POST
@login_required
def agenda_outcome(request, pk):
    item = permissions.get_agenda_item_for_user(request.user, pk)
    form = OutcomeForm(request.POST)
    if form.is_valid():
        ok, recorded = submit(
            form,
            lambda: meetings.agenda_item_record_outcome(
                item=item,
                by=request.user,
                outcome=form.cleaned_data["outcome"],
                reason=form.cleaned_data["deferral_reason"],
                actual_minutes=form.cleaned_data["actual_minutes"],
            ),
        )
        if ok:
            messages.success(request, outcome_message(item, recorded))
            # On to the next case still waiting for its outcome (the agenda's end shows the last one).
            return redirect("meeting-run", item.meeting_id)
    return meeting_run(request, item.meeting_id, item.pk, outcome_form=form)
