"""ETags and If-Match: no lost updates.

A mutable object's ETag is `"<type>-<id>-v<version>"`. PUT, PATCH and DELETE must send it back in
If-Match: missing is 428, another object's tag is 412, and the version it names goes to the service
as `expected_version`, which refuses (412) when someone changed the object in between.
"""

import re

from rest_framework import status
from rest_framework.exceptions import APIException

_TAG = re.compile(r'^(?:W/)?"([a-z_]+)-(\d{1,19})-v(\d{1,9})"$')


class PreconditionRequired(APIException):
    status_code = status.HTTP_428_PRECONDITION_REQUIRED
    default_code = "precondition_required"


class PreconditionFailed(APIException):
    status_code = status.HTTP_412_PRECONDITION_FAILED
    default_code = "precondition_failed"


def etag_for(obj) -> str:
    return f'"{obj._meta.model_name}-{obj.pk}-v{obj.version}"'


def with_etag(response, obj):
    response["ETag"] = etag_for(obj)
    return response


def expected_version(request, obj, *, required: bool) -> int | None:
    """The version named by the request's If-Match for this object (None when optional and absent)."""
    header = request.headers.get("If-Match")
    if header is None or not header.strip():
        if not required:
            return None
        raise PreconditionRequired(
            f"Send If-Match with the ETag of the version you edited (GET it first; its ETag is {etag_for(obj)})."
        )
    for candidate in header.split(","):
        match = _TAG.match(candidate.strip())
        if match and match[1] == obj._meta.model_name and int(match[2]) == obj.pk:
            return int(match[3])
    raise PreconditionFailed(
        f"If-Match does not name a version of this {obj._meta.verbose_name}; its current ETag is {etag_for(obj)}. "
        "GET it again, check your change still applies, and send that ETag."
    )
