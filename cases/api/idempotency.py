"""`Idempotency-Key` on the API's creates: the same key and body answer the first result again.

A client that retries after a timeout, or sends twice in parallel, makes one object. The same key with
another body or on another endpoint is refused (422 `idempotency_key_reused`). Without the header a
create behaves as before.
"""

import functools
import hashlib
import json
import re

from rest_framework import exceptions
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from ..services.idempotency import fingerprint_of, idempotent_create

# Printable ASCII without spaces: a UUID, a ULID, or the client's own request id.
KEY = re.compile(r"[\x21-\x7e]{1,100}")
HEADER = "Idempotency-Key"


def _digest(upload) -> str:
    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    return digest.hexdigest()


def _sent(request):
    """What the request carried, with uploads as digests (a multipart boundary differs on every retry)."""
    data = request.data
    if not hasattr(data, "lists"):
        return data
    return {
        name: [_digest(value) if hasattr(value, "chunks") else value for value in values]
        for name, values in data.lists()
    }


def _record(row, response: Response) -> None:
    data = json.loads(JSONRenderer().render(response.data)) if response.data is not None else None
    row.response = {"status": response.status_code, "data": data, "etag": response.get("ETag", "")}


def _replay(row) -> Response:
    stored = row.response
    response = Response(stored["data"], status=stored["status"])
    response["Idempotent-Replayed"] = "true"
    if stored.get("etag"):
        response["ETag"] = stored["etag"]
    return response


def idempotent(handler):
    """Wrap an API create so that an `Idempotency-Key` makes it happen once."""

    @functools.wraps(handler)
    def wrapper(self, request, *args, **kwargs):
        key = request.headers.get(HEADER)
        if key is None:
            return handler(self, request, *args, **kwargs)
        if not KEY.fullmatch(key):
            raise exceptions.ValidationError({HEADER: ["Send 1 to 100 printable ASCII characters, without spaces."]})
        first, outcome = idempotent_create(
            user=request.user,
            key="api:" + key,
            scope=f"{request.method} {request.path}",
            fingerprint=fingerprint_of(_sent(request)),
            create=lambda: handler(self, request, *args, **kwargs),
            record=_record,
        )
        return outcome if first else _replay(outcome)

    wrapper.idempotent = True
    return wrapper
