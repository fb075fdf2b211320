from django.apps import AppConfig


class CasesConfig(AppConfig):
    name = "cases"
    verbose_name = "Tumor board"

    def ready(self) -> None:
        from . import auth, checks  # noqa: F401 - connects the login audit receivers, registers checks
        from .jobs import tasks  # noqa: F401 - registers the job kinds
