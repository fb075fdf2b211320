"""The types the services, selectors and permissions share (checked by mypy in `make lint`).

`User` is who does a write: every service's `by`. The project keeps Django's own account model
(no AUTH_USER_MODEL), so it is `django.contrib.auth.models.User`, which django-stubs knows field by field.
`AnyUser` is whoever asks, `request.user` as django-stubs types it: permissions answer for an anonymous
visitor too (who sees nothing).
"""

from typing import TypeAlias

from django.contrib.auth.models import AnonymousUser, User

__all__ = ["AnyUser", "User"]

AnyUser: TypeAlias = User | AnonymousUser
