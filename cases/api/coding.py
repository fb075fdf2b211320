"""Coded data over the API: `cases/{id}/coding/` (read), its primary diagnosis, comorbidities and TNM
staging (writes, one service each), and `codes/search/` for pickers. Codes travel with their system URI."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.response import Response

from .. import codes, permissions, selectors
from ..codes import tnm
from ..models import Diagnosis, StagingKind, TnmStaging
from ..services import coding as coding_services
from ..services.audit import audit_record
from .coding_fields import LateralityField, icd10_field, morphology_field, topography_field
from .serializers import DateTimeField, InputSerializer, ModelSerializer, UserSummarySerializer


class DiagnosisSerializer(ModelSerializer):
    icd10 = icd10_field(read_only=True)
    topography = topography_field(read_only=True)
    morphology = morphology_field(read_only=True)
    behaviour = serializers.SerializerMethodField()
    laterality = LateralityField(read_only=True)

    class Meta:
        model = Diagnosis
        fields = [
            "id",
            "role",
            "icd10",
            "topography",
            "morphology",
            "behaviour",
            "laterality",
            "text",
            "diagnosed_on",
            "version",
            "updated_at",
        ]
        read_only_fields = fields

    def get_behaviour(self, diagnosis) -> str:
        return codes.behaviour(diagnosis.morphology)


class StagingSerializer(ModelSerializer):
    recorded_by = UserSummarySerializer(read_only=True)
    edition_label = serializers.SerializerMethodField()
    summary = serializers.SerializerMethodField()
    created_at = DateTimeField(read_only=True)

    class Meta:
        model = TnmStaging
        fields = [
            "id",
            "kind",
            "after_therapy",
            "recurrence",
            "t",
            "n",
            "m",
            "stage_group",
            "edition",
            "edition_label",
            "summary",
            "staged_on",
            "note",
            "recorded_by",
            "created_at",
        ]
        read_only_fields = fields

    def get_edition_label(self, staging) -> str:
        return tnm.EDITIONS.get(staging.edition, staging.edition)

    def get_summary(self, staging) -> str:
        return coding_services.staging_label(staging)


class CurrentStagingSerializer(serializers.Serializer):
    clinical = StagingSerializer(read_only=True, allow_null=True)
    pathological = StagingSerializer(read_only=True, allow_null=True)


class CaseCodingSerializer(serializers.Serializer):
    primary = DiagnosisSerializer(read_only=True, allow_null=True)
    comorbidities = DiagnosisSerializer(many=True, read_only=True)
    current_staging = CurrentStagingSerializer(read_only=True)
    staging_history = StagingSerializer(many=True, read_only=True)


class PrimaryDiagnosisInputSerializer(InputSerializer):
    icd10 = icd10_field()
    topography = topography_field()
    morphology = morphology_field()
    laterality = LateralityField()
    text = serializers.CharField(max_length=500, required=False, allow_blank=True)
    diagnosed_on = serializers.DateField(required=False, allow_null=True)


class ComorbidityInputSerializer(InputSerializer):
    icd10 = icd10_field(required=True, allow_null=False)
    text = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    diagnosed_on = serializers.DateField(required=False, allow_null=True, default=None)


class ComorbidityRemoveSerializer(InputSerializer):
    diagnosis = serializers.IntegerField(min_value=1, max_value=2**63 - 1)
    reason = serializers.CharField(max_length=5000)


class StagingInputSerializer(InputSerializer):
    kind = serializers.ChoiceField(choices=StagingKind.choices)
    after_therapy = serializers.BooleanField(required=False, default=False)
    recurrence = serializers.BooleanField(required=False, default=False)
    t = serializers.CharField(max_length=20, required=False, allow_blank=True, default="")
    n = serializers.CharField(max_length=20, required=False, allow_blank=True, default="")
    m = serializers.CharField(max_length=20, required=False, allow_blank=True, default="")
    stage_group = serializers.CharField(max_length=10, required=False, allow_blank=True, default="")
    edition = serializers.ChoiceField(choices=list(tnm.EDITIONS.items()))
    staged_on = serializers.DateField()
    note = serializers.CharField(max_length=5000, required=False, allow_blank=True, default="")


def _parse(serializer_class, request) -> dict:
    serializer = serializer_class(data=request.data, context={"request": request})
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


class CaseCodingViewSet(viewsets.ViewSet):
    """`cases/{id}/coding/…`: behind the case's own access rules (another board's case is 404)."""

    def _case(self):
        return permissions.get_case_for_user(self.request.user, self.kwargs["id"])

    def _show(self, request, case, status_code=status.HTTP_200_OK) -> Response:
        coding = selectors.case_coding(case=case)
        body = {
            "primary": coding["primary"],
            "comorbidities": coding["comorbidities"],
            "current_staging": {kind: coding["current"].get(kind) for kind in StagingKind.values},
            "staging_history": coding["stagings"],
        }
        return Response(CaseCodingSerializer(body, context={"request": request}).data, status=status_code)

    @extend_schema(responses={200: CaseCodingSerializer}, operation_id="v1_cases_coding_retrieve")
    def retrieve(self, request, id=None):
        case = self._case()
        audit_record(actor=request.user, action="case.coding_view", obj=case)
        return self._show(request, case)

    @extend_schema(
        request=PrimaryDiagnosisInputSerializer,
        responses={200: CaseCodingSerializer},
        operation_id="v1_cases_coding_primary_create",
    )
    def primary(self, request, id=None):
        """Code (or re-code) the primary cancer: ICD-10-CM, ICD-O-3 topography and morphology, laterality."""
        case = self._case()
        fields = _parse(PrimaryDiagnosisInputSerializer, request)
        coding_services.diagnosis_set_primary(case=case, by=request.user, **fields)
        return self._show(request, case)

    @extend_schema(
        request=ComorbidityInputSerializer,
        responses={201: CaseCodingSerializer},
        operation_id="v1_cases_coding_comorbidities_create",
    )
    def comorbidity(self, request, id=None):
        case = self._case()
        fields = _parse(ComorbidityInputSerializer, request)
        coding_services.comorbidity_add(case=case, by=request.user, **fields)
        return self._show(request, case, status.HTTP_201_CREATED)

    @extend_schema(
        request=ComorbidityRemoveSerializer,
        responses={200: CaseCodingSerializer},
        operation_id="v1_cases_coding_comorbidities_remove_create",
    )
    def comorbidity_remove(self, request, id=None):
        case = self._case()
        fields = _parse(ComorbidityRemoveSerializer, request)
        diagnosis = permissions.get_visible(case.diagnoses.select_related("case"), fields["diagnosis"])
        coding_services.comorbidity_remove(diagnosis=diagnosis, by=request.user, reason=fields["reason"])
        return self._show(request, case)

    @extend_schema(
        request=StagingInputSerializer,
        responses={201: CaseCodingSerializer},
        operation_id="v1_cases_coding_staging_create",
    )
    def staging(self, request, id=None):
        """Record a clinical or pathological TNM staging; earlier stagings stay in the history."""
        case = self._case()
        fields = _parse(StagingInputSerializer, request)
        coding_services.staging_record(case=case, by=request.user, **fields)
        return self._show(request, case, status.HTTP_201_CREATED)


class CodeSearchSerializer(serializers.Serializer):
    system = serializers.CharField(read_only=True)
    code = serializers.CharField(read_only=True)
    display = serializers.CharField(read_only=True)


class CodeSearchQuerySerializer(serializers.Serializer):
    list = serializers.ChoiceField(choices=sorted(codes.SEARCHABLE))
    q = serializers.CharField(max_length=100, allow_blank=True, required=False, default="")


class CodeSearchViewSet(viewsets.ViewSet):
    @extend_schema(
        parameters=[
            OpenApiParameter("list", str, enum=sorted(codes.SEARCHABLE), required=True),
            OpenApiParameter("q", str, required=False, description="At least two characters of a code or its title."),
        ],
        responses={200: CodeSearchSerializer(many=True)},
        operation_id="v1_codes_search_list",
    )
    def list(self, request):
        """Codes of a list (ICD-10-CM shipped; ICD-O-3 as loaded by the site) whose code or title matches."""
        query = CodeSearchQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        found = codes.search(query.validated_data["list"], query.validated_data["q"])
        return Response([coding.as_dict() for coding in found])
