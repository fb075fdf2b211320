from django.apps import AppConfig


class CasesConfig(AppConfig):
    name = "cases"
    verbose_name = "Tumor board"

    def ready(self) -> None:
        from . import audit_guard, auth, checks, files  # noqa: F401 - connects receivers (logins, audit guard), checks
        from .jobs import tasks  # noqa: F401 - registers the job kinds
