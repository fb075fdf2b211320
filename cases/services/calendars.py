"""Calendar feeds: a secret address per user, rotated or revoked by its owner, and each meeting's SEQUENCE."""

import hashlib
import secrets

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from ..models import CalendarFeed, Meeting
from ..types import User
from .audit import audit_record


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def calendar_feed_rotate(*, user: User) -> str:
    """Give the user a new feed address and return its secret; any earlier address stops working at once."""
    token = secrets.token_urlsafe(32)
    with transaction.atomic():
        feed, created = CalendarFeed.objects.select_for_update().get_or_create(
            user=user, defaults={"token_hash": _digest(token)}
        )
        if not created:
            feed.token_hash, feed.created_at, feed.last_read_at = _digest(token), timezone.now(), None
            feed.save(update_fields=["token_hash", "created_at", "last_read_at"])
        audit_record(actor=user, action="calendar.feed_rotate" if not created else "calendar.feed_create", obj=feed)
    return token


def calendar_feed_revoke(*, user: User) -> bool:
    """Remove the user's feed address; True when there was one."""
    with transaction.atomic():
        feed = CalendarFeed.objects.select_for_update().filter(user=user).first()
        if feed is None:
            return False
        audit_record(actor=user, action="calendar.feed_revoke", obj=feed)
        feed.delete()
    return True


def calendar_feed_user(*, token: str) -> User | None:
    """The active user whose feed address this is, or None. Records the read (calendar clients poll often)."""
    if not token or len(token) > 100:
        return None
    feed = CalendarFeed.objects.select_related("user").filter(token_hash=_digest(token)).first()
    if feed is None or not feed.user.is_active:
        return None
    with transaction.atomic():
        CalendarFeed.objects.filter(pk=feed.pk).update(last_read_at=timezone.now())
        audit_record(actor=feed.user, action="calendar.feed_read", obj=feed)
    return feed.user


def meeting_calendar_changed(meeting: Meeting) -> None:
    """Raise the meeting's SEQUENCE (RFC 5545 3.8.7.4) so calendars replace the event they hold."""
    Meeting.objects.filter(pk=meeting.pk).update(calendar_sequence=F("calendar_sequence") + 1)
