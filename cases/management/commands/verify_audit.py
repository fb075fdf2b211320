from django.core.management.base import BaseCommand, CommandError

from ...services.audit import audit_verify_chain


class Command(BaseCommand):
    help = "Verify the audit trail's hash chain; report the first broken link and exit non-zero if there is one."

    def handle(self, *args, **options):
        report = audit_verify_chain()
        if not report.ok:
            raise CommandError(f"Audit chain broken after {report.checked} good events: {report.problem}.")
        self.stdout.write(self.style.SUCCESS(f"Audit chain intact: {report.checked} events verified."))
