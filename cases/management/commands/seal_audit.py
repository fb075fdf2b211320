from django.core.management.base import BaseCommand, CommandError

from ...services.audit_seal import SealError, audit_seal, sink_path


class Command(BaseCommand):
    help = (
        "Seal the audit events written since the last seal: append a checkpoint (last sequence, root, count, "
        "time, key id, HMAC, database id) to TUMORBOARD_AUDIT_CHECKPOINTS. Run it periodically."
    )

    def handle(self, *args, **options):
        try:
            result = audit_seal()
        except SealError as error:
            raise CommandError(f"Not sealed: {error}.") from error
        if result.checkpoint is None:
            self.stdout.write("Nothing to seal: no audit event since the last checkpoint.")
            return
        through = result.checkpoint["through"]
        self.stdout.write(self.style.SUCCESS(f"Sealed {result.sealed} events through #{through} into {sink_path()}."))
