"""TNM: the grammar of T, N and M categories and stage groups (AJCC 8th / UICC 8th style).

The site-specific tables of which categories exist for which tumour, and which stage group they
give, are AJCC's and UICC's copyright: not shipped. A category is checked for its form (`T2a`,
`Tis`, `N1mi`, `M1c`, `TX`), its prefix for what it may be, and the edition for being one we know.
"""

import re

from django.core.exceptions import ValidationError

EDITIONS = {
    "ajcc-7": "AJCC 7th edition",
    "ajcc-8": "AJCC 8th edition",
    "uicc-7": "UICC 7th edition",
    "uicc-8": "UICC 8th edition",
}

T_FORMAT = re.compile(r"T(?:X|0|is(?:\((?:DCIS|LCIS|Paget|pu|pd)\))?|a|[1-4](?:mi|[a-e][1-3]?)?)(?:\(m\)|\(\d\))?")
N_FORMAT = re.compile(r"N(?:X|0(?:\((?:i\+|i-|mol\+|mol-)\))?|[1-3](?:mi|[a-c])?)(?:\((?:sn|f)\))?")
M_FORMAT = re.compile(r"M(?:X|0(?:\(i\+\))?|1(?:[a-d](?:\((?:0|1)\))?)?)")
STAGE_FORMAT = re.compile(r"(?:0|0a|0is|I|II|III|IV)(?:[A-D][1-3]?)?|occult|unknown")

KINDS = {"clinical": "c", "pathological": "p"}


def _check(value: str, fmt: re.Pattern, label: str, example: str) -> str:
    value = (value or "").strip()
    if value and not fmt.fullmatch(value):
        raise ValidationError(f"{value!r} is not a TNM {label} (for example {example}).")
    return value


def check_staging(*, kind: str, t: str, n: str, m: str, stage_group: str, edition: str) -> dict:
    """The cleaned categories, or ValidationError by field naming each that is not TNM."""
    errors, cleaned = {}, {}
    checks = {
        "t": (t, T_FORMAT, "T category", "T2a, Tis, TX"),
        "n": (n, N_FORMAT, "N category", "N0, N1mi, N2b"),
        "m": (m, M_FORMAT, "M category", "M0, M1b"),
        "stage_group": (stage_group, STAGE_FORMAT, "stage group", "IIB, IVA, 0is"),
    }
    for name, (value, fmt, label, example) in checks.items():
        try:
            cleaned[name] = _check(value, fmt, label, example)
        except ValidationError as error:
            errors[name] = error.messages[0]
    if kind not in KINDS:
        errors["kind"] = "Staging is clinical or pathological."
    if edition not in EDITIONS:
        errors["edition"] = f"Choose the edition: {', '.join(EDITIONS)}."
    if not errors and not any(cleaned.values()):
        errors["t"] = "Give at least one of T, N, M or the stage group."
    if errors:
        raise ValidationError(errors)
    return cleaned
