"""Every refusal of the database is a sentence a person can act on (issue 13): each constraint the models
declare has one, and it replaces Django's "Constraint … is violated." and "… with this … already exists."
whichever way the refusal comes (model validation, or the database itself under a race)."""

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError
from django.db.models import UniqueConstraint

from cases import models as m
from cases.services.common import save_validated
from cases.services.plausibility import CONSTRAINT_SENTENCES, integrity_sentence, readable

CONSTRAINTS = [
    (model, constraint) for model in apps.get_app_config("cases").get_models() for constraint in model._meta.constraints
]


def test_every_constraint_of_the_models_has_a_sentence_and_every_sentence_a_constraint():
    declared = {constraint.name for _, constraint in CONSTRAINTS}
    assert sorted(declared - set(CONSTRAINT_SENTENCES)) == []
    assert sorted(set(CONSTRAINT_SENTENCES) - declared) == []
    for sentence in CONSTRAINT_SENTENCES.values():
        assert sentence[0].isupper() and sentence.endswith("."), sentence
        assert "_" not in sentence and "constraint" not in sentence.lower(), sentence


@pytest.mark.parametrize(("model", "constraint"), CONSTRAINTS, ids=[c.name for _, c in CONSTRAINTS])
def test_django_and_the_database_refusals_read_as_the_sentence(model, constraint):
    sentence = CONSTRAINT_SENTENCES[constraint.name]
    # Model validation of a check, or of a unique constraint with a condition.
    violated = ValidationError({"__all__": [constraint.get_violation_error_message()]})
    assert readable(violated).message_dict["__all__"] == [sentence]
    # The database itself, as PostgreSQL words it (it names the constraint).
    kind = "unique" if isinstance(constraint, UniqueConstraint) else "check"
    assert integrity_sentence(model, f'violates {kind} constraint "{constraint.name}"') == sentence
    if isinstance(constraint, UniqueConstraint) and constraint.fields and constraint.condition is None:
        # SQLite lists the columns instead; Django's own check says "… with this … already exists."
        columns = ", ".join(f"{model._meta.db_table}.{model._meta.get_field(f).column}" for f in constraint.fields)
        assert integrity_sentence(model, f"UNIQUE constraint failed: {columns}") == sentence
        duplicate = ValidationError({"__all__": [model().unique_error_message(model, tuple(constraint.fields))]})
        assert readable(duplicate).message_dict["__all__"] == [sentence]


def test_recording_a_member_present_twice_is_refused_with_the_sentence(quorate_meeting, radiologist):
    with pytest.raises(ValidationError) as refused:
        save_validated(m.Attendance(meeting=quorate_meeting, user=radiologist, specialty="radiology"))
    assert refused.value.messages == [CONSTRAINT_SENTENCES["attendance_once_per_user"]]
