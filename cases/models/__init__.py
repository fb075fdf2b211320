"""The domain: one module per concern. Models hold data and invariants; rules live in services."""

from .accounts import CredentialEpoch
from .audit import AuditDatabase, AuditEvent
from .boards import Board, BoardMembership, Role, Specialty
from .calendars import CalendarFeed
from .cases import Case, CaseEvent, CaseEventKind, PerformanceStatus, Priority, Stage
from .coding import CodeConcept, Diagnosis, DiagnosisRole, Laterality, StagingKind, TnmStaging
from .decisions import Concordance, Decision, DecisionStatus, PlanCategory, TreatmentIntent
from .errors import FrozenRecordError
from .followups import DeviationCode, FollowUp, FollowUpKind, FollowUpStatus, FollowUpTemplate
from .idempotency import IdempotencyKey
from .identity import (
    AccountSecurity,
    BoardIdentityPolicy,
    BreakGlassAccess,
    IdentityLink,
    RecoveryCode,
    WebAuthnCredential,
)
from .imaging import ImagingAddendum, ImagingStudy, KeyImage, Modality
from .jobs import Job, JobStatus
from .meetings import AgendaItem, Attendance, Meeting, MeetingStatus, Outcome
from .notifications import Delivery, EmailStatus, Notification, NotificationKind, NotificationPreference
from .opinions import Opinion
from .pathology import REPORT_FIELDS, Discrepancy, PathologyReport, ReportStatus
from .patients import Patient, Sex
from .referrals import ReferralIntake
from .teaching import TeachingCase, TeachingImage, TeachingSet, TeachingStatus, TeachingText

__all__ = [
    "AccountSecurity",
    "BoardIdentityPolicy",
    "BreakGlassAccess",
    "IdentityLink",
    "RecoveryCode",
    "AgendaItem",
    "Attendance",
    "AuditDatabase",
    "AuditEvent",
    "Board",
    "CalendarFeed",
    "BoardMembership",
    "Case",
    "CaseEvent",
    "CaseEventKind",
    "Concordance",
    "CodeConcept",
    "CredentialEpoch",
    "Decision",
    "Diagnosis",
    "DiagnosisRole",
    "DecisionStatus",
    "DeviationCode",
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
    "Laterality",
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
    "REPORT_FIELDS",
    "Patient",
    "PerformanceStatus",
    "PlanCategory",
    "ReferralIntake",
    "Priority",
    "ReportStatus",
    "Role",
    "Sex",
    "Specialty",
    "StagingKind",
    "Stage",
    "WebAuthnCredential",
    "TeachingCase",
    "TeachingImage",
    "TeachingSet",
    "TeachingStatus",
    "TeachingText",
    "TreatmentIntent",
    "TnmStaging",
]
