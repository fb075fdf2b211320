"""Template filters of the portal."""

from django import template
from django.utils.html import format_html

register = template.Library()


@register.simple_tag(takes_context=True)
def once_field(context) -> str:
    """The hidden one-time token of a create form: a second submit of it points to what the first made."""
    from ..web.common import once_token

    return format_html('<input type="hidden" name="once" value="{}">', once_token(context["request"]))


@register.filter
def person(user, empty: str = "—") -> str:
    """A user's full name, else the username; `empty` when there is nobody."""
    if user is None:
        return empty
    return user.get_full_name() or user.get_username()


@register.filter
def cut_final_stop(text: str) -> str:
    """A user's sentence set inside ours: its own full stop dropped, so ours does not double it."""
    return str(text or "").rstrip().rstrip(".")


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


def _value(value) -> str:
    if value in (None, "", [], {}):
        return "(empty)"
    if isinstance(value, list):
        return ", ".join(_value(item) for item in value)
    if isinstance(value, dict):
        return "; ".join(f"{key}: {_value(item)}" for key, item in value.items())
    return str(value)


@register.filter
def changes_text(changes) -> str:
    """An audit row's changes as a person reads them: "Body site: Right knee → Left knee; reason: Wrong side"."""
    if not isinstance(changes, dict) or not changes:
        return "—"
    parts = []
    for name, value in changes.items():
        label = name.replace("_", " ").capitalize()
        if isinstance(value, list) and len(value) == 2 and not isinstance(value[0], dict):
            parts.append(f"{label}: {_value(value[0])} → {_value(value[1])}")
        else:
            parts.append(f"{label}: {_value(value)}")
    return "; ".join(parts)
