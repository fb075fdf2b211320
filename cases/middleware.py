import re
import uuid

from django.conf import settings
from django.contrib.auth import logout
from django.utils import timezone
from django.utils.cache import add_never_cache_headers

from .auth import LOGIN_AT_SESSION_KEY
from .services.audit import audit_record, bind_request_context, reset_request_context


def client_address(request) -> str | None:
    if getattr(settings, "TUMORBOARD_TRUST_X_FORWARDED_FOR", False):
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded:
            return forwarded.split(",")[0].strip() or None
    return request.META.get("REMOTE_ADDR") or None


class RequestContextMiddleware:
    """Gives every request an id (echoed as X-Request-ID) and binds it with the client address for audit rows."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.request_id = uuid.uuid4().hex
        token = bind_request_context(request_id=request.request_id, ip_address=client_address(request))
        try:
            response = self.get_response(request)
        finally:
            reset_request_context(token)
        response["X-Request-ID"] = request.request_id
        return response


class SessionLifetimeMiddleware:
    """Ends a session past its absolute lifetime, however active it was (the idle limit is the cookie age)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            started = request.session.get(LOGIN_AT_SESSION_KEY)
            limit = settings.SESSION_ABSOLUTE_HOURS * 3600
            if started is None or timezone.now().timestamp() - started > limit:
                logout(request)
        return self.get_response(request)


class NoStoreMiddleware:
    """Pages and API answers carry patient data: no browser or proxy may keep a copy."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if not request.path.startswith("/" + settings.STATIC_URL.lstrip("/")):
            add_never_cache_headers(response)
        return response


class AccessDeniedAuditMiddleware:
    """Audits every 403 or 404 answered on a patient-data URL: someone looked for what they may not see."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.audited = re.compile(settings.TUMORBOARD_AUDITED_PATHS)

    def __call__(self, request):
        response = self.get_response(request)
        if response.status_code in (403, 404) and self.audited.match(request.path):
            user = getattr(request, "user", None)
            audit_record(
                actor=user,
                action=f"access.denied_{response.status_code}",
                object_type="url",
                changes={"path": request.path[:500], "method": request.method},
            )
        return response
