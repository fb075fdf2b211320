"""Token views: django-rest-knox keeps only a SHA-512 digest of each token, with an expiry; revocable.

`POST /api/v1/auth/token/ {username, password, otp}` → `{token, expiry}` (`otp`: the second factor's code);
send `Authorization: Token <token>`;
`POST /api/v1/auth/logout/` revokes the token the request carried. Login attempts are throttled per client.
"""

from django.conf import settings
from django.contrib.auth import authenticate, user_logged_in, user_logged_out, user_login_failed
from django.contrib.sessions.backends import signed_cookies
from drf_spectacular.utils import extend_schema, inline_serializer
from knox.models import get_token_model
from knox.settings import knox_settings
from rest_framework import exceptions, serializers, status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from ..identity import services as identity
from ..services.accounts import credentials_revoke
from ..services.audit import audit_record
from .authentication import TokenAuthentication
from .serializers import DateTimeField, InputSerializer


class CredentialsSerializer(InputSerializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=200, trim_whitespace=False, style={"input_type": "password"})
    otp = serializers.CharField(
        max_length=20,
        required=False,
        allow_blank=True,
        help_text="The current code of the account's authenticator app (or a recovery code), when it has one.",
    )


TokenSerializer = inline_serializer(
    "Token", {"token": serializers.CharField(), "expiry": DateTimeField(allow_null=True)}
)


class SecondFactorNeeded(exceptions.AuthenticationFailed):
    default_code = "mfa_required"


class LockedOut(exceptions.APIException):
    """django-axes paused sign-ins of this user from this address: said plainly, as the portal's sign-in page
    does, so that someone who now types the right password does not think it wrong."""

    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    default_code = "locked_out"

    def __init__(self):
        self.wait = int(settings.AXES_COOLOFF_TIME.total_seconds())  # the Retry-After header
        minutes = max(1, self.wait // 60)
        super().__init__(
            f"Too many failed sign-ins: signing in as this user from this address is paused for {minutes} "
            f"minute{'s' if minutes != 1 else ''}. Wait, then try again; if you have forgotten your password, "
            "ask an administrator to reset it."
        )


def refuse_if_locked_out(request) -> None:
    # django-axes marks the request it refused, or the failure that locked it.
    if getattr(request, "axes_locked_out", False):
        raise LockedOut()


def second_factor_for_token(request, user, otp: str) -> None:
    """A token only after the second factor, when the account has one or must have one."""
    if identity.mfa_enrolled(user):
        if not otp:
            raise SecondFactorNeeded("This account uses a second factor: send the current code as `otp`.")
        try:
            identity.second_factor_verify(user=user, code=otp)
        except identity.SecondFactorRefused as refusal:
            # Counted like a wrong password: the same lockout covers both.
            user_login_failed.send(sender=__name__, credentials={"username": user.get_username()}, request=request)
            refuse_if_locked_out(request)
            raise exceptions.AuthenticationFailed(refusal.message) from None
    elif identity.mfa_required_for(user):
        raise SecondFactorNeeded("This account must set up a second factor in the portal before it gets a token.")


class TokenCreateView(APIView):
    """Exchange a username and password for a token that expires."""

    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "login"

    def get_authenticate_header(self, request):
        return "Token"  # wrong credentials are a 401, not a 403

    @extend_schema(request=CredentialsSerializer, responses={200: TokenSerializer}, auth=[], tags=["auth"])
    def post(self, request):
        # A token is not a session: whatever session cookie came along is neither created, saved nor renewed.
        # django-axes would create one to log the sign-in: it gets a throwaway that is never stored.
        request._request.session_untouched = True
        request._request.session = signed_cookies.SessionStore()
        request.tb_token_login = True
        credentials = CredentialsSerializer(data=request.data)
        credentials.is_valid(raise_exception=True)
        otp = credentials.validated_data.pop("otp", "")
        user = authenticate(request, **credentials.validated_data)
        refuse_if_locked_out(request)
        if user is None or not user.is_active:
            raise exceptions.AuthenticationFailed("The username or password is not correct.")
        second_factor_for_token(request, user, otp)
        instance, token = get_token_model().objects.create(user=user, expiry=knox_settings.TOKEN_TTL)
        user_logged_in.send(sender=user.__class__, request=request, user=user)
        audit_record(actor=user, action="api_token.create", object_type="api_token", object_id=instance.token_key)
        return Response({"token": token, "expiry": DateTimeField().to_representation(instance.expiry)})


class TokenRevokeView(APIView):
    """Revoke the token this request carries."""

    authentication_classes = [TokenAuthentication]
    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses={204: None}, tags=["auth"])
    def post(self, request):
        request.auth.delete()
        user_logged_out.send(sender=request.user.__class__, request=request, user=request.user)
        audit_record(
            actor=request.user, action="api_token.revoke", object_type="api_token", object_id=request.auth.token_key
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class SignOutEverywhereView(APIView):
    """End every session and token of the signed-in user, this one included."""

    @extend_schema(request=None, responses={204: None}, tags=["auth"])
    def post(self, request):
        credentials_revoke(user=request.user, by=request.user, reason="signed_out_everywhere")
        return Response(status=status.HTTP_204_NO_CONTENT)
