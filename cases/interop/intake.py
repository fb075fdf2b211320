"""A referral Bundle read into a `Referral` (docs/fhir.md, "Referral intake"). Parsing only: every
problem found is collected, each naming where it is, so the sender can fix them all at once; the
write is cases.services.intake.referral_intake.
"""

import re
from datetime import date

from django.core.exceptions import ValidationError
from fhir.resources.R4B import get_fhir_model_class
from pydantic import ValidationError as ModelError

from .. import codes
from ..refusals import json_strings
from ..services.intake import Diagnosis, IntakeRefused, Issue, Referral
from .fhir import HISTOLOGY_EXTENSION, LATERALITY_EXTENSION, MCODE, V2_0203

BUNDLE_TYPES = {"transaction", "batch", "collection", "message"}
SEX = {"female", "male", "other", "unknown"}
URGENT = {"urgent", "asap", "stat"}
MAX_ENTRIES = 200
RESOURCE_TYPE = re.compile(r"[A-Z][A-Za-z]{1,40}")


class _Reader:
    """Walks the Bundle once, collecting issues instead of stopping at the first."""

    def __init__(self, data):
        self.data, self.issues = data, []

    def problem(self, code: str, diagnostics: str, expression: str = "") -> None:
        self.issues.append(Issue(code, diagnostics, expression))

    def read(self) -> Referral:
        data = self.data
        if not isinstance(data, dict) or data.get("resourceType") != "Bundle":
            raise IntakeRefused([Issue("invalid", "The body is not a FHIR Bundle.", "Bundle")])
        entries = data.get("entry")
        if not isinstance(entries, list) or not entries:
            raise IntakeRefused([Issue("required", "The Bundle has no entries.", "Bundle.entry")])
        if len(entries) > MAX_ENTRIES:
            raise IntakeRefused([Issue("too-costly", f"A referral has at most {MAX_ENTRIES} entries.", "Bundle.entry")])
        if any("\x00" in text for text in json_strings(data)):
            raise IntakeRefused([Issue("invalid", "A string holds a NUL character, which is not text.", "Bundle")])
        self.check_models(entries)
        if self.issues:
            raise IntakeRefused(self.issues)
        resources = [entry["resource"] for entry in entries]
        referral = self.referral(data, resources)
        if self.issues:
            raise IntakeRefused(self.issues)
        return referral

    def check_models(self, entries: list) -> None:
        """Each resource against its R4B model: types, cardinalities, unknown elements."""
        bundle = {key: value for key, value in self.data.items() if key != "entry"}
        self.validate("Bundle", bundle, "Bundle")
        for index, entry in enumerate(entries):
            where = f"Bundle.entry[{index}]"
            resource = entry.get("resource") if isinstance(entry, dict) else None
            if not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
                self.problem("required", "Each entry holds a resource with a resourceType.", f"{where}.resource")
                continue
            self.validate(resource["resourceType"], resource, f"{where}.resource")

    def validate(self, resource_type: str, resource: dict, where: str) -> None:
        if not RESOURCE_TYPE.fullmatch(resource_type):
            self.problem("invalid", "A resourceType is a FHIR resource name.", where)
            return
        try:
            model = get_fhir_model_class(resource_type)
        except (ValueError, KeyError):
            self.problem("invalid", f"{resource_type!r} is not a FHIR R4 resource type.", where)
            return
        try:
            model.model_validate(resource)
        except ModelError as error:
            for detail in error.errors()[:20]:
                path = ".".join(str(part) for part in detail["loc"] if part != "__root__")
                self.problem("invalid", detail["msg"], f"{where}.{path}" if path else where)
        except (ValueError, TypeError) as error:
            self.problem("invalid", str(error)[:300], where)

    def one(self, resources: list[dict], resource_type: str) -> dict | None:
        found = [r for r in resources if r["resourceType"] == resource_type]
        if len(found) != 1:
            self.problem(
                "required", f"A referral holds exactly one {resource_type} (found {len(found)}).", "Bundle.entry"
            )
            return None
        return found[0]

    def referral(self, data: dict, resources: list[dict]) -> Referral:
        identifier = data.get("identifier") or {}
        if not identifier.get("system") or not identifier.get("value"):
            self.problem(
                "required",
                "Bundle.identifier (system and value) makes a resent referral recognisable.",
                "Bundle.identifier",
            )
        patient = self.one(resources, "Patient") or {}
        request = self.one(resources, "ServiceRequest") or {}
        people = self.patient(patient)
        asked = self.service_request(request)
        primary, comorbidities = self.conditions([r for r in resources if r["resourceType"] == "Condition"])
        reports = self.reports([r for r in resources if r["resourceType"] == "DiagnosticReport"])
        if self.issues:
            return None
        return Referral(
            identifier_system=identifier["system"],
            identifier_value=identifier["value"],
            **people,
            **asked,
            primary=primary,
            comorbidities=comorbidities,
            reports=reports,
        )

    def patient(self, patient: dict) -> dict:
        mrns = [
            i.get("value")
            for i in patient.get("identifier", [])
            if any(c.get("code") == "MR" and c.get("system") == V2_0203 for c in i.get("type", {}).get("coding", []))
        ]
        if not mrns or not mrns[0]:
            self.problem(
                "required", "The Patient needs an identifier of type MR (v2-0203): the MRN.", "Patient.identifier"
            )
        elif len(mrns[0]) > 32:
            self.problem("value", "The MRN is at most 32 characters.", "Patient.identifier")
        names = patient.get("name") or [{}]
        name = next((n for n in names if n.get("use") == "official"), names[0])
        given, family = (name.get("given") or [""])[0], name.get("family") or ""
        if not given or not family:
            self.problem("required", "The Patient needs a family name and a given name.", "Patient.name")
        if not patient.get("birthDate") or len(patient.get("birthDate", "")) != 10:
            self.problem("required", "The Patient needs a full birthDate (YYYY-MM-DD).", "Patient.birthDate")
        sex = patient.get("gender") or "unknown"
        if sex not in SEX:
            self.problem("code-invalid", "Patient.gender is male, female, other or unknown.", "Patient.gender")
        if self.issues:
            return {}
        return {
            "mrn": mrns[0],
            "given_name": given[:100],
            "family_name": family[:100],
            "birth_date": date.fromisoformat(patient["birthDate"]),
            "sex": sex,
        }

    def service_request(self, request: dict) -> dict:
        performer = (request.get("performer") or [{}])[0].get("display", "")
        notes = [note.get("text", "") for note in request.get("note", []) if note.get("text")]
        if not notes:
            self.problem("required", "The clinical question goes in ServiceRequest.note.", "ServiceRequest.note")
        requester = (request.get("requester") or {}).get("display", "")
        if not requester:
            self.problem(
                "required",
                "ServiceRequest.requester.display names the referring clinician.",
                "ServiceRequest.requester",
            )
        reasons = [r.get("text") or _first_display(r) for r in request.get("reasonCode", [])]
        if request.get("priority", "routine") not in {"routine", *URGENT}:
            self.problem(
                "code-invalid", "ServiceRequest.priority is routine, urgent, asap or stat.", "ServiceRequest.priority"
            )
        return {
            "board_name": performer,
            "referring_clinician": requester[:200],
            "clinical_question": "\n\n".join(notes),
            "reason": "; ".join(filter(None, reasons)),
            "priority": "urgent" if request.get("priority") in URGENT else "routine",
        }

    def conditions(self, conditions: list[dict]) -> tuple[Diagnosis | None, list[Diagnosis]]:
        primary, comorbidities = None, []
        for index, condition in enumerate(conditions):
            where = f"Condition[{index}]"
            diagnosis = self.diagnosis(condition, where)
            is_primary = (MCODE + "mcode-primary-cancer-condition") in condition.get("meta", {}).get("profile", [])
            if is_primary and primary is not None:
                self.problem("invalid", "A referral names at most one primary cancer condition.", where)
            elif is_primary:
                primary = diagnosis
            elif not any(c.get("system") == codes.ICD10CM for c in (condition.get("code") or {}).get("coding", [])):
                self.problem("required", "A comorbidity needs an ICD-10-CM code.", f"{where}.code")
            elif not diagnosis.icd10_code:
                continue  # its code was refused above
            else:
                comorbidities.append(diagnosis)
        return primary, comorbidities

    def diagnosis(self, condition: dict, where: str) -> Diagnosis:
        found = Diagnosis(text=(condition.get("code") or {}).get("text", "")[:500])
        for coding in (condition.get("code") or {}).get("coding", []):
            if coding.get("system") == codes.ICD10CM:
                found.icd10_code = self.code(codes.icd10_cm, coding.get("code", ""), f"{where}.code")
        for extension in condition.get("extension", []):
            if extension.get("url") == HISTOLOGY_EXTENSION:
                for coding in extension.get("valueCodeableConcept", {}).get("coding", []):
                    if coding.get("system") == codes.ICDO3:
                        found.morphology = self.code(codes.morphology, coding.get("code", ""), f"{where}.extension")
        for site in condition.get("bodySite", []):
            for coding in site.get("coding", []):
                if coding.get("system") == codes.ICDO3:
                    found.topography = self.code(codes.topography, coding.get("code", ""), f"{where}.bodySite")
            for extension in site.get("extension", []):
                if extension.get("url") == LATERALITY_EXTENSION:
                    code = _first_code(extension.get("valueCodeableConcept", {}))
                    side = {c: name for name, (c, _d) in codes.LATERALITY.items()}.get(code)
                    if side is None:
                        self.problem(
                            "code-invalid",
                            f"Laterality {code!r} is not 7771000, 24028007 or 51440002.",
                            f"{where}.bodySite",
                        )
                    found.laterality = side or ""
        onset = condition.get("onsetDateTime", "")
        if len(onset) >= 10:
            found.diagnosed_on = date.fromisoformat(onset[:10])
        return found

    def code(self, check, value: str, where: str) -> str:
        try:
            return check(value).code
        except ValidationError as error:
            self.problem("code-invalid", error.messages[0], where)
            return ""

    def reports(self, reports: list[dict]) -> list[str]:
        """Each report as a line of the case history; its ICD-O-3 conclusion codes are checked like a condition's."""
        found = []
        for index, report in enumerate(reports):
            title = (report.get("code") or {}).get("text") or _first_display(report.get("code") or {}) or "report"
            when = report.get("effectiveDateTime", "")[:10]
            conclusion = report.get("conclusion", "")
            coded = [
                self.code(_icdo3, coding.get("code", ""), f"DiagnosticReport[{index}].conclusionCode")
                for concept in report.get("conclusionCode", [])
                for coding in concept.get("coding", [])
                if coding.get("system") == codes.ICDO3
            ]
            line = f"{title}{f' ({when})' if when else ''}: {conclusion}".strip()
            if any(coded):
                line += f" (ICD-O-3 {', '.join(code for code in coded if code)})"
            found.append(line[:2000])
        return found


def _icdo3(value: str) -> codes.Coding:
    """An ICD-O-3 code of either axis: a morphology with its behaviour (8800/3) or a topography (C49.2)."""
    return codes.morphology(value) if "/" in value else codes.topography(value)


def _first_display(concept: dict) -> str:
    return next((c.get("display", "") for c in concept.get("coding", []) if c.get("display")), "")


def _first_code(concept: dict) -> str:
    return next((c.get("code", "") for c in concept.get("coding", [])), "")


def parse_referral(data) -> Referral:
    """The referral a Bundle carries, or IntakeRefused naming every problem."""
    return _Reader(data).read()
