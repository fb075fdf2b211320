"""Rows the migrations create and the product expects, kept present: the osteosarcoma surveillance
schedule (migration 0002) and the id the audit checkpoints name this database by (0004, keyed audit).

A database emptied later by `manage.py flush` (the test runner empties every table after each transactional
test) is given them back once the flush is over, as Django does with content types and permissions: on
`post_migrate`, which `flush` sends too.
"""

import importlib

from django.apps import apps as global_apps
from django.db.models.signals import post_migrate


def ensure_reference_data(sender, using: str = "default", apps=None, **kwargs) -> None:
    # `migrate` passes the migrated state's registry; `flush` passes none: the app's own models then.
    apps = apps or global_apps
    try:
        template = apps.get_model("cases", "FollowUpTemplate")
        database = apps.get_model("cases", "AuditDatabase")
    except LookupError:  # an early migration state, before the models existed
        return
    osteosarcoma = importlib.import_module("cases.migrations.0002_reference_data").OSTEOSARCOMA
    template.objects.using(using).get_or_create(code=osteosarcoma["code"], defaults=osteosarcoma)
    # A flushed database is a new trail: it gets an id of its own, as a freshly migrated one does.
    if not database.objects.using(using).exists():
        database.objects.using(using).create()


def connect(app_config) -> None:
    post_migrate.connect(ensure_reference_data, sender=app_config, dispatch_uid="cases.reference_data")
