"""OpenAPI details drf-spectacular cannot see: the token scheme, If-Match, and the error responses."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema as BaseAutoSchema
from drf_spectacular.plumbing import build_bearer_security_scheme_object
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse

from ..models.dates import EARLIEST_DATE, LATEST_DATE
from .serializers import ErrorSerializer, JobSerializer

IF_MATCH_REQUIRED = OpenApiParameter(
    "If-Match",
    str,
    OpenApiParameter.HEADER,
    required=True,
    description='The ETag of the version you edited, e.g. `"case-12-v3"` (428 without it, 412 when stale).',
)
IF_MATCH_OPTIONAL = OpenApiParameter(
    "If-Match",
    str,
    OpenApiParameter.HEADER,
    required=False,
    description="Optional: the ETag of the version you acted on; 412 if the object changed since.",
)

IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    str,
    OpenApiParameter.HEADER,
    required=False,
    description=(
        "Optional: your own unique id for this create (e.g. a UUID). A retry with the same key and body answers "
        "the first result again (header `Idempotent-Replayed: true`) instead of creating twice; the same key "
        "with another body is refused with 422 `idempotency_key_reused`."
    ),
)


# Path ids are matched by `[0-9]{1,18}` (anything longer is a 404 before any query runs).
PATH_ID = OpenApiParameter(
    "id", {"type": "integer", "minimum": 0, "maximum": 10**18 - 1}, OpenApiParameter.PATH, required=True
)

# A board's metrics period: inclusive dates; both left out, the current quarter.
YEARS = f"{EARLIEST_DATE.year}–{LATEST_DATE.year}"
METRICS_PERIOD = [
    OpenApiParameter(
        name,
        OpenApiTypes.DATE,
        OpenApiParameter.QUERY,
        required=False,
        description=f"{text} (YYYY-MM-DD, inclusive; {YEARS}). Both left out: the current quarter.",
    )
    for name, text in (("from", "First day of the period"), ("to", "Last day of the period"))
]

# The two downloads (`…/summary.pdf`, `…/packet.pdf`): a PDF when it works, JSON when refused.
PDF_DOWNLOAD = {
    (200, "application/pdf"): OpenApiResponse(
        OpenApiTypes.BINARY,
        description="The PDF, as an attachment (`Content-Disposition: attachment; filename=…`), never cached.",
    )
}

PRINT_REFUSED = {
    (409, "application/json"): OpenApiResponse(
        ErrorSerializer,
        description="The document cannot be printed as asked: `missing_glyphs` (a PDF/A print would lose "
        "characters its fonts lack; the message names them) or `print_limit_exceeded` (the render passed its "
        "time or memory limit; the message says which).",
    )
}

# The packet is rendered by a background job: when it is not ready within a short wait, 202 and a job to poll.
PACKET_DOWNLOAD = {
    **PDF_DOWNLOAD,
    (202, "application/json"): OpenApiResponse(
        JobSerializer,
        description="The packet is being rendered by a background job and was not ready within "
        "`TUMORBOARD_PRINT_JOB_WAIT_SECONDS`. Poll `Location` until `status` is `done`, then ask for the packet "
        "again (or follow `download`). While no worker has picked the job up, `detail` says so.",
    ),
    **PRINT_REFUSED,
}
PACKET_JOB_HEADERS = [
    OpenApiParameter(
        "Location", str, OpenApiParameter.HEADER, response=[202], description="The job to poll: `/api/v1/jobs/{id}/`."
    ),
    OpenApiParameter(
        "Retry-After", int, OpenApiParameter.HEADER, response=[202], description="Seconds to wait before polling."
    ),
]

ICS_DOWNLOAD = {
    (200, "text/calendar"): OpenApiResponse(
        OpenApiTypes.BINARY, description="The meeting as an RFC 5545 calendar (`.ics` attachment)."
    )
}


class TokenScheme(OpenApiAuthenticationExtension):
    target_class = "cases.api.authentication.TokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return build_bearer_security_scheme_object(header_name="Authorization", token_prefix="Token")


class AutoSchema(BaseAutoSchema):
    def get_tags(self):
        # One group per resource in the docs: /api/v1/cases/… → "cases".
        parts = self.path.strip("/").split("/")
        return [parts[2]] if len(parts) > 2 and parts[:2] == ["api", "v1"] else super().get_tags()

    def get_override_parameters(self):
        parameters = list(super().get_override_parameters())
        if "{id}" in self.path:
            parameters.append(PATH_ID)
        if self.method in ("PUT", "PATCH", "DELETE"):
            parameters.append(IF_MATCH_REQUIRED)
        if self._is_idempotent():
            parameters.append(IDEMPOTENCY_KEY)
        return parameters

    def _is_idempotent(self) -> bool:
        handler = getattr(self.view, getattr(self.view, "action", "") or "", None)
        return getattr(handler, "idempotent", False)

    def _error_codes(self) -> list[str]:
        codes = ["400", "401", "403", "404", "429"]
        if self.method != "GET":
            codes += ["409", "412"]
        if self.method in ("PUT", "PATCH", "DELETE"):
            codes.append("428")
        if self._is_idempotent():
            codes.append("422")
        return codes

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        for code in self._error_codes():
            if code in responses:
                continue
            body = OpenApiTypes.OBJECT if code == "400" else ErrorSerializer
            responses[code] = self._get_response_for_code(body, code, direction=direction)
        return responses


def refuse_unknown_fields(result, generator, request, public):
    """Request bodies refuse fields they do not know (InputSerializer): say so in the schema."""
    for name, component in result.get("components", {}).get("schemas", {}).items():
        if name.endswith("Request") and component.get("type") == "object":
            component["additionalProperties"] = False
    return result
