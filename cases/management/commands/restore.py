from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from ..backups import restore


class Command(BaseCommand):
    help = "Restore a backup archive into the configured database, which must be empty (a fresh database)."

    def add_arguments(self, parser):
        parser.add_argument("archive", type=Path)

    def handle(self, *args, archive: Path, **options):
        if not archive.is_file():
            raise CommandError(f"No backup archive at {archive}.")
        if connection.introspection.table_names():
            raise CommandError(
                "The target database is not empty. Restore into a fresh database: create one, point "
                "DATABASE_URL at it, and run this again (see docs/operations.md)."
            )
        connection.close()
        restore(settings.DATABASES["default"], archive, Path(settings.MEDIA_ROOT))
        self.stdout.write(self.style.SUCCESS(f"Restored {archive}. Run `manage.py verify_audit` to check the trail."))
