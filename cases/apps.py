from django.apps import AppConfig


class CasesConfig(AppConfig):
    name = "cases"
    verbose_name = "Tumor board"

    def ready(self) -> None:
        from . import audit_guard, auth, checks, files  # noqa: F401 - connects receivers (logins, audit guard), checks
        from .identity import signals  # noqa: F401 - decides at each sign-in whether a second factor is owed
        from .identity import tasks as identity_tasks  # noqa: F401 - registers the identity job
        from .jobs import tasks  # noqa: F401 - registers the job kinds
        from .reference import connect

        connect(self)  # the surveillance schedule is back after any flush (the test runner's included)
