"""One exception handler: every refusal becomes JSON a person or a program can act on.

Http404 → 404, PermissionDenied → 403, Django ValidationError → 400 in DRF's field shape,
GatesUnmet → 409 {detail, code: "gates_unmet", unmet: [{code, message}]}, Conflict → 409 {detail, code},
StaleVersion → 412 when the request carried If-Match (else 409). Everything else has {detail, code}.
"""

from django.core.exceptions import (
    NON_FIELD_ERRORS,
    PermissionDenied,
    RequestDataTooBig,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, JsonResponse
from rest_framework import exceptions, status
from rest_framework.fields import get_error_detail
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

from ..models import FrozenRecordError
from ..refusals import refusal_for
from ..services.errors import GatesUnmet, ServiceError, StaleVersion
from ..services.idempotency import IdempotencyKeyReused


def _refusal(exc, context) -> Response | None:
    if isinstance(exc, GatesUnmet):
        body = {
            "detail": exc.message,
            "code": exc.code,
            "unmet": [{"code": g.code, "message": g.message} for g in exc.unmet],
        }
        return Response(body, status=status.HTTP_409_CONFLICT)
    if isinstance(exc, StaleVersion):
        request = context.get("request")
        carried = request is not None and request.headers.get("If-Match") is not None
        code = status.HTTP_412_PRECONDITION_FAILED if carried else status.HTTP_409_CONFLICT
        return Response({"detail": exc.message, "code": exc.code, "current_version": exc.current}, status=code)
    if isinstance(exc, IdempotencyKeyReused):
        return Response({"detail": exc.message, "code": exc.code}, status=status.HTTP_422_UNPROCESSABLE_ENTITY)
    if isinstance(exc, ServiceError):
        return Response({"detail": exc.message, "code": exc.code}, status=status.HTTP_409_CONFLICT)
    if isinstance(exc, FrozenRecordError):
        return Response({"detail": str(exc), "code": "frozen_record"}, status=status.HTTP_409_CONFLICT)
    if isinstance(exc, RequestDataTooBig | TooManyFieldsSent | TooManyFilesSent):
        code, name, message = refusal_for(exc)
        return Response({"detail": message, "code": name}, status=code)
    return None


def exception_handler(exc, context):
    response = _refusal(exc, context)
    if response is not None:
        set_rollback()
        return response
    if isinstance(exc, DjangoValidationError):
        detail = get_error_detail(exc)
        if isinstance(detail, dict) and NON_FIELD_ERRORS in detail:
            detail[api_settings.NON_FIELD_ERRORS_KEY] = detail.pop(NON_FIELD_ERRORS)
        exc = exceptions.ValidationError(detail=detail)
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound(*exc.args)
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied(*exc.args)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        if not isinstance(response.data, dict):
            response.data = {"non_field_errors": response.data}
    elif isinstance(response.data, dict) and "detail" in response.data:
        codes = exc.get_codes() if isinstance(exc, exceptions.APIException) else None
        response.data = {"detail": str(response.data["detail"]), "code": codes if isinstance(codes, str) else "error"}
    return response


def not_found(request, *args, **kwargs):
    """Unknown paths under /api/ answer JSON like everything else there."""
    return JsonResponse({"detail": "Not found.", "code": "not_found"}, status=404)
