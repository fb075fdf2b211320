"""Requests refused before a form or serializer could read them: the one answer the portal and the API give.

The portal shows templates/400.html with the reason; under /api/ it is JSON like every API error. Used by the
input middleware, the portal's error handlers, the API's exception handler and a few views.
"""

from django.conf import settings
from django.core.exceptions import BadRequest, RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import JsonResponse
from django.shortcuts import render


def refusal_response(request, status: int, code: str, message: str):
    """The portal shows templates/400.html with the reason; under /api/ it is JSON like every API error."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": message, "code": code}, status=status)
    heading = "The request could not be read" if request.method in ("GET", "HEAD") else "Nothing was saved"
    return render(request, "400.html", {"heading": heading, "message": message}, status=status)


def refusal_for(exception) -> tuple[int, str, str]:
    """(status, code, message) for an exception Django raises while reading a request."""
    if isinstance(exception, RequestDataTooBig):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE / (1024 * 1024)
        return 413, "payload_too_large", f"The request is larger than the {limit:g} MB limit. Shorten the text."
    if isinstance(exception, TooManyFieldsSent | TooManyFilesSent):
        return 400, "too_many_fields", "The request has more fields or files than any form of this site."
    if isinstance(exception, BadRequest) and exception.args:
        return 400, "bad_request", str(exception)
    return 400, "bad_request", "The request could not be read."


def json_strings(data):
    """Every key and string value of a parsed JSON document, without recursion (the nesting may be deep): what
    the API's parser and the FHIR intake check for text no database can store."""
    pending = [data]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            yield item
        elif isinstance(item, dict):
            yield from (key for key in item if isinstance(key, str))
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
