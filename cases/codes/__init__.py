"""Code systems: which codes the product accepts, and how each list is checked (docs/codes.md).

Three kinds of list:
- shipped: the licence lets us ship the whole list, so a code is checked against it
  (ICD-10-CM, public domain; the laterality and ECOG answers, from HL7's published value sets);
- site-loaded: the licence does not (ICD-O-3 and WHO ICD-10 are WHO-licensed), so the format is
  checked, and once a site has loaded its licensed list (`manage.py load_code_list`) membership too;
- rules: TNM categories and stage groups are checked by their grammar and the edition.

Services call `check()`; the API and the FHIR export use the system URIs below.
"""

import functools
import gzip
import re
from dataclasses import dataclass
from pathlib import Path

from django.core.exceptions import ValidationError

DATA = Path(__file__).resolve().parent / "data"

ICDO3 = "http://terminology.hl7.org/CodeSystem/icd-o-3"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
ICD10 = "http://hl7.org/fhir/sid/icd-10"
SNOMED = "http://snomed.info/sct"
LOINC = "http://loinc.org"
AJCC = "http://cancerstaging.org"

# The lists a site loads, by the name the management command takes.
ICDO3_TOPOGRAPHY, ICDO3_MORPHOLOGY = "icd-o-3-topography", "icd-o-3-morphology"
SITE_LISTS = {ICDO3_TOPOGRAPHY: ICDO3, ICDO3_MORPHOLOGY: ICDO3, "icd-10": ICD10}

TOPOGRAPHY_FORMAT = re.compile(r"C(?:[0-7][0-9]|80)\.[0-9]")
# Histology (8000–9999), a slash, and the behaviour digit.
MORPHOLOGY_FORMAT = re.compile(r"[89][0-9]{3}/[0-36-9]")
ICD10_FORMAT = re.compile(r"[A-Z][0-9][0-9A-Z](?:\.[0-9A-Z]{1,4})?")

BEHAVIOURS = {
    "0": "benign",
    "1": "uncertain whether benign or malignant",
    "2": "carcinoma in situ",
    "3": "malignant, primary site",
    "6": "malignant, metastatic site",
    "9": "malignant, uncertain whether primary or metastatic",
}

# SNOMED CT laterality qualifiers, as in mCODE's LateralityQualifierVS.
LATERALITY = {
    "left": ("7771000", "Left (qualifier value)"),
    "right": ("24028007", "Right (qualifier value)"),
    "bilateral": ("51440002", "Right and left (qualifier value)"),
}

# LOINC answers of the ECOG performance status (89247-1).
ECOG_ANSWERS = {0: "LA9622-7", 1: "LA9623-5", 2: "LA9624-3", 3: "LA9625-0", 4: "LA9626-8", 5: "LA9627-6"}


@dataclass(frozen=True)
class Coding:
    system: str
    code: str
    display: str = ""

    def as_dict(self) -> dict:
        return {"system": self.system, "code": self.code, "display": self.display}


@functools.cache
def icd10cm() -> dict[str, str]:
    """The shipped ICD-10-CM list: code (with its dot) → title. Read once per process (~95,000 codes)."""
    codes = {}
    with gzip.open(DATA / "icd-10-cm.tsv.gz", "rt", encoding="utf-8") as handle:
        for line in handle:
            if not line.startswith("#"):
                code, _billable, display = line.rstrip("\n").split("\t", 2)
                codes[code] = display
    return codes


def _site_display(list_name: str, code: str) -> str | None:
    """The display of a code in the site's loaded list; "" when the site has loaded none; None if absent."""
    from ..models import CodeConcept  # models sit below; imported late so the data file loads without Django

    rows = CodeConcept.objects.filter(list_name=list_name)
    found = rows.filter(code=code).values_list("display", flat=True).first()
    if found is not None:
        return found
    return "" if not rows.exists() else None


def _check_site_listed(list_name: str, code: str, label: str, fmt: re.Pattern) -> Coding:
    if not fmt.fullmatch(code):
        raise ValidationError(f"{code!r} is not an {label} code.")
    display = _site_display(list_name, code)
    if display is None:
        raise ValidationError(f"{code} is not in this site's {label} list.")
    return Coding(SITE_LISTS[list_name], code, display)


def topography(code: str) -> Coding:
    """An ICD-O-3 topography code, e.g. C40.2 (lower limb long bones)."""
    return _check_site_listed(
        ICDO3_TOPOGRAPHY, code.strip().upper(), "ICD-O-3 topography (C00.0–C80.9)", TOPOGRAPHY_FORMAT
    )


def morphology(code: str) -> Coding:
    """An ICD-O-3 morphology code with its behaviour, e.g. 9180/3 (osteosarcoma, malignant)."""
    return _check_site_listed(ICDO3_MORPHOLOGY, code.strip(), "ICD-O-3 morphology (nnnn/b)", MORPHOLOGY_FORMAT)


def behaviour(morphology_code: str) -> str:
    return BEHAVIOURS.get(morphology_code[-1:], "") if "/" in morphology_code else ""


def icd10_cm(code: str) -> Coding:
    code = code.strip().upper()
    if not ICD10_FORMAT.fullmatch(code):
        raise ValidationError(f"{code!r} is not an ICD-10 code (a letter, two characters, then a dot and more).")
    display = icd10cm().get(code)
    if display is None:
        raise ValidationError(f"{code} is not an ICD-10-CM code.")
    return Coding(ICD10CM, code, display)


def laterality(value: str) -> Coding:
    if value not in LATERALITY:
        raise ValidationError(f"Laterality is one of {', '.join(LATERALITY)}.")
    code, display = LATERALITY[value]
    return Coding(SNOMED, code, display)


def split_legacy_icdo3(text: str) -> tuple[str, str]:
    """(morphology, leftover) for a free-text ICD-O-3 value: a well-formed morphology code moves to its field."""
    value = (text or "").strip()
    if MORPHOLOGY_FORMAT.fullmatch(value):
        return value, ""
    return "", value


# Searching (the portal's picker) -------------------------------------------------------------

SEARCHABLE = {"icd-10-cm": ICD10CM, ICDO3_TOPOGRAPHY: ICDO3, ICDO3_MORPHOLOGY: ICDO3}


def search(list_name: str, term: str, *, limit: int = 20) -> list[Coding]:
    """Codes whose code starts with, or whose display contains, the term (case-insensitive)."""
    term = term.strip()
    if list_name not in SEARCHABLE or len(term) < 2 or "\x00" in term:  # PostgreSQL cannot compare a NUL
        return []
    if list_name == "icd-10-cm":
        return _search_icd10cm(term, limit)
    from ..models import CodeConcept

    rows = CodeConcept.objects.filter(list_name=list_name)
    found = list(rows.filter(code__istartswith=term).order_by("code")[:limit])
    if len(found) < limit:
        found += (
            rows.filter(display__icontains=term).exclude(code__istartswith=term).order_by("code")[: limit - len(found)]
        )
    return [Coding(SEARCHABLE[list_name], row.code, row.display) for row in found]


def _search_icd10cm(term: str, limit: int) -> list[Coding]:
    upper, lower = term.upper(), term.lower()
    by_code = [code for code in icd10cm() if code.startswith(upper)]
    by_text = [code for code, text in icd10cm().items() if lower in text.lower() and not code.startswith(upper)]
    return [Coding(ICD10CM, code, icd10cm()[code]) for code in sorted(by_code)[:limit] + by_text][:limit]
