"""The demo's coded data: the seed case's diagnosis, comorbidities and staging (cases/codes/).

Kept beside the demo builder, not inside it: it runs through the coding services, so every code
it uses is checked exactly as a user's would be.
"""

from datetime import date, timedelta

from .models import Case
from .services import coding

SEED_COMORBIDITIES = [
    ("N18.6", "End-stage kidney disease, on haemodialysis"),
    ("E10.22", "Type 1 diabetes with diabetic chronic kidney disease"),
    ("N25.81", "Secondary hyperparathyroidism of renal origin"),
]
# The tumour's TNM at first diagnosis, clinical and (after chemotherapy) pathological alike.
SEED_TNM = {"t": "T1", "n": "N0", "m": "M0", "stage_group": "IIA", "edition": "ajcc-8"}


def code_seed_case(*, mrn: str, by, diagnosed_on: date) -> None:
    case = Case.objects.filter(patient__mrn=mrn).order_by("id").first()
    if case is None:
        return
    coding.diagnosis_set_primary(
        case=case,
        by=by,
        icd10_code="C40.22",
        topography="C40.2",
        morphology="9180/3",
        laterality="left",
        text="Osteosarcoma of the distal left femur and proximal tibia, treated",
        diagnosed_on=diagnosed_on,
    )
    for code, text in SEED_COMORBIDITIES:
        coding.comorbidity_add(case=case, by=by, icd10_code=code, text=text)
    stage_seed_case(case=case, by=by, diagnosed_on=diagnosed_on)


def stage_seed_case(*, case: Case, by, diagnosed_on: date) -> None:
    coding.staging_record(
        case=case,
        by=by,
        kind="clinical",
        **SEED_TNM,
        staged_on=diagnosed_on,
        note="At first diagnosis, before chemotherapy.",
    )
    coding.staging_record(
        case=case,
        by=by,
        kind="pathological",
        after_therapy=True,
        **SEED_TNM,
        staged_on=diagnosed_on + timedelta(days=120),
        note="At resection after neoadjuvant chemotherapy.",
    )
