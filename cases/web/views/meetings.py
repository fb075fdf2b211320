"""Meetings: the list, scheduling, the agenda builder, attendance and quorum, and the in-meeting mode."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from ... import permissions, selectors
from ...models import MeetingStatus
from ...services import meetings
from ...services.audit import audit_list, audit_record
from .. import pages
from ..common import act, confirmed_post, form_view, posted_choice, posted_ids, refused_status
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

PAST_LIMIT = 30


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
    for shown in ("upcoming", "awaiting", "past"):
        context[shown] = list(context[shown])
    rows = [*context["upcoming"], *context["past"], *context["awaiting"]]  # awaiting: agenda items of cases
    audit_list(actor=user, action="meeting.list", query=request.GET, rows=rows, object_type="meeting")
    return render(request, "meetings/meeting_list.html", context)


@login_required
def meeting_new(request):
    form = MeetingForm(
        request.POST or None, memberships=permissions.memberships_allowing(request.user, "meeting.manage")
    )
    return form_view(
        request,
        form,
        lambda: meetings.meeting_schedule(by=request.user, **form.service_data()),
        once="meeting.create",
        done="The meeting is scheduled. Build its agenda below.",
        success=lambda meeting: reverse("meeting-detail", args=[meeting.pk]),
        title="Schedule a meeting",
        submit_label="Schedule",
        cancel="meeting-list",
    )


@login_required
def meeting_move(request, pk):
    """Move a scheduled meeting: its start, room or video link."""
    meeting = permissions.get_meeting_for_user(request.user, pk, action="meeting.manage")
    form = MeetingPlaceForm.editing(meeting, request.POST or None)
    return form_view(
        request,
        form,
        lambda: meetings.meeting_reschedule(meeting=meeting, by=request.user, **form.service_data()),
        done=pages.meeting_moved(meeting),
        success=meeting_url(meeting),
        **pages.meeting_move_page(meeting),
    )


@login_required
def meeting_detail(request, pk):
    return pages.meeting_page(request, selectors.meeting_detail(user=request.user, pk=pk))


def agenda_added(item) -> str:
    late = " It is flagged as a late addition: the agenda was already published." if item.is_late else ""
    return f"{item.case.patient.full_name} is on the agenda.{late}"


@require_POST
@login_required
def agenda_add(request, pk):
    meeting = selectors.meeting_detail(user=request.user, pk=pk, action="meeting.manage")
    candidates = list(selectors.agenda_candidates(meeting=meeting))
    members = selectors.board_members(board_id=meeting.board_id)
    form = AgendaAddForm(request.POST, candidates=candidates, members=members)
    return form_view(
        request,
        form,
        lambda: meetings.agenda_add(meeting=meeting, by=request.user, **form.service_data()),
        once="agenda.add",
        done=agenda_added,
        success=meeting_url(meeting, "agenda"),
        page=lambda: pages.meeting_page(request, meeting, add_form=form),
    )


@require_POST
@login_required
def agenda_item_update(request, pk):
    item = permissions.get_agenda_item_for_user(request.user, pk)
    members = selectors.board_members(board_id=item.meeting.board_id)
    form = AgendaItemForm(request.POST, item=item, members=members)
    return form_view(
        request,
        form,
        lambda: meetings.agenda_item_update(item=item, by=request.user, **form.service_data()),
        done="The agenda item is saved.",
        success=meeting_url(item.meeting, "agenda"),
        page=lambda: pages.meeting_page(
            request, selectors.meeting_detail(user=request.user, pk=item.meeting_id), item_form=form
        ),
    )


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
    return form_view(
        request,
        form,
        lambda: meetings.agenda_publish(meeting=meeting, by=request.user),
        done="The agenda is published. Cases added from now on are flagged as late.",
        success=meeting_url(meeting, "agenda"),
        page=lambda: pages.publish_page(request, form, meeting),
    )


@login_required
def meeting_cancel(request, pk):
    """Confirm the cancellation with a reason, and choose where the agenda's cases go."""
    meeting = permissions.get_meeting_for_user(request.user, pk, action="meeting.manage")
    form = MeetingCancelForm(request.POST if confirmed_post(request) else None)
    return form_view(
        request,
        form,
        lambda: meetings.meeting_cancel(meeting=meeting, by=request.user, **form.service_data()),
        done="The meeting is cancelled. Its record stays readable.",
        success=meeting_url(meeting),
        page=lambda: pages.meeting_cancel_page(request, form, meeting),
    )


@require_POST
@login_required
def attendance_correct(request, pk):
    meeting = selectors.meeting_detail(user=request.user, pk=pk)
    form = AttendanceCorrectForm(request.POST, members=selectors.board_members(board_id=meeting.board_id))
    return form_view(
        request,
        form,
        lambda: meetings.attendance_correct(meeting=meeting, by=request.user, **form.service_data()),
        done="The correction is recorded. Decisions already signed keep their attendance.",
        success=meeting_url(meeting, "attendance"),
        page=lambda: pages.meeting_page(request, meeting, correct_form=form),
    )


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
    return form_view(
        request,
        form,
        lambda: meetings.attendance_record_many(meeting=meeting, by=request.user, **form.service_data()),
        done="Attendance is recorded.",
        success=meeting_url(meeting, "attendance"),
        page=lambda: pages.meeting_page(request, meeting, attendance_form=form),
    )


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
    if meeting.status == MeetingStatus.CANCELLED:
        messages.info(request, "The meeting was cancelled: only its record remains.")
        return redirect(meeting_url(meeting))
    if not slots:
        messages.info(request, "The agenda is empty.")
        return redirect(meeting_url(meeting, "agenda"))
    current = pages.current_item(slots, item_pk)
    case = selectors.case_detail(user=request.user, pk=current.case_id)
    audit_record(actor=request.user, action="case.view", obj=case)
    context = pages.meeting_run_context(request.user, meeting, slots, current, case, outcome_form)
    return render(request, "meetings/meeting_run.html", context, status=refused_status(outcome_form))


@require_POST
@login_required
def agenda_outcome(request, pk):
    item = permissions.get_agenda_item_for_user(request.user, pk)
    form = OutcomeForm(request.POST)
    return form_view(
        request,
        form,
        lambda: meetings.agenda_item_record_outcome(item=item, by=request.user, **form.service_data()),
        done=lambda recorded: pages.outcome_message(item, recorded),
        # On to the next case still waiting for its outcome (the agenda's end shows the last one).
        success=reverse("meeting-run", args=[item.meeting_id]),
        page=lambda: meeting_run(request, item.meeting_id, item.pk, outcome_form=form),
    )
