"""FHIR over the API: `cases/{id}/fhir/` and `meetings/{id}/fhir/` (Bundles, application/fhir+json),
and `fhir/referrals/` (a referral Bundle in, a case out). docs/fhir.md."""

import hashlib
import json

from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.urls import path, re_path, reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import exceptions, renderers, serializers, status, views
from rest_framework.response import Response

from .. import interop, selectors
from ..interop.intake import parse_referral
from ..services.audit import audit_record
from ..services.intake import IntakeRefused, Issue, operation_outcome, referral_intake
from .parsers import JSONParser
from .serializers import CaseDetailSerializer
from .views import PdfOrJsonNegotiation

FHIR_JSON = "application/fhir+json"


class FhirJSONRenderer(renderers.JSONRenderer):
    media_type = FHIR_JSON


def fhir_response(content: bytes, status: int = 200) -> HttpResponse:
    response = HttpResponse(content, content_type=f"{FHIR_JSON}; charset=utf-8", status=status)
    response["Cache-Control"] = "no-store, private"  # patient data
    response["X-Content-Type-Options"] = "nosniff"
    return response


BUNDLE = {(200, FHIR_JSON): OpenApiResponse(OpenApiTypes.OBJECT, description="A FHIR R4 Bundle (type collection).")}


class FhirView(views.APIView):
    renderer_classes = [FhirJSONRenderer, renderers.JSONRenderer]
    content_negotiation_class = PdfOrJsonNegotiation  # a Bundle, or a JSON refusal, whatever Accept says


class CaseBundleView(FhirView):
    @extend_schema(responses=BUNDLE, operation_id="v1_cases_fhir_retrieve")
    def get(self, request, id):
        """The case as a FHIR R4 Bundle (mCODE profiles); audited as `case.fhir`."""
        case, content = interop.case_bundle_bytes(user=request.user, case_id=id)
        audit_record(actor=request.user, action="case.fhir", obj=case, changes={"bytes": len(content)})
        return fhir_response(content)


class MeetingBundleView(FhirView):
    @extend_schema(responses=BUNDLE, operation_id="v1_meetings_fhir_retrieve")
    def get(self, request, id):
        """The meeting's decisions as a FHIR R4 Bundle; audited as `meeting.fhir`, naming its cases."""
        meeting, cases, content = interop.meeting_bundle_bytes(user=request.user, meeting_id=id)
        audit_record(actor=request.user, action="meeting.fhir", obj=meeting, changes={"cases": [c.pk for c in cases]})
        return fhir_response(content)


class FhirJSONParser(JSONParser):
    media_type = FHIR_JSON


def outcome(issues: list[Issue], status_code: int) -> HttpResponse:
    return fhir_response(json.dumps(operation_outcome(issues), ensure_ascii=False).encode(), status=status_code)


def digest(data) -> str:
    """The Bundle's content, whatever its key order and spacing: a resend is recognised as the same."""
    return hashlib.sha256(json.dumps(data, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def _board_query(request) -> int | None:
    raw = request.query_params.get("board")
    if raw is None:
        return None
    if not raw.isdigit() or not 0 < int(raw) < 2**63:
        raise IntakeRefused([Issue("value", "?board is a board id.", "board")])
    return int(raw)


REFERRAL_BUNDLE = inline_serializer(
    name="ReferralBundle",
    fields={
        "resourceType": serializers.ChoiceField(choices=["Bundle"]),
        "type": serializers.ChoiceField(choices=["transaction", "batch", "collection", "message"]),
        "identifier": serializers.DictField(help_text="system and value: a resend is recognised by them."),
        "entry": serializers.ListField(child=serializers.DictField(), help_text="Patient, ServiceRequest, …"),
    },
)
OUTCOME = OpenApiResponse(OpenApiTypes.OBJECT, description="A FHIR OperationOutcome naming each problem.")


class ReferralIntakeView(views.APIView):
    parser_classes = [FhirJSONParser, JSONParser]
    renderer_classes = [renderers.JSONRenderer]

    @extend_schema(
        request={FHIR_JSON: REFERRAL_BUNDLE, "application/json": REFERRAL_BUNDLE},
        parameters=[
            OpenApiParameter("board", int, required=False, description="The board, if not named in the Bundle.")
        ],
        responses={
            201: CaseDetailSerializer,
            200: CaseDetailSerializer,
            (400, FHIR_JSON): OUTCOME,
            (403, FHIR_JSON): OUTCOME,
            (409, FHIR_JSON): OUTCOME,
            (415, FHIR_JSON): OUTCOME,
            (422, FHIR_JSON): OUTCOME,
        },
        operation_id="v1_fhir_referrals_create",
    )
    def post(self, request):
        """Take in a referral Bundle: 201 with the new case, 200 with the same case for a resend."""
        if (request.content_type or "").split(";")[0].strip().lower() not in {FHIR_JSON, "application/json"}:
            message = "Send the Bundle as application/fhir+json or application/json."
            return outcome([Issue("not-supported", message)], status.HTTP_415_UNSUPPORTED_MEDIA_TYPE)
        try:
            data = request.data
            referral = parse_referral(data)
            case, created = referral_intake(
                referral=referral, digest=digest(data), by=request.user, board_id=_board_query(request)
            )
        except exceptions.ParseError as error:
            return outcome([Issue("invalid", str(error.detail), "Bundle")], status.HTTP_400_BAD_REQUEST)
        except exceptions.UnsupportedMediaType as error:
            return outcome([Issue("not-supported", str(error.detail))], status.HTTP_415_UNSUPPORTED_MEDIA_TYPE)
        except IntakeRefused as refused:
            return outcome(refused.issues, refused.status)
        except PermissionDenied as error:
            return outcome([Issue("forbidden", str(error))], status.HTTP_403_FORBIDDEN)
        case = selectors.case_detail(user=request.user, pk=case.pk)
        body = CaseDetailSerializer(case, context={"request": request}).data
        location = reverse("api:case-detail", args=[case.pk])
        code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
        return Response(body, status=code, headers={"Location": location})


urlpatterns = [
    path("fhir/referrals/", ReferralIntakeView.as_view(), name="fhir-referrals"),
    re_path(r"^cases/(?P<id>[0-9]{1,18})/fhir/$", CaseBundleView.as_view(), name="case-fhir"),
    re_path(r"^meetings/(?P<id>[0-9]{1,18})/fhir/$", MeetingBundleView.as_view(), name="meeting-fhir"),
]
