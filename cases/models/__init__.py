"""The domain: one module per concern. Models hold data and invariants; rules live in services."""

from .audit import AuditChainHead, AuditEvent
from .boards import Board, BoardMembership, Role, Specialty
from .calendars import CalendarFeed
from .cases import Case, CaseEvent, CaseEventKind, PerformanceStatus, Priority, Stage
from .decisions import Decision, DecisionStatus, PlanCategory
from .errors import FrozenRecordError
from .followups import FollowUp, FollowUpKind, FollowUpStatus, FollowUpTemplate
from .idempotency import IdempotencyKey
from .imaging import ImagingAddendum, ImagingStudy, KeyImage, Modality
from .jobs import Job, JobStatus
from .meetings import AgendaItem, Attendance, Meeting, MeetingStatus, Outcome
from .opinions import Opinion
from .pathology import Discrepancy, PathologyReport, ReportStatus
from .patients import Patient, Sex

__all__ = [
    "AgendaItem",
    "Attendance",
    "AuditChainHead",
    "AuditEvent",
    "Board",
    "CalendarFeed",
    "BoardMembership",
    "Case",
    "CaseEvent",
    "CaseEventKind",
    "Decision",
    "DecisionStatus",
    "Discrepancy",
    "FollowUp",
    "FollowUpKind",
    "FollowUpStatus",
    "FollowUpTemplate",
    "FrozenRecordError",
    "IdempotencyKey",
    "ImagingAddendum",
    "ImagingStudy",
    "Job",
    "JobStatus",
    "KeyImage",
    "Meeting",
    "MeetingStatus",
    "Modality",
    "Opinion",
    "Outcome",
    "PathologyReport",
    "Patient",
    "PerformanceStatus",
    "PlanCategory",
    "Priority",
    "ReportStatus",
    "Role",
    "Sex",
    "Specialty",
    "Stage",
]
