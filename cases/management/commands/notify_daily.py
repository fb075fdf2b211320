"""Daily notifications (run from cron, e.g. 07:00): input reminders before the cut-off, follow-ups due or
overdue, and each user's digest. Safe to run twice a day: a reminder or a due notice is sent once."""

from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.utils import timezone

from cases.models import EmailStatus, Meeting, MeetingStatus, Notification
from cases.services.jobs import job_enqueue
from cases.services.notify import notify_follow_ups_due, notify_input_requested


class Command(BaseCommand):
    help = "Send input reminders, follow-up due notices and daily digests."

    def handle(self, *args, **options):
        now = timezone.now()
        soon = now + timedelta(hours=settings.INPUT_REMINDER_HOURS)
        meetings = Meeting.objects.filter(
            starts_at__gte=now, starts_at__lte=soon, status=MeetingStatus.SCHEDULED, agenda_published_at__isnull=False
        ).select_related("board")
        reminders = sum(len(notify_input_requested(meeting=meeting, reminder=True)) for meeting in meetings)
        due = len(notify_follow_ups_due(today=timezone.localdate()))
        users = (
            get_user_model()
            .objects.filter(pk__in=Notification.objects.filter(email_status=EmailStatus.DIGEST).values("user_id"))
            .values_list("pk", flat=True)
        )
        day = timezone.localdate().isoformat()
        for user_id in users:
            job_enqueue(kind="notify.digest", args={"user_id": user_id}, key=f"digest:{user_id}:{day}")
        self.stdout.write(f"{reminders} input reminder(s), {due} follow-up notice(s), {len(users)} digest(s) queued.")
