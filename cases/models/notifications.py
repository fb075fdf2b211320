from django.conf import settings
from django.db import models


class NotificationKind(models.TextChoices):
    AGENDA = "agenda", "Agenda published or changed"
    INPUT_REQUESTED = "input_requested", "Your specialty's input is requested"
    INPUT_REMINDER = "input_reminder", "Reminder: input missing before the meeting"
    DECISION_SIGNED = "decision_signed", "A decision was signed"
    FOLLOW_UP_DUE = "follow_up_due", "A follow-up of yours is due or overdue"
    INPUT_STALE = "input_stale", "Your input went stale after an amendment"
    BREAK_GLASS = "break_glass", "Emergency access used on your board"
    PATHOLOGY_AMENDED = "pathology_amended", "A pathology report of a referred case was amended"


# Sent to a case's referring clinician by address, never to a user: no user setting applies to them.
REFERRER_KINDS = frozenset({NotificationKind.DECISION_SIGNED, NotificationKind.PATHOLOGY_AMENDED})


class Delivery(models.TextChoices):
    IMMEDIATE = "immediate", "E-mail at once"
    DIGEST = "digest", "In a daily digest"


class EmailStatus(models.TextChoices):
    PENDING = "pending", "To be sent"
    SENT = "sent", "Sent"
    DIGEST = "digest", "Waiting for the daily digest"


class Notification(models.Model):
    """One message to one person, in their portal inbox and by e-mail (cases/notify/).

    Subject and body carry a case or meeting reference and a link, never a patient's name or
    clinical text: e-mail leaves the hospital's systems.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True, related_name="notifications"
    )
    email = models.EmailField(blank=True, help_text="Where it is e-mailed (a user's address, or a referrer's).")
    kind = models.CharField(max_length=20, choices=NotificationKind.choices)
    subject = models.CharField(max_length=200)
    body = models.TextField()
    link = models.CharField(max_length=300, blank=True)
    case_id = models.BigIntegerField(null=True, blank=True)
    meeting_id = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)
    email_status = models.CharField(max_length=10, choices=EmailStatus.choices, default=EmailStatus.PENDING)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "read_at"]), models.Index(fields=["email_status"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind__in=NotificationKind.values), name="notification_kind_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(email_status__in=EmailStatus.values), name="notification_email_status_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} to {self.user or self.email}"


class NotificationPreference(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=20, choices=NotificationKind.choices)
    delivery = models.CharField(max_length=10, choices=Delivery.choices, default=Delivery.IMMEDIATE)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "kind"], name="notification_preference_once"),
            models.CheckConstraint(
                condition=models.Q(delivery__in=Delivery.values), name="notification_delivery_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user}: {self.kind} {self.delivery}"
