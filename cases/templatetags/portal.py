"""Template filters of the portal."""

from django import template

register = template.Library()


@register.filter
def person(user, empty: str = "—") -> str:
    """A user's full name, else the username; `empty` when there is nobody."""
    if user is None:
        return empty
    return user.get_full_name() or user.get_username()


@register.filter
def specialty_label(code: str) -> str:
    """The label of a specialty code; a coordinator attends for none."""
    from ..models import Specialty

    return Specialty(code).label if code in Specialty.values else "Coordinator"


@register.filter
def reads_analytics(user) -> bool:
    """Whether the main menu offers board analytics (a coordinator or chair of a board, or an auditor)."""
    from .. import permissions

    if not getattr(user, "is_authenticated", False):
        return False
    if user.is_staff and permissions.can_read_audit(user):
        return True
    return any(m.role in permissions.ANALYTICS_ROLES for m in permissions.memberships_of(user).values())
