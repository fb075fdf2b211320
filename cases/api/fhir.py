"""FHIR over the API: `cases/{id}/fhir/` and `meetings/{id}/fhir/` (Bundles, application/fhir+json),
and `fhir/referrals/` (a referral Bundle in, a case out). docs/fhir.md."""

from django.http import HttpResponse
from django.urls import path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import renderers, views

from .. import interop
from ..services.audit import audit_record
from .views import PdfOrJsonNegotiation

FHIR_JSON = "application/fhir+json"


class FhirJSONRenderer(renderers.JSONRenderer):
    media_type = FHIR_JSON
    format = "fhir"


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
    def get(self, request, pk):
        """The case as a FHIR R4 Bundle (mCODE profiles); audited as `case.fhir`."""
        case, content = interop.case_bundle_bytes(user=request.user, case_id=pk)
        audit_record(actor=request.user, action="case.fhir", obj=case, changes={"bytes": len(content)})
        return fhir_response(content)


class MeetingBundleView(FhirView):
    @extend_schema(responses=BUNDLE, operation_id="v1_meetings_fhir_retrieve")
    def get(self, request, pk):
        """The meeting's decisions as a FHIR R4 Bundle; audited as `meeting.fhir`, naming its cases."""
        meeting, cases, content = interop.meeting_bundle_bytes(user=request.user, meeting_id=pk)
        audit_record(actor=request.user, action="meeting.fhir", obj=meeting, changes={"cases": [c.pk for c in cases]})
        return fhir_response(content)


urlpatterns = [
    path("cases/<int:pk>/fhir/", CaseBundleView.as_view(), name="case-fhir"),
    path("meetings/<int:pk>/fhir/", MeetingBundleView.as_view(), name="meeting-fhir"),
]
