import ipaddress
import logging
import re
import time
import uuid
from urllib.parse import unquote_to_bytes

from django.conf import settings
from django.contrib.auth import SESSION_KEY, logout
from django.contrib.sessions.middleware import SessionMiddleware as DjangoSessionMiddleware
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http.multipartparser import MultiPartParserError
from django.shortcuts import render
from django.utils import timezone
from django.utils.cache import add_never_cache_headers

from . import logs
from .auth import LOGIN_AT_SESSION_KEY
from .refusals import refusal_for, refusal_response
from .services.accounts import EPOCH_SESSION_KEY, credential_epoch
from .services.audit import audit_record, bind_request_context, reset_request_context


def client_address(request) -> str | None:
    """The client's address: REMOTE_ADDR, or behind trusted proxies the address the outermost one saw.

    Each proxy appends the address it was reached from to X-Forwarded-For, after whatever the client sent: the
    entries a client can write come first, so the client is the entry TUMORBOARD_PROXY_HOPS from the right.
    """
    if getattr(settings, "TUMORBOARD_TRUST_X_FORWARDED_FOR", False):
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        hops = max(1, getattr(settings, "TUMORBOARD_PROXY_HOPS", 1))
        if len(forwarded) >= hops and _is_address(forwarded[-hops]):
            return forwarded[-hops]
    return request.META.get("REMOTE_ADDR") or None


def _is_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


class RequestContextMiddleware:
    """Gives every request an id (echoed as X-Request-ID) and binds it with the client address for audit rows."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.request_id = uuid.uuid4().hex
        token = bind_request_context(request_id=request.request_id, ip_address=client_address(request), request=request)
        # Kept past this middleware, so Django's own "Not Found" and error lines carry it too;
        # cleared when the response is finished (cases/logs.py).
        logs.request_id.set(request.request_id)
        try:
            response = self.get_response(request)
        finally:
            reset_request_context(token)
        response["X-Request-ID"] = request.request_id
        return response


access_log = logging.getLogger("tumorboard.access")


class AccessLogMiddleware:
    """One line per request: method, path, status, time, request id. The path only: a query string may hold
    what a user searched for (an MRN, a name), and an access log is no place for it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        access_log.info(
            "%s %s %s %.0fms %s",
            request.method,
            printable(request.path[:500]),
            response.status_code,
            (time.perf_counter() - started) * 1000,
            getattr(request, "request_id", "-"),
        )
        return response


class SessionMiddleware(DjangoSessionMiddleware):
    """Django's, except that a view may leave the session it was sent untouched (the API's token endpoint)."""

    def process_response(self, request, response):
        if getattr(request, "session_untouched", False):
            return response
        return super().process_response(request, response)


class SessionLifetimeMiddleware:
    """Ends a session past its absolute lifetime, however active it was (the idle limit is the cookie age),
    and a session opened before the user's credentials were last revoked (password change, deactivation,
    sign out everywhere)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and SESSION_KEY in request.session:
            started = request.session.get(LOGIN_AT_SESSION_KEY)
            limit = settings.SESSION_ABSOLUTE_HOURS * 3600
            if (
                started is None
                or timezone.now().timestamp() - started > limit
                or request.session.get(EPOCH_SESSION_KEY, 0) != credential_epoch(user)
            ):
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


def printable(text: str) -> str:
    """Control characters written as \\xNN: a probe's path may hold a NUL, which PostgreSQL's JSON cannot."""
    return re.sub(r"[\x00-\x1f\x7f]", lambda match: f"\\x{ord(match[0]):02x}", text)


class AddressLimitMiddleware:
    """A sign-in refused because its address failed too often says so, with 429 and Retry-After, on the portal,
    the admin and the API alike: answered as a wrong password, the right password would look like a typo."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if not getattr(request, "tb_address_limited", False):
            return response
        window = settings.TUMORBOARD_LOGIN_ADDRESS_WINDOW
        minutes = max(1, int(window.total_seconds()) // 60)
        if request.path.startswith("/api/"):
            message = (
                f"Too many failed sign-ins from this address: signing in from it is paused for up to {minutes} "
                "minutes, whoever signs in. Wait, then try again."
            )
            response = refusal_response(request, 429, "address_limited", message)
        else:
            response = render(request, "registration/address_limited.html", {"minutes": minutes}, status=429)
        response["Retry-After"] = str(int(window.total_seconds()))
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
                changes={"path": printable(request.path[:500]), "method": request.method},
            )
        return response


class PageReadAuditMiddleware:
    """Every page of patient data that is read leaves an event, even one whose view wrote none of its own
    (the GET of a form that shows a case, a new page): the path, the view, and the case or patient in its URL.
    Views that audit their read (with the ids they showed) mark the request, and this writes nothing more."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.audited = re.compile(settings.TUMORBOARD_AUDITED_PATHS)

    def __call__(self, request):
        response = self.get_response(request)
        if (
            request.method in ("GET", "HEAD")
            and 200 <= response.status_code < 300
            and not getattr(request, "tb_audited", False)
            and self.audited.match(request.path)
        ):
            match = getattr(request, "resolver_match", None)
            kwargs = dict(match.kwargs) if match else {}
            patient_id = kwargs.get("pk") if request.path.startswith("/patients/") else kwargs.get("patient_pk")
            case_id = kwargs.get("pk") if request.path.startswith("/cases/") else None
            audit_record(
                actor=getattr(request, "user", None),
                action="page.view",
                object_type="url",
                object_id=str(kwargs.get("pk", ""))[:40],
                patient_id=patient_id,
                case_id=case_id,
                changes={"path": printable(request.path[:500]), "view": match.view_name if match else "", **kwargs},
            )
        return response


FORM_CONTENT_TYPES = {"application/x-www-form-urlencoded", "multipart/form-data"}
NOT_UTF8 = "The request holds text that is not valid UTF-8: check the text (or the address) and send it again."


def _is_text(encoded: bytes, charset: str = "utf-8") -> bool:
    """Whether percent-encoded bytes decode as `charset` (the form's declared one; ours are UTF-8)."""
    try:
        unquote_to_bytes(encoded.replace(b"+", b" ")).decode(charset)
    except (UnicodeDecodeError, LookupError):
        return False
    return True


def _has_body(request) -> bool:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0) > 0
    except ValueError:
        return True


class RequestInputMiddleware:
    """Refuses, before any view reads it, input that no form or serializer could read faithfully.

    Django decodes query strings and form bodies with errors="replace": bytes that are not UTF-8 would
    reach a form as U+FFFD and be stored mangled. A portal POST that is not a form submission (JSON,
    plain text) would reach a button as "no fields" and act. A body over DATA_UPLOAD_MAX_MEMORY_SIZE,
    too many fields or a broken multipart body get a message (413/400) instead of a bare 400 or a 500.
    The API negotiates its own content types (DRF answers 415).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            refusal = self.refusal(request)
        except (RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent) as error:
            refusal = refusal_for(error)
        except MultiPartParserError:
            refusal = 400, "parse_error", "The multipart form could not be read."
        if refusal:
            return refusal_response(request, *refusal)
        return self.get_response(request)

    def refusal(self, request) -> tuple[int, str, str] | None:
        if not _is_text(request.META.get("QUERY_STRING", "").encode("iso-8859-1", "replace")):
            return 400, "invalid_utf8", NOT_UTF8
        if request.method not in ("POST", "PUT", "PATCH"):
            return None
        content_type = request.content_type
        if content_type not in FORM_CONTENT_TYPES:
            if _has_body(request) and not request.path.startswith("/api/"):
                return 415, "unsupported_media_type", "The portal accepts only its own forms' submissions."
            return None
        if content_type == "application/x-www-form-urlencoded" and not _is_text(
            request.body, request.encoding or "utf-8"
        ):
            return 400, "invalid_utf8", NOT_UTF8
        # Multipart fields are decoded one by one, undecodable bytes becoming U+FFFD (which nobody types).
        if any("\ufffd" in value for _name, values in request.POST.lists() for value in values):
            return 400, "invalid_utf8", NOT_UTF8
        return None


class ProductNotFoundMiddleware:
    """With DEBUG on (the demo), "not found" is still the product's own page, not Django's technical 404
    listing every URL of the site."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (
            settings.DEBUG
            and response.status_code == 404
            and response.get("Content-Type", "").startswith("text/html")
            and b"NONE,NOARCHIVE" in getattr(response, "content", b"")
        ):
            return render(request, "404.html", status=404)
        return response
