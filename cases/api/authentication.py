"""Token authentication for integrations (django-rest-knox: a SHA-512 digest is stored, tokens expire).

Kept apart from the token views: DRF imports authentication classes while it is still loading its views.
"""

import binascii

from knox import auth as knox_auth
from rest_framework import exceptions


class TokenAuthentication(knox_auth.TokenAuthentication):
    """Knox's `Authorization: Token <token>`, answering 401 (never 500) for a token that is not even text."""

    def authenticate_credentials(self, token: bytes):
        try:
            token.decode("utf-8")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed("Invalid token.") from None
        try:
            return super().authenticate_credentials(token)
        except (ValueError, binascii.Error):
            raise exceptions.AuthenticationFailed("Invalid token.") from None
