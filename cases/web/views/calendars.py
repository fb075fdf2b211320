"""Calendars: a meeting's .ics download, the user's secret feed address, and the page to rotate or revoke it."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from ... import selectors
from ...calendars import ics
from ...models import CalendarFeed
from ...services import calendars
from ...services.audit import audit_record


def ics_response(body: bytes, *, filename: str = "") -> HttpResponse:
    response = HttpResponse(body, content_type=ics.CONTENT_TYPE)
    if filename:
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@login_required
@require_GET
def meeting_calendar(request, pk):
    meeting = selectors.meetings_for_calendar(user=request.user, pk=pk)[0]
    audit_record(actor=request.user, action="meeting.calendar", obj=meeting)
    body = ics.meeting_calendar(meeting, user=request.user, base_url=request.build_absolute_uri("/"))
    return ics_response(body, filename=ics.filename(meeting))


@require_GET
def calendar_feed(request, token):
    # Calendar clients cannot sign in: the secret address is the credential, and an unknown one is not found.
    user = calendars.calendar_feed_user(token=token)
    if user is None:
        raise Http404("Not found.")
    meetings = selectors.meetings_for_calendar(user=user)
    return ics_response(ics.feed_calendar(meetings, user=user, base_url=request.build_absolute_uri("/")))


@login_required
@require_http_methods(["GET", "POST"])
def calendar_settings(request):
    new_address, error = "", ""
    action = request.POST.get("action") if request.method == "POST" else None
    if action == "rotate":
        token = calendars.calendar_feed_rotate(user=request.user)
        new_address = request.build_absolute_uri(reverse("calendar-feed", args=[token]))
    elif action == "revoke":
        if calendars.calendar_feed_revoke(user=request.user):
            messages.success(request, "Your calendar feed is off: its address no longer works.")
        return redirect("calendar-settings")
    elif action is not None:
        error = "Choose one of the buttons below: nothing was changed."
    feed = CalendarFeed.objects.filter(user=request.user).first()
    context = {"feed": feed, "new_address": new_address, "error": error}
    return render(request, "calendars/settings.html", context, status=400 if error else 200)
