"""Small pieces every service uses: row locks, version checks, validation and the case timeline."""

from django.db import models
from django.utils import timezone

from ..models import Case, CaseEvent
from .errors import StaleVersion


def lock(obj: models.Model) -> models.Model:
    """Re-read the row under SELECT … FOR UPDATE; call inside transaction.atomic()."""
    return type(obj)._default_manager.select_for_update().get(pk=obj.pk)


def check_version(obj: models.Model, expected: int | None, label: str) -> None:
    if expected is not None and int(expected) != obj.version:
        raise StaleVersion(label, int(expected), obj.version)


def save_validated(obj: models.Model, *, update_fields: list[str] | None = None) -> None:
    """Run the model's validation (field errors raise ValidationError) and save."""
    exclude = None
    if update_fields is not None:
        exclude = [f.name for f in obj._meta.fields if f.name not in update_fields]
    obj.full_clean(exclude=exclude, validate_unique=update_fields is None, validate_constraints=True)
    obj.save(update_fields=update_fields)


def case_event_add(
    *, case: Case, kind: str, summary: str, actor, note: str = "", from_stage: str = "", to_stage: str = ""
) -> CaseEvent:
    """Append to the case timeline; it also marks the case as updated for lists and caches."""
    event = CaseEvent.objects.create(
        case=case,
        kind=kind,
        summary=summary[:300],
        note=note,
        actor=actor,
        from_stage=from_stage,
        to_stage=to_stage,
    )
    Case.objects.filter(pk=case.pk).update(updated_at=timezone.now())
    return event
