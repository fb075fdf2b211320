"""Who may see and do what: every rule of PRODUCT.md's "Users and roles" in one place.

Visibility is per board: a user sees the patients, cases and meetings of boards they belong
to, and for anything else gets "not found" (never "forbidden", which would confirm it exists).
Actions are per role and specialty on the object's board; a refused action raises
PermissionDenied with a sentence the user can act on.
"""

from collections.abc import Callable, Iterable
from typing import TypeVar

from django.core.exceptions import ObjectDoesNotExist, PermissionDenied
from django.db.models import Exists, Model, OuterRef, Q, QuerySet
from django.http import Http404

from .models import (
    AgendaItem,
    Board,
    BoardMembership,
    Case,
    Decision,
    FollowUp,
    ImagingStudy,
    Job,
    KeyImage,
    Meeting,
    Opinion,
    PathologyReport,
    Patient,
    Role,
    Specialty,
    TeachingSet,
)
from .types import AnyUser

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
    "coding.record": (
        {COORDINATOR, MEMBER, CHAIR},
        None,
        "Only a member of this board codes diagnoses and staging.",
    ),
    "case.viewers": ({COORDINATOR}, None, "Only a coordinator sees who viewed a case."),
    "teaching.prepare": ({COORDINATOR, MEMBER, CHAIR}, None, "Only a member of this board prepares its teaching sets."),
    "case.withdraw": ({COORDINATOR}, None, "Only a coordinator withdraws a case."),
    "patient.merge": ({COORDINATOR}, None, "Only a coordinator merges patient records."),
}
TEACHING_REVIEWER = "Only a member of this board who reviews teaching sets approves one."

AUDIT_PERMISSION = "cases.view_auditevent"


def can_read_audit(user: AnyUser) -> bool:
    """Auditors and administrators: staff accounts with 'Can view audit event' (superusers have it)."""
    return bool(getattr(user, "is_active", False) and user.is_staff and user.has_perm(AUDIT_PERMISSION))


def require_audit_reader(user: AnyUser) -> None:
    if not can_read_audit(user):
        raise PermissionDenied("Only auditors and administrators read the audit trail.")


def memberships_of(user: AnyUser) -> dict[int, BoardMembership]:
    """The user's memberships by board id, loaded once per user object (one query)."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return {}
    cached = getattr(user, "_tb_memberships", None)
    if cached is None:
        cached = {
            m.board_id: m
            for m in BoardMembership.objects.filter(user=user, board__is_active=True).select_related("board")
        }
        # A cache of our own on the user object (forget_memberships drops it); set as an attribute, so that on
        # request.user (a lazy proxy) it lands on the user itself. The stubs declare no room for it.
        user._tb_memberships = cached  # type: ignore[attr-defined]
    return cached


def forget_memberships(user: AnyUser) -> None:
    user.__dict__.pop("_tb_memberships", None)


def visible_board_ids(user: AnyUser) -> list[int]:
    return sorted(memberships_of(user))


def membership(user: AnyUser, board_id: int) -> BoardMembership | None:
    return memberships_of(user).get(board_id)


def can(user: AnyUser, action: str, board_id: int) -> bool:
    roles, specialties, _ = RULES[action]
    m = membership(user, board_id)
    if m is None or m.role not in roles:
        return False
    return specialties is None or m.specialty in specialties


def require(user: AnyUser, action: str, board_id: int) -> BoardMembership:
    """Return the user's membership on the board if it allows the action, else raise."""
    m = membership(user, board_id)
    if m is None:
        raise Http404("Not found.")
    if not can(user, action, board_id):
        raise PermissionDenied(RULES[action][2])
    if action == "opinion.record" and not m.specialty:
        raise PermissionDenied(RULES[action][2])
    return m


def can_review_teaching(user: AnyUser, board_id: int) -> bool:
    m = membership(user, board_id)
    return m is not None and m.reviews_teaching


def require_teaching_reviewer(user: AnyUser, board_id: int) -> BoardMembership:
    """The reviewer permission is its own flag of a membership (the demo gives it to each board's chair)."""
    m = membership(user, board_id)
    if m is None:
        raise Http404("Not found.")
    if not m.reviews_teaching:
        raise PermissionDenied(TEACHING_REVIEWER)
    return m


def require_visible(user: AnyUser, board_id: int) -> None:
    if membership(user, board_id) is None:
        raise Http404("Not found.")


def allowed_actions(user: AnyUser, board_id: int, actions: Iterable[str] = RULES) -> set[str]:
    return {action for action in actions if can(user, action, board_id)}


# Visible querysets -------------------------------------------------------------------------


def boards_visible_to(user: AnyUser) -> QuerySet[Board]:
    return Board.objects.filter(pk__in=visible_board_ids(user))


def patients_visible_to(user: AnyUser) -> QuerySet[Patient]:
    boards = visible_board_ids(user)
    on_my_boards = Case.objects.filter(patient=OuterRef("pk"), board_id__in=boards)
    return Patient.objects.filter(Q(registered_board_id__in=boards) | Exists(on_my_boards))


def cases_visible_to(user: AnyUser) -> QuerySet[Case]:
    return Case.objects.filter(board_id__in=visible_board_ids(user))


def meetings_visible_to(user: AnyUser) -> QuerySet[Meeting]:
    return Meeting.objects.filter(board_id__in=visible_board_ids(user))


CaseChild = TypeVar("CaseChild", ImagingStudy, PathologyReport, Opinion, Decision, FollowUp)


def _by_case(model: type[CaseChild]) -> Callable[[AnyUser], QuerySet[CaseChild]]:
    def visible(user: AnyUser) -> QuerySet[CaseChild]:
        return model.objects.filter(case__board_id__in=visible_board_ids(user))

    return visible


imaging_studies_visible_to = _by_case(ImagingStudy)
pathology_reports_visible_to = _by_case(PathologyReport)
opinions_visible_to = _by_case(Opinion)
decisions_visible_to = _by_case(Decision)
follow_ups_visible_to = _by_case(FollowUp)


def key_images_visible_to(user: AnyUser) -> QuerySet[KeyImage]:
    return KeyImage.objects.filter(study__case__board_id__in=visible_board_ids(user))


def teaching_sets_visible_to(user: AnyUser) -> QuerySet[TeachingSet]:
    return TeachingSet.objects.filter(board_id__in=visible_board_ids(user))


def agenda_items_visible_to(user: AnyUser) -> QuerySet[AgendaItem]:
    return AgendaItem.objects.filter(meeting__board_id__in=visible_board_ids(user))


M = TypeVar("M", bound=Model)


def get_visible(queryset: QuerySet[M], pk: int | str) -> M:
    """Fetch one object from an already board-filtered queryset, or 404 (also for a `pk` that is not a number)."""
    try:
        return queryset.get(pk=int(pk))
    # ObjectDoesNotExist: the base of every model's DoesNotExist (the queryset's own is all that get() raises).
    except (ValueError, TypeError, OverflowError, ObjectDoesNotExist):
        raise Http404("Not found.") from None


# One access helper per object: 404 when the user cannot see it, then 403 when the action is not theirs
# (healthchecks' _get_rw_check_for_user). Without an action, seeing it is enough.


def get_for_user(
    user: AnyUser, queryset: QuerySet[M], pk: int | str, *, action: str | None, board_of: Callable[[M], int]
) -> M:
    obj = get_visible(queryset, pk)
    if action is not None:
        require(user, action, board_of(obj))
    return obj


def _board_of_case_child(obj: PathologyReport | Decision | Opinion | ImagingStudy) -> int:
    return obj.case.board_id


def get_case_for_user(user: AnyUser, pk: int | str, action: str | None = None) -> Case:
    rows = cases_visible_to(user).select_related("patient", "board")
    return get_for_user(user, rows, pk, action=action, board_of=lambda case: case.board_id)


def get_patient_for_user(user: AnyUser, pk: int | str) -> Patient:
    return get_visible(patients_visible_to(user), pk)


def get_meeting_for_user(user: AnyUser, pk: int | str, action: str | None = None) -> Meeting:
    rows = meetings_visible_to(user).select_related("board")
    return get_for_user(user, rows, pk, action=action, board_of=lambda meeting: meeting.board_id)


def get_report_for_user(user: AnyUser, pk: int | str, action: str | None = None) -> PathologyReport:
    rows = pathology_reports_visible_to(user).select_related("case__patient", "case__board")
    return get_for_user(user, rows, pk, action=action, board_of=_board_of_case_child)


def get_decision_for_user(user: AnyUser, pk: int | str, action: str | None = None) -> Decision:
    rows = decisions_visible_to(user).select_related("case__patient", "case__board")
    return get_for_user(user, rows, pk, action=action, board_of=_board_of_case_child)


def get_opinion_for_user(user: AnyUser, pk: int | str, action: str | None = None) -> Opinion:
    rows = opinions_visible_to(user).select_related("case__patient", "case__board")
    return get_for_user(user, rows, pk, action=action, board_of=_board_of_case_child)


def get_follow_up_for_user(user: AnyUser, pk: int | str) -> FollowUp:
    """Closing is checked by `require_follow_up_closer`: the owner may, without the managing role."""
    rows = follow_ups_visible_to(user).select_related("case__patient", "case__board")
    return get_visible(rows, pk)


def get_agenda_item_for_user(user: AnyUser, pk: int | str, action: str | None = None) -> AgendaItem:
    rows = agenda_items_visible_to(user).select_related("meeting__board", "case__patient")
    return get_for_user(user, rows, pk, action=action, board_of=lambda item: item.meeting.board_id)


def get_study_for_user(user: AnyUser, pk: int | str, action: str | None = None) -> ImagingStudy:
    rows = imaging_studies_visible_to(user).select_related("case__patient", "case__board")
    return get_for_user(user, rows, pk, action=action, board_of=_board_of_case_child)


def get_key_image_for_user(user: AnyUser, pk: int | str) -> KeyImage:
    return get_visible(key_images_visible_to(user), pk)


# Rules about one object rather than a role on a board ----------------------------------------------


def memberships_allowing(user: AnyUser, action: str) -> list[BoardMembership]:
    """The user's memberships on boards where they may do `action`; refuse outright when there are none."""
    allowed = [m for m in memberships_of(user).values() if can(user, action, m.board_id)]
    if not allowed:
        raise PermissionDenied(RULES[action][2])
    return allowed


def can_anywhere(user: AnyUser, action: str) -> bool:
    """Whether the user may do `action` on at least one of their boards (to offer the button)."""
    return any(can(user, action, board_id) for board_id in visible_board_ids(user))


def can_close_follow_up(user: AnyUser, follow_up: FollowUp) -> bool:
    """Its owner, or a coordinator or chair of its board, marks a follow-up done or deviated."""
    board_id = follow_up.case.board_id
    if follow_up.owner_id is not None and follow_up.owner_id == getattr(user, "pk", None):
        return membership(user, board_id) is not None
    return can(user, "followup.manage", board_id)


def require_follow_up_closer(user: AnyUser, follow_up: FollowUp) -> None:
    if follow_up.owner_id is not None and follow_up.owner_id == getattr(user, "pk", None):
        require_visible(user, follow_up.case.board_id)
        return
    require(user, "followup.manage", follow_up.case.board_id)


# Board analytics (issue 17): the board's coordinators and chairs, and auditors for every board --------

ANALYTICS_ROLES = {COORDINATOR, CHAIR}


def analytics_boards(user: AnyUser) -> QuerySet[Board]:
    """The boards whose analytics the user may read; anyone else gets "not found"."""
    if can_read_audit(user):
        return Board.objects.all()
    ids = [board_id for board_id, m in memberships_of(user).items() if m.role in ANALYTICS_ROLES]
    return Board.objects.filter(pk__in=ids)


def get_analytics_board_for_user(user: AnyUser, pk: int | str) -> Board:
    return get_visible(analytics_boards(user), pk)


def get_job_for_user(user: AnyUser, pk: int | str) -> Job:
    """A background job is visible to whoever may see the meeting it works for (jobs carry ids, no patient data)."""
    job = get_visible(Job.objects.all(), pk)
    meeting_id = job.args.get("meeting_id") if isinstance(job.args, dict) else None
    if meeting_id is None or not meetings_visible_to(user).filter(pk=meeting_id).exists():
        raise Http404("Not found.")
    return job
