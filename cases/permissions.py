"""Who may see and do what: every rule of PRODUCT.md's "Users and roles" in one place.

Visibility is per board: a user sees the patients, cases and meetings of boards they belong
to, and for anything else gets "not found" (never "forbidden", which would confirm it exists).
Actions are per role and specialty on the object's board; a refused action raises
PermissionDenied with a sentence the user can act on.
"""

from collections.abc import Iterable

from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import Http404

from .models import (
    AgendaItem,
    Board,
    BoardMembership,
    Case,
    Decision,
    FollowUp,
    ImagingStudy,
    KeyImage,
    Meeting,
    Opinion,
    PathologyReport,
    Patient,
    Role,
    Specialty,
)

COORDINATOR, MEMBER, CHAIR = Role.COORDINATOR, Role.MEMBER, Role.CHAIR

# action -> (roles allowed, specialties allowed or None for any, what to tell a refused user)
RULES: dict[str, tuple[set[str], set[str] | None, str]] = {
    "patient.create": ({COORDINATOR}, None, "Only a coordinator registers patients."),
    "patient.update": ({COORDINATOR}, None, "Only a coordinator edits patient details."),
    "case.create": ({COORDINATOR}, None, "Only a coordinator registers cases."),
    "case.update": ({COORDINATOR}, None, "Only a coordinator edits the referral."),
    "case.transition": ({COORDINATOR, CHAIR}, None, "Only a coordinator or the chair moves a case between stages."),
    "imaging.add": (
        {MEMBER, CHAIR},
        {Specialty.RADIOLOGY, Specialty.NUCLEAR_MEDICINE},
        "Only a radiologist or nuclear-medicine physician of this board adds imaging.",
    ),
    "pathology.add": (
        {MEMBER, CHAIR},
        {Specialty.PATHOLOGY},
        "Only a pathologist of this board adds pathology reports.",
    ),
    "pathology.amend": ({MEMBER, CHAIR}, {Specialty.PATHOLOGY}, "Only a pathologist of this board amends reports."),
    "opinion.record": ({MEMBER, CHAIR}, None, "Only a clinician member of this board records specialty input."),
    "meeting.manage": ({COORDINATOR, CHAIR}, None, "Only a coordinator or the chair manages meetings and agendas."),
    "decision.record": ({COORDINATOR, CHAIR}, None, "Only a coordinator or the chair records a decision."),
    "decision.sign": ({CHAIR}, None, "Only the board's chair signs a decision."),
    "decision.supersede": ({CHAIR}, None, "Only the board's chair corrects a signed decision."),
    "followup.manage": ({COORDINATOR, CHAIR}, None, "Only a coordinator or the chair plans follow-up."),
    "case.viewers": ({COORDINATOR}, None, "Only a coordinator sees who viewed a case."),
    "case.withdraw": ({COORDINATOR}, None, "Only a coordinator withdraws a case."),
    "patient.merge": ({COORDINATOR}, None, "Only a coordinator merges patient records."),
}

AUDIT_PERMISSION = "cases.view_auditevent"


def can_read_audit(user) -> bool:
    """Auditors and administrators: staff accounts with 'Can view audit event' (superusers have it)."""
    return bool(getattr(user, "is_active", False) and user.is_staff and user.has_perm(AUDIT_PERMISSION))


def require_audit_reader(user) -> None:
    if not can_read_audit(user):
        raise PermissionDenied("Only auditors and administrators read the audit trail.")


def memberships_of(user) -> dict[int, BoardMembership]:
    """The user's memberships by board id, loaded once per user object (one query)."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return {}
    cached = getattr(user, "_tb_memberships", None)
    if cached is None:
        cached = {
            m.board_id: m
            for m in BoardMembership.objects.filter(user=user, board__is_active=True).select_related("board")
        }
        user._tb_memberships = cached
    return cached


def forget_memberships(user) -> None:
    user.__dict__.pop("_tb_memberships", None)


def visible_board_ids(user) -> list[int]:
    return sorted(memberships_of(user))


def membership(user, board_id: int) -> BoardMembership | None:
    return memberships_of(user).get(board_id)


def can(user, action: str, board_id: int) -> bool:
    roles, specialties, _ = RULES[action]
    m = membership(user, board_id)
    if m is None or m.role not in roles:
        return False
    return specialties is None or m.specialty in specialties


def require(user, action: str, board_id: int) -> BoardMembership:
    """Return the user's membership on the board if it allows the action, else raise."""
    m = membership(user, board_id)
    if m is None:
        raise Http404("Not found.")
    if not can(user, action, board_id):
        raise PermissionDenied(RULES[action][2])
    if action == "opinion.record" and not m.specialty:
        raise PermissionDenied(RULES[action][2])
    return m


def require_visible(user, board_id: int) -> None:
    if membership(user, board_id) is None:
        raise Http404("Not found.")


def allowed_actions(user, board_id: int, actions: Iterable[str] = RULES) -> set[str]:
    return {action for action in actions if can(user, action, board_id)}


# Visible querysets -------------------------------------------------------------------------


def boards_visible_to(user) -> QuerySet[Board]:
    return Board.objects.filter(pk__in=visible_board_ids(user))


def patients_visible_to(user) -> QuerySet[Patient]:
    boards = visible_board_ids(user)
    on_my_boards = Case.objects.filter(patient=OuterRef("pk"), board_id__in=boards)
    return Patient.objects.filter(Q(registered_board_id__in=boards) | Exists(on_my_boards))


def cases_visible_to(user) -> QuerySet[Case]:
    return Case.objects.filter(board_id__in=visible_board_ids(user))


def meetings_visible_to(user) -> QuerySet[Meeting]:
    return Meeting.objects.filter(board_id__in=visible_board_ids(user))


def _by_case(model) -> "callable":
    def visible(user) -> QuerySet:
        return model.objects.filter(case__board_id__in=visible_board_ids(user))

    return visible


imaging_studies_visible_to = _by_case(ImagingStudy)
pathology_reports_visible_to = _by_case(PathologyReport)
opinions_visible_to = _by_case(Opinion)
decisions_visible_to = _by_case(Decision)
follow_ups_visible_to = _by_case(FollowUp)


def key_images_visible_to(user) -> QuerySet[KeyImage]:
    return KeyImage.objects.filter(study__case__board_id__in=visible_board_ids(user))


def agenda_items_visible_to(user) -> QuerySet[AgendaItem]:
    return AgendaItem.objects.filter(meeting__board_id__in=visible_board_ids(user))


def get_visible(queryset: QuerySet, pk):
    """Fetch one object from an already board-filtered queryset, or 404."""
    try:
        return queryset.get(pk=int(pk))
    except (ValueError, TypeError, OverflowError, queryset.model.DoesNotExist):
        raise Http404("Not found.") from None


def get_case_for_user(user, pk) -> Case:
    return get_visible(cases_visible_to(user).select_related("patient", "board"), pk)


def get_patient_for_user(user, pk) -> Patient:
    return get_visible(patients_visible_to(user), pk)


def get_meeting_for_user(user, pk) -> Meeting:
    return get_visible(meetings_visible_to(user).select_related("board"), pk)
