from django.conf import settings
from django.db import models


class CalendarFeed(models.Model):
    """A user's secret calendar-feed address: only its SHA-256 is kept, so a database reader cannot use it.

    Calendar clients cannot sign in, so whoever holds the address reads the feed; the user revokes or
    rotates it from the portal, and the feed lists meetings only (board, time, place), never a patient.
    """

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="calendar_feed")
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_read_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"calendar feed of {self.user}"
