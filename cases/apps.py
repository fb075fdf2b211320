from django.apps import AppConfig


class CasesConfig(AppConfig):
    name = "cases"
    verbose_name = "Tumor board"

    def ready(self) -> None:
        from . import auth, checks  # noqa: F401 - connects the login audit receivers, registers checks
        from .identity import signals  # noqa: F401 - decides at each sign-in whether a second factor is owed
        from .identity import tasks as identity_tasks  # noqa: F401 - registers the identity job
        from .jobs import tasks  # noqa: F401 - registers the job kinds
