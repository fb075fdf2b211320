"""The in-portal inbox: every notification of the user, newest first, and how each kind reaches them by e-mail."""

import re

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from ...models import Delivery, Notification, NotificationKind, NotificationPreference
from ...models.notifications import REFERRER_KINDS
from ...services.notify import notification_mark_read, notification_preferences_set

PAGE_SIZE = 50


def inbox_page(request, *, error: str = ""):
    notifications = Notification.objects.filter(user=request.user).order_by("-created_at", "-id")
    page = Paginator(notifications, PAGE_SIZE).get_page(request.GET.get("page"))
    unread = notifications.filter(read_at__isnull=True).count()
    context = {"page": page, "unread": unread, "error": error}
    return render(request, "notifications/inbox.html", context, status=400 if error else 200)


@login_required
def inbox(request):
    return inbox_page(request)


@require_POST
@login_required
def inbox_read(request):
    pk, every = request.POST.get("notification"), request.POST.get("all") == "1"
    if (pk is not None and not re.fullmatch(r"[0-9]{1,18}", pk)) or (pk is None and not every):
        return inbox_page(request, error="That notification was not found: nothing was changed.")
    changed = notification_mark_read(user=request.user, pk=int(pk) if pk is not None else None)
    messages.success(request, f"{changed} notification(s) marked read.")
    return redirect("inbox")


class PreferencesForm(forms.Form):
    def __init__(self, *args, current: dict, **kwargs):
        super().__init__(*args, **kwargs)
        for kind in NotificationKind:
            if kind in REFERRER_KINDS:
                continue
            self.fields[kind.value] = forms.ChoiceField(
                label=kind.label, choices=Delivery.choices, initial=current.get(kind.value, Delivery.IMMEDIATE)
            )


@login_required
def notification_preferences(request):
    current = dict(NotificationPreference.objects.filter(user=request.user).values_list("kind", "delivery"))
    form = PreferencesForm(request.POST or None, current=current)
    if request.method == "POST" and form.is_valid():
        changes = notification_preferences_set(user=request.user, deliveries=form.cleaned_data)
        messages.success(request, "Your notification settings are saved." if changes else "Nothing was changed.")
        return redirect("notification-preferences")
    status = 400 if request.method == "POST" else 200
    context = {
        "form": form,
        "title": "Notification settings",
        "submit_label": "Save",
        "cancel": "/inbox/",
        "intro": "Every notification is in your inbox. Choose how each kind also reaches you by e-mail: at once, "
        "or in one daily digest. E-mails name cases by number only, never a patient.",
    }
    return render(request, "cases/form_page.html", context, status=status)
