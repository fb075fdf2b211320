"""The domain: one module per concern. Models hold data and invariants; rules live in services."""

from .audit import AuditChainHead, AuditEvent
from .boards import Board, BoardMembership, Role, Specialty
from .calendars import CalendarFeed
from .cases import Case, CaseEvent, CaseEventKind, PerformanceStatus, Priority, Stage
from .decisions import Concordance, Decision, DecisionStatus, PlanCategory, TreatmentIntent
from .errors import FrozenRecordError
from .followups import DeviationCode, FollowUp, FollowUpKind, FollowUpStatus, FollowUpTemplate
from .imaging import ImagingStudy, KeyImage, Modality
from .jobs import Job, JobStatus
from .meetings import AgendaItem, Attendance, Meeting, MeetingStatus, Outcome
from .notifications import Delivery, EmailStatus, Notification, NotificationKind, NotificationPreference
from .opinions import Opinion
from .pathology import Discrepancy, PathologyReport, ReportStatus
from .patients import Patient, Sex
from .teaching import TeachingCase, TeachingImage, TeachingSet, TeachingStatus, TeachingText

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
    "Concordance",
    "Decision",
    "DecisionStatus",
    "DeviationCode",
    "Discrepancy",
    "FollowUp",
    "FollowUpKind",
    "FollowUpStatus",
    "FollowUpTemplate",
    "FrozenRecordError",
    "ImagingStudy",
    "Job",
    "JobStatus",
    "KeyImage",
    "Meeting",
    "MeetingStatus",
    "Modality",
    "Notification",
    "NotificationKind",
    "NotificationPreference",
    "Delivery",
    "EmailStatus",
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
    "TeachingCase",
    "TeachingImage",
    "TeachingSet",
    "TeachingStatus",
    "TeachingText",
    "TreatmentIntent",
]
