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
