"""The calendar a record may hold: one rule for every date and time the product stores or filters by.

Outside it lies a typing slip or hostile input, and dates at the ends of Python's calendar (year 1,
year 9999) overflow as soon as a page adds a day or a time zone.
"""

from datetime import date, datetime

from django.core.exceptions import ValidationError

EARLIEST_DATE, LATEST_DATE = date(1900, 1, 1), date(2199, 12, 31)
OUT_OF_RANGE = f"Enter a date between {EARLIEST_DATE.year} and {LATEST_DATE.year}."


def is_plausible(value: date | datetime | None) -> bool:
    """True for None (nothing to check) and for a date or time inside EARLIEST_DATE … LATEST_DATE."""
    return value is None or EARLIEST_DATE.year <= value.year <= LATEST_DATE.year


def validate_plausible(value: date | datetime | None) -> None:
    """The rule as a field validator (forms and serializers)."""
    if not is_plausible(value):
        raise ValidationError(OUT_OF_RANGE)
