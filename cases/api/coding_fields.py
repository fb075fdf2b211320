"""Codes on the wire: `{"system": <URI>, "code": …, "display": …}`, as FHIR writes a Coding.

Input names the system too, so a code sent for the wrong system is refused rather than misread.
The service checks the code itself against its list (cases/codes/).
"""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from .. import codes

CODING_SCHEMA = {
    "type": "object",
    "nullable": True,
    "properties": {
        "system": {"type": "string", "format": "uri"},
        "code": {"type": "string", "maxLength": 20},
        "display": {"type": "string", "readOnly": True},
    },
    "required": ["system", "code"],
}

LATERALITY_BY_CODE = {code: name for name, (code, _display) in codes.LATERALITY.items()}


@extend_schema_field(CODING_SCHEMA)
class CodingField(serializers.Field):
    """A coded attribute of the object (`attr`) and its display (`attr_display`), in one system."""

    def __init__(self, *, attr: str, system: str, display_attr: str = "", **kwargs):
        self.attr, self.system = attr, system
        self.display_attr = display_attr or f"{attr.replace('_code', '')}_display"
        kwargs.setdefault("required", False)
        kwargs.setdefault("allow_null", True)
        super().__init__(source="*", **kwargs)

    def to_representation(self, obj):
        code = getattr(obj, self.attr, "")
        if not code:
            return None
        return {"system": self.system, "code": code, "display": getattr(obj, self.display_attr, "")}

    def validate_empty_values(self, data):
        if data is None:
            return True, {self.attr: ""}
        return super().validate_empty_values(data)

    def to_internal_value(self, data):
        if (
            not isinstance(data, dict)
            or not isinstance(data.get("code"), str)
            or not isinstance(data.get("system"), str)
        ):
            raise serializers.ValidationError('A code is {"system": "<URI>", "code": "…"}.')
        unknown = set(data) - {"system", "code", "display"}
        if unknown:
            raise serializers.ValidationError(f"Unknown keys: {', '.join(sorted(map(str, unknown)))}.")
        if data["system"] != self.system:
            raise serializers.ValidationError(f"This code's system is {self.system}.")
        code = data["code"].strip()
        if not code or len(code) > 20:
            raise serializers.ValidationError("Give a code of at most 20 characters.")
        return {self.attr: code}


@extend_schema_field(CODING_SCHEMA)
class LateralityField(CodingField):
    """Laterality as its SNOMED CT qualifier (7771000 left, 24028007 right, 51440002 both)."""

    def __init__(self, **kwargs):
        super().__init__(attr="laterality", system=codes.SNOMED, **kwargs)

    def to_representation(self, obj):
        if not obj.laterality:
            return None
        code, display = codes.LATERALITY[obj.laterality]
        return {"system": codes.SNOMED, "code": code, "display": display}

    def to_internal_value(self, data):
        code = super().to_internal_value(data)["laterality"]
        if code not in LATERALITY_BY_CODE:
            raise serializers.ValidationError("Laterality is SNOMED CT 7771000, 24028007 or 51440002.")
        return {"laterality": LATERALITY_BY_CODE[code]}


def topography_field(**kwargs) -> CodingField:
    return CodingField(attr="topography", system=codes.ICDO3, **kwargs)


def morphology_field(**kwargs) -> CodingField:
    return CodingField(attr="morphology", system=codes.ICDO3, **kwargs)


def icd10_field(**kwargs) -> CodingField:
    return CodingField(attr="icd10_code", system=codes.ICD10CM, display_attr="icd10_display", **kwargs)
