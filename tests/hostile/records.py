"""Valid records: the same clinical facts, whether a portal form (strings) or the API (JSON) sends them.
Both tables start from these and add what their surface needs (ids, versions, a form's extra fields)."""

from django.utils import timezone

TODAY = timezone.localdate().isoformat()

PATIENT = {
    "mrn": "HOSTILE-0001",
    "given_name": "Mara",
    "family_name": "Lind",
    "birth_date": "1990-04-02",
    "sex": "female",
    "comorbidities": "Renal failure.",
}
REFERRAL = {
    "referring_clinician": "Dr. Ines Varga",
    "referring_email": "varga@hospital.invalid",
    "clinical_question": "Relapse?",
    "history": "Treated osteosarcoma.",
    "key_labs": "Calcium 2.9",
    "priority": "routine",
}
STUDY = {
    "modality": "CT",
    "body_site": "Left knee",
    "performed_on": TODAY,
    "accession_number": "ACC-1",
    "findings": "Calcification.",
    "impression": "Benign.",
}
OPINION = {"assessment": "Benign.", "recommendation": "Observe."}
PATHOLOGY = {"specimen": "Core", "procedure": "Biopsy", "collected_on": TODAY, "diagnosis": "Callus."}
AMENDMENT = {
    "diagnosis": "Tumoral calcinosis.",
    "amendment_reason": "Review.",
    "discrepancy": "major",
    "icdo3_code": "",
}
STAGING = {"kind": "clinical", "t": "T1", "n": "N0", "m": "M0", "stage_group": "IA", "edition": "ajcc-8"} | {
    "staged_on": TODAY,
    "note": "At diagnosis.",
}
DECISION = {
    "consensus_diagnosis": "Tumoral calcinosis.",
    "rationale": "Revised pathology.",
    "dissent": "",
    "guideline_concordance": "no",
    "concordance_reason": "Renal failure.",
    "treatment_intent": "curative",
}
