"""Daily notifications: input reminders before the meeting, follow-ups due or overdue, and each user's digest.

The job worker runs the same round every day at TUMORBOARD_DAILY_AT (`make run` and `make worker` included);
this command runs it now, e.g. from cron where no worker runs. Safe to run twice: a reminder or a due notice
is sent once."""

from django.core.management.base import BaseCommand

from cases.services.notify import notify_daily


class Command(BaseCommand):
    help = "Send input reminders, follow-up due notices and daily digests."

    def handle(self, *args, **options):
        counts = notify_daily()
        self.stdout.write(
            f"{counts['reminders']} input reminder(s), {counts['follow_ups']} follow-up notice(s), "
            f"{counts['digests']} digest(s) queued."
        )
