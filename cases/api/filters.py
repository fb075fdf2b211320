"""Query-string filters (django-filter). Every value is parsed and bounded, so bad input is a 400."""

from datetime import UTC

import django_filters as filters
from django import forms
from django.core.exceptions import ValidationError
from django_filters.fields import IsoDateTimeField

from .. import models as m
from .. import selectors

MAX_ID = 2**63 - 1


class IdFilter(filters.NumberFilter):
    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(*args, **kwargs)


class BoundedIsoDateTimeField(IsoDateTimeField):
    """A datetime that stays representable in UTC (the database compares in UTC).

    Handed over in UTC: PostgreSQL refuses offsets Python accepts (e.g. +22:45).
    """

    def to_python(self, value):
        parsed = super().to_python(value)
        if parsed is not None:
            try:
                return parsed.astimezone(UTC)
            except OverflowError:
                raise ValidationError("The date and time are out of range.", code="invalid") from None
        return parsed


class DateTimeFilter(filters.IsoDateTimeFilter):
    field_class = BoundedIsoDateTimeField


class StrictBooleanField(forms.TypedChoiceField):
    """true/false (or 1/0); anything else is a 400, where django-filter would quietly ignore it."""

    def __init__(self, *args, **kwargs):
        kwargs.pop("widget", None)
        choices = [("true", "true"), ("false", "false"), ("1", "true"), ("0", "false")]
        super().__init__(*args, choices=choices, coerce=lambda value: value in ("true", "1"), **kwargs)


class BooleanFilter(filters.BooleanFilter):
    field_class = StrictBooleanField


class SearchFilter(filters.CharFilter):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("max_length", 200)
        super().__init__(*args, **kwargs)


class CaseFilter(filters.FilterSet):
    board = IdFilter(field_name="board_id")
    stage = filters.ChoiceFilter(choices=m.Stage.choices)
    patient = IdFilter(field_name="patient_id")
    meeting = IdFilter(field_name="agenda_items__meeting_id")
    priority = filters.ChoiceFilter(choices=m.Priority.choices)
    updated_after = DateTimeFilter(field_name="updated_at", lookup_expr="gt")
    search = SearchFilter(method="filter_search", help_text="An exact MRN, or part of a name or of the question.")

    class Meta:
        model = m.Case
        fields = ["board", "stage", "patient", "meeting", "priority", "updated_after", "search"]

    def filter_search(self, queryset, name, value):
        return selectors.case_search(queryset, value)


class PatientFilter(filters.FilterSet):
    board = IdFilter(field_name="registered_board_id")
    search = SearchFilter(method="filter_search", help_text="An exact MRN, or part of a name.")

    class Meta:
        model = m.Patient
        fields = ["board", "search"]

    def filter_search(self, queryset, name, value):
        return selectors.patient_search(queryset, value)


class ByCaseFilter(filters.FilterSet):
    case = IdFilter(field_name="case_id")
    board = IdFilter(field_name="case__board_id")
    patient = IdFilter(field_name="case__patient_id")


class ImagingStudyFilter(ByCaseFilter):
    modality = filters.ChoiceFilter(choices=m.Modality.choices)

    class Meta:
        model = m.ImagingStudy
        fields = ["case", "board", "patient", "modality"]


class PathologyReportFilter(ByCaseFilter):
    status = filters.ChoiceFilter(choices=m.ReportStatus.choices)
    current = BooleanFilter(field_name="superseded_by", lookup_expr="isnull", label="Only current reports")

    class Meta:
        model = m.PathologyReport
        fields = ["case", "board", "patient", "status", "current"]


class OpinionFilter(ByCaseFilter):
    specialty = filters.ChoiceFilter(choices=m.Specialty.choices)

    class Meta:
        model = m.Opinion
        fields = ["case", "board", "patient", "specialty"]


class DecisionFilter(ByCaseFilter):
    meeting = IdFilter(field_name="meeting_id")
    status = filters.ChoiceFilter(choices=m.DecisionStatus.choices)

    class Meta:
        model = m.Decision
        fields = ["case", "board", "patient", "meeting", "status"]


class FollowUpFilter(ByCaseFilter):
    status = filters.ChoiceFilter(choices=m.FollowUpStatus.choices)
    owner = IdFilter(field_name="owner_id")
    due_before = filters.DateFilter(field_name="due_on", lookup_expr="lt")

    class Meta:
        model = m.FollowUp
        fields = ["case", "board", "patient", "status", "owner", "due_before"]


class MeetingFilter(filters.FilterSet):
    board = IdFilter(field_name="board_id")
    status = filters.ChoiceFilter(choices=m.MeetingStatus.choices)
    starts_after = DateTimeFilter(field_name="starts_at", lookup_expr="gte")
    starts_before = DateTimeFilter(field_name="starts_at", lookup_expr="lt")

    class Meta:
        model = m.Meeting
        fields = ["board", "status", "starts_after", "starts_before"]
