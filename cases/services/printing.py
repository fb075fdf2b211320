"""Recording who printed what: every PDF of patient data leaves an audit event."""

from collections.abc import Mapping
from typing import Any

from ..models import AuditEvent, Case, Meeting
from ..types import User
from .audit import audit_record


def case_print_record(*, case: Case, by: User, options: Mapping[str, Any]) -> AuditEvent:
    """After a case summary was produced for `by` (who could see the case)."""
    return audit_record(actor=by, action="case.print", obj=case, changes={"document": "case_summary", **options})


def meeting_print_record(*, meeting: Meeting, by: User, options: Mapping[str, Any], case_ids: list[int]) -> AuditEvent:
    """After a meeting packet was produced for `by`; names every case the packet printed."""
    return audit_record(
        actor=by,
        action="meeting.print",
        obj=meeting,
        changes={"document": "meeting_packet", **options, "cases": case_ids},
    )
