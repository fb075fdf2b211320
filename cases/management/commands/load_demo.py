from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from ...demo import DEMO_PASSWORD, USERS, DemoBuilder
from ...demo_history import load_demo_history


class Command(BaseCommand):
    help = "Load the demo boards, users and cases (idempotent: a second run changes nothing)."

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true", help="Load even when DJANGO_DEBUG is off.")

    def handle(self, *args, force: bool = False, **options):
        if not settings.DEBUG and not force:
            raise CommandError(
                "Refusing to load demo users with known passwords while DJANGO_DEBUG is off; "
                "use --force on a demo server."
            )
        if DemoBuilder(stdout=self.stdout).build():
            load_demo_history(stdout=self.stdout)
            self.stdout.write(self.style.SUCCESS("Demo data loaded."))
        else:
            self.stdout.write("Demo data already present; nothing changed.")
        self.stdout.write(f"Demo users ({', '.join(USERS)}) share the password {DEMO_PASSWORD!r}.")
