from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from ..backups import backup, default_backup_path, describe


class Command(BaseCommand):
    help = "Back up the database (pg_dump, or SQLite's online backup) and stored files into one tar file."

    def add_arguments(self, parser):
        parser.add_argument("--out", type=Path, help="Where to write the archive (default: var/backups/…).")

    def handle(self, *args, out: Path | None = None, **options):
        target = out or default_backup_path()
        try:
            backup(settings.DATABASES["default"], target, Path(settings.MEDIA_ROOT))
        except (OSError, RuntimeError) as exc:
            raise CommandError(f"Backup failed: {exc}") from exc
        self.stdout.write(self.style.SUCCESS(f"Backup written: {describe(target)}"))
