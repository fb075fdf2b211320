"""`/api/v1/teaching-sets/`: prepare, preview, edit, approve and print a teaching set (thin: parse, one
service, show). The rules are in cases/services/teaching.py."""

from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from .. import models as m
from .. import permissions, selectors
from ..printing.documents import http_response
from ..printing.teaching import render_teaching_set
from ..services import teaching as services
from ..teaching.export import preview
from .etags import expected_version, with_etag
from .idempotency import idempotent
from .schema import IF_MATCH_OPTIONAL, IF_MATCH_REQUIRED, PDF_DOWNLOAD
from .serializers import (
    BoundedListField,
    DateTimeField,
    ErrorSerializer,
    IdField,
    InputSerializer,
    UserSummarySerializer,
    VisibleObjectField,
)
from .views import ResourceViewSet, download, parse

# Wire formats --------------------------------------------------------------------------------------


class TeachingSetSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    board = serializers.IntegerField(source="board_id", read_only=True)
    meeting = serializers.IntegerField(source="meeting_id", read_only=True, allow_null=True)
    status = serializers.ChoiceField(choices=m.TeachingStatus.choices, read_only=True)
    codes = serializers.SerializerMethodField()
    prepared_by = UserSummarySerializer(read_only=True)
    approved_by = UserSummarySerializer(read_only=True, allow_null=True)
    approved_at = DateTimeField(read_only=True, allow_null=True)
    version = serializers.IntegerField(read_only=True)
    created_at = DateTimeField(read_only=True)

    def get_codes(self, obj) -> list[str]:
        return [c.code for c in obj.cases.all()]


class TeachingFieldSerializer(serializers.Serializer):
    key = serializers.CharField(read_only=True)
    label = serializers.CharField(read_only=True)
    original = serializers.CharField(read_only=True)
    suggested = serializers.CharField(read_only=True, help_text="The original as the scrubber would print it.")
    included = serializers.BooleanField(read_only=True)
    text = serializers.CharField(read_only=True, help_text="What prints once approved (empty when not included).")
    edited = serializers.BooleanField(read_only=True)
    still_found = serializers.ListField(child=serializers.CharField(), read_only=True)


class TeachingImageSerializer(serializers.Serializer):
    key_image = serializers.IntegerField(source="key_image.pk", read_only=True)
    included = serializers.BooleanField(read_only=True)
    caption_key = serializers.CharField(read_only=True)


class TeachingCasePreviewSerializer(serializers.Serializer):
    code = serializers.CharField(read_only=True)
    case = serializers.IntegerField(source="case.pk", read_only=True)
    other_identifiers = serializers.CharField(read_only=True)
    fields = TeachingFieldSerializer(many=True, read_only=True)
    images = TeachingImageSerializer(many=True, read_only=True)


class TeachingSetDetailSerializer(TeachingSetSerializer):
    cases = serializers.SerializerMethodField()

    @extend_schema_field(TeachingCasePreviewSerializer(many=True))
    def get_cases(self, obj) -> list[dict]:
        return TeachingCasePreviewSerializer(self.context["preview"], many=True).data


class TeachingSetCreateSerializer(InputSerializer):
    cases = BoundedListField(child=VisibleObjectField(permissions.cases_visible_to, "case"), max_length=40)
    meeting = VisibleObjectField(permissions.meetings_visible_to, "meeting", required=False, allow_null=True)
    include = BoundedListField(child=serializers.CharField(max_length=80), max_length=2000, required=False)
    other_identifiers = serializers.DictField(
        child=serializers.CharField(max_length=4000, allow_blank=True),
        required=False,
        help_text="Per case id: names or numbers the system does not hold (relatives, other scripts), one a line.",
    )

    def validate_other_identifiers(self, value):
        try:
            return {int(key): text for key, text in value.items()}
        except (TypeError, ValueError):
            raise serializers.ValidationError("Keys are case ids.") from None


class TeachingTextSerializer(InputSerializer):
    field = serializers.CharField(max_length=80)
    included = serializers.BooleanField(default=True)
    text = serializers.CharField(
        required=False, allow_blank=True, max_length=20000, trim_whitespace=False,
        help_text="Your wording; without it an included field starts as the scrubber's suggestion.",
    )  # fmt: skip


class TeachingImageChoiceSerializer(InputSerializer):
    key_image = IdField()
    included = serializers.BooleanField(default=True)
    no_burned_in_identifiers = serializers.BooleanField(default=False)


# The resource --------------------------------------------------------------------------------------


class TeachingSetViewSet(ResourceViewSet):
    queryset = m.TeachingSet.objects.none()
    serializer_class = TeachingSetSerializer
    ordering_fields = ["created_at", "id"]

    def rows(self):
        return selectors.teaching_set_list(user=self.request.user).prefetch_related("cases")

    def _detail(self, request, pk, *, status_code=status.HTTP_200_OK, audit=True):
        teaching_set, rows = selectors.teaching_set_detail(user=request.user, pk=pk)
        if audit:
            services.teaching_set_view_record(teaching_set=teaching_set, by=request.user)
        context = {"request": request, "preview": preview(teaching_set, rows)}
        response = Response(TeachingSetDetailSerializer(teaching_set, context=context).data, status=status_code)
        return with_etag(response, teaching_set)

    def _set(self):
        return permissions.get_visible(permissions.teaching_sets_visible_to(self.request.user), self.kwargs["pk"])

    @extend_schema(responses={200: TeachingSetDetailSerializer})
    def retrieve(self, request, pk=None):
        """The preview: per case, every field's original, the scrubber's suggestion and the text that prints."""
        return self._detail(request, pk)

    @extend_schema(request=TeachingSetCreateSerializer, responses={201: TeachingSetDetailSerializer})
    @idempotent
    def create(self, request):
        """Prepare a draft from cases (of one board; of one meeting's agenda when `meeting` is given)."""
        fields = parse(TeachingSetCreateSerializer, request)
        teaching_set = services.teaching_set_create(by=request.user, **fields)
        return self._detail(request, teaching_set.pk, status_code=status.HTTP_201_CREATED, audit=False)

    @extend_schema(request=TeachingTextSerializer, responses={200: TeachingSetDetailSerializer},
                   parameters=[IF_MATCH_OPTIONAL])  # fmt: skip
    @action(detail=True, methods=["post"])
    def texts(self, request, pk=None):
        """Include a field (its text starts as the scrubber's suggestion), give your own text, or leave it out."""
        teaching_set = self._set()
        version = expected_version(request, teaching_set, required=False)
        fields = parse(TeachingTextSerializer, request)
        common = {"teaching_set": teaching_set, "by": request.user, "key": fields["field"], "expected_version": version}
        if not fields["included"]:
            services.teaching_text_exclude(**common)
        elif "text" in fields:
            services.teaching_text_edit(**common, text=fields["text"])
        else:
            services.teaching_text_include(**common)
        return self._detail(request, pk, audit=False)

    @extend_schema(request=TeachingImageChoiceSerializer, responses={200: TeachingSetDetailSerializer},
                   parameters=[IF_MATCH_OPTIONAL])  # fmt: skip
    @action(detail=True, methods=["post"])
    def images(self, request, pk=None):
        """Include a key image (only with `no_burned_in_identifiers: true`) or leave it out."""
        teaching_set = self._set()
        version = expected_version(request, teaching_set, required=False)
        fields = parse(TeachingImageChoiceSerializer, request)
        image = permissions.get_visible(
            permissions.key_images_visible_to(request.user).select_related("study"), fields["key_image"]
        )
        common = {"teaching_set": teaching_set, "by": request.user, "key_image": image, "expected_version": version}
        if fields["included"]:
            services.teaching_image_include(**common, no_burned_in_identifiers=fields["no_burned_in_identifiers"])
        else:
            services.teaching_image_exclude(**common)
        return self._detail(request, pk, audit=False)

    @extend_schema(
        request=None, responses={200: TeachingSetDetailSerializer, 428: ErrorSerializer}, parameters=[IF_MATCH_REQUIRED]
    )
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        """Approve the version you reviewed (If-Match); never a set you prepared. 409 `gates_unmet` names any
        text in which the scrubber still finds an identifier."""
        teaching_set = self._set()
        version = expected_version(request, teaching_set, required=True)
        services.teaching_set_approve(teaching_set=teaching_set, by=request.user, expected_version=version)
        return self._detail(request, pk, audit=False)

    @extend_schema(
        operation_id="v1_teaching_sets_pdf_retrieve", responses={**PDF_DOWNLOAD, 409: ErrorSerializer}, filters=False
    )
    @action(detail=True, url_path="pdf", **download)
    def pdf(self, request, pk=None):
        """The teaching copy of an approved set (409 `not_approved` before); every download is audited."""
        pdf = render_teaching_set(user=request.user, teaching_set_id=pk)
        services.teaching_set_print_record(
            teaching_set=pdf.subject, by=request.user, options={**pdf.options, "via": "api"}
        )
        return http_response(pdf)
