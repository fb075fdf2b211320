"""Small pieces every service uses: row locks, version checks, updates, validation and the case timeline."""

from collections.abc import Collection, Iterable, Mapping
from datetime import date, datetime
from typing import Any, Protocol, TypeVar, cast

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.utils import timezone

from ..models import BoardMembership, Case, CaseEvent
from ..models.dates import OUT_OF_RANGE, is_plausible
from ..types import User
from .audit import audit_record, diff, snapshot
from .errors import Conflict, StaleVersion
from .plausibility import integrity_sentence, readable

M = TypeVar("M", bound=models.Model)
Changes = dict[str, list[Any]]


class Versioned(Protocol):
    """A record whose every saved change counts up `version` (the ETag of the API, the hidden field of a form)."""

    version: int


def lock(obj: M) -> M:
    """Re-read the row under SELECT … FOR UPDATE; call inside transaction.atomic()."""
    return type(obj)._default_manager.select_for_update().get(pk=obj.pk)


def check_version(obj: Versioned, expected: int | None, label: str) -> None:
    if expected is not None and int(expected) != obj.version:
        raise StaleVersion(label, int(expected), obj.version)


def require_not_withdrawn(case: Case) -> None:
    """Refuse a change to a withdrawn case: it is kept as it was when it was withdrawn."""
    if case.withdrawn_at is not None:
        raise Conflict(
            f"Case {case.pk} was withdrawn ({case.withdrawal_reason}); it is kept as it was and is not changed.",
            code="case_withdrawn",
        )


def refuse_unknown(data: Mapping[str, Any], allowed: Collection[str], noun: str) -> None:
    """A service is called with the fields it edits and no others: anything else is a programming error."""
    unknown = set(data) - set(allowed)
    if unknown:
        raise TypeError(f"Unknown {noun} fields: {sorted(unknown)}")


def model_update(*, instance: models.Model, fields: Collection[str], data: Mapping[str, Any]) -> Changes:
    """Set `data` on `instance` (names outside `fields` refused) and return what changed: {name: [before, after]}.

    The shape of HackSoft's `model_update`; nothing is saved, so the caller decides, under its lock,
    whether there is anything to save.
    """
    refuse_unknown(data, fields, str(instance._meta.verbose_name))
    before = _columns(instance, data)
    for name, value in data.items():
        setattr(instance, name, value)
    return diff(before, _columns(instance, data))


def column(model: type[models.Model] | models.Model, name: str) -> models.Field:
    """The model's field `name`; services name fields of their own model, never a reverse relation."""
    field = model._meta.get_field(name)
    if not isinstance(field, models.Field):
        raise TypeError(f"{name} is a reverse relation of {model._meta.label}, not one of its fields")
    return field


def field_label(model: type[models.Model], name: str) -> str:
    """The field as the forms label it: "referring clinician"."""
    return str(column(model, name).verbose_name)


def _columns(instance: models.Model, names: Collection[str]) -> dict[str, Any]:
    # A foreign key by its id: comparing never loads the related row.
    attnames = [column(instance, name).attname for name in names]
    return dict(zip(names, snapshot(instance, attnames).values(), strict=True))


def save_changes(*, instance: models.Model, changes: Changes, by: User, action: str) -> None:
    """Save the changed columns (with the version bumped) and audit the diff, in the caller's transaction.

    Call it only when `changes` is not empty: a no-op edit keeps its version (and ETag) and writes no audit row.
    """
    concrete = {f.name for f in instance._meta.concrete_fields}
    columns = [name for name in changes if name in concrete]
    if "version" in concrete:
        cast(Versioned, instance).version += 1
        columns.append("version")
    if "updated_at" in concrete:
        columns.append("updated_at")
    save_validated(instance, update_fields=columns)
    audit_record(actor=by, action=action, obj=instance, changes=changes)


def validate_dates(**values: date | datetime | None) -> None:
    """Refuse (ValidationError by field) any date or time outside the calendar a record may hold (models.dates)."""
    errors = {name: OUT_OF_RANGE for name, value in values.items() if not is_plausible(value)}
    if errors:
        raise ValidationError(errors)


def _dates_of(obj: models.Model, names: list[str] | None) -> dict[str, date | None]:
    return {
        f.name: getattr(obj, f.attname)
        for f in obj._meta.concrete_fields
        if isinstance(f, models.DateField) and not (f.auto_now or f.auto_now_add) and (names is None or f.name in names)
    }


def save_validated(obj: models.Model, *, update_fields: list[str] | None = None) -> None:
    """Run the model's validation (field errors raise ValidationError) and save.

    With `update_fields`, only those fields are validated, their uniqueness included (a changed record
    number that another patient holds is a field error, not an IntegrityError).
    """
    exclude = None
    if update_fields is not None:
        exclude = [f.name for f in obj._meta.fields if f.name not in update_fields]
    validate_dates(**_dates_of(obj, update_fields))
    validate_text_lengths(obj, update_fields)
    try:
        obj.full_clean(exclude=exclude, validate_unique=True, validate_constraints=True)
    except ValidationError as error:
        raise readable(error) from None
    try:
        # A savepoint: a row written meanwhile by someone else (the same MRN, the same input) is refused
        # as a sentence, and the surrounding transaction stays usable.
        with transaction.atomic():
            obj.save(update_fields=update_fields)
    except IntegrityError as error:
        sentence = integrity_sentence(type(obj), str(error))
        if not sentence:
            raise
        raise ValidationError(sentence) from None


def validate_text_lengths(obj: models.Model, update_fields: list[str] | None = None) -> None:
    """Clinical free text has room for any real history (TUMORBOARD_TEXT_MAX_CHARS, 20,000 characters, about
    eight pages), and no more: a two-megabyte "history" would take a minute to print. Whatever the entry point."""
    limit = settings.TUMORBOARD_TEXT_MAX_CHARS
    errors = {}
    for field in obj._meta.concrete_fields:
        if not isinstance(field, models.TextField) or (update_fields is not None and field.name not in update_fields):
            continue
        value = getattr(obj, field.attname)
        if isinstance(value, str) and len(value) > limit:
            errors[field.name] = (
                f"At most {limit:,} characters here (this has {len(value):,}): shorten it, or attach the full text "
                "to the record it comes from."
            )
    if errors:
        raise ValidationError(errors)


def case_event_add(
    *, case: Case, kind: str, summary: str, actor: User, note: str = "", from_stage: str = "", to_stage: str = ""
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


NOT_A_MEMBER = {
    "presenter": "Choose a member of this board.",
    "participants": "Every participant must be a member of this board.",
    "owner": "The owner must be a member of this board.",
    "user": "Only members of this board are recorded as attending.",
}


def require_board_members(*, board_id: int, users: Iterable[User | None], field: str) -> None:
    """Refuse, as a field error, anyone named in a write (presenter, participant, owner) who is not on the board."""
    ids = {user.pk for user in users if user is not None}
    if not ids:
        return
    members = set(BoardMembership.objects.filter(board_id=board_id, user_id__in=ids).values_list("user_id", flat=True))
    if ids - members:
        raise ValidationError({field: NOT_A_MEMBER[field]})
