from django.apps import AppConfig


class CasesConfig(AppConfig):
    name = "cases"
    verbose_name = "Tumor board"

    def ready(self) -> None:
        from . import audit_guard, auth, checks, files  # noqa: F401 - connects receivers (logins, audit guard), checks
