"""Interoperability: the case and meeting as HL7 FHIR R4 Bundles (fhir.py), and FHIR referral
Bundles read into what the intake service needs (intake.py). Export only reads (selectors);
intake only parses: the write is cases.services.intake."""

from .. import selectors
from . import fhir


def case_bundle_bytes(*, user, case_id) -> tuple:
    """(case, Bundle bytes) for a case the user can see (404 otherwise)."""
    case = selectors.case_fhir(user=user, pk=case_id)
    return case, fhir.to_bytes(fhir.case_bundle(case))


def meeting_bundle_bytes(*, user, meeting_id) -> tuple:
    """(meeting, its decisions' cases, Bundle bytes) for a meeting the user can see."""
    meeting, cases = selectors.meeting_fhir(user=user, pk=meeting_id)
    return meeting, cases, fhir.to_bytes(fhir.meeting_bundle(meeting, cases))
