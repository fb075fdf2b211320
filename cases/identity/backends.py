from django.core.exceptions import PermissionDenied

from .services import password_login_allowed


class PasswordPolicyBackend:
    """Refuses a password sign-in when local passwords are off, for everyone or for this account.

    Raising PermissionDenied stops Django from asking the other backends, and counts as a failed login.
    It has no get_user(): it never keeps anyone signed in (nor is it the backend force_login picks).
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is not None and password is not None and not password_login_allowed(username=str(username)):
            raise PermissionDenied
        return None
