"""Wire formats. Output serializers only read; input serializers only parse and check shapes.

No business rule lives here: every write goes through a service, which decides what is allowed.
JSON names are snake_case, ids are integers, times are ISO 8601 with their offset.
"""

import copy
from collections.abc import Mapping
from datetime import UTC

from django.contrib.auth import get_user_model
from django.db import models
from django.urls import reverse
from rest_framework import serializers
from rest_framework.exceptions import NotFound

from .. import models as m
from .. import permissions, selectors
from ..models.dates import validate_plausible
from ..services import workflow
from ..services.cases import CASE_FIELDS, PATIENT_FIELDS
from ..services.common import NOT_A_MEMBER
from ..services.imaging import STUDY_FIELDS
from ..services.meetings import MEETING_FIELDS
from ..services.opinions import OPINION_FIELDS
from ..services.pathology import REPORT_FIELDS
from .coding_fields import LateralityField, morphology_field, topography_field

MAX_ID = 2**63 - 1


class DateTimeField(serializers.DateTimeField):
    """ISO 8601 in the server's time zone, always with a numeric offset (`+00:00`, never `Z`).

    Input must stay representable in UTC: year 1 at +14:00 or year 9999 at -14:00 is refused, not a crash.
    """

    def to_internal_value(self, value):
        parsed = super().to_internal_value(value)
        try:
            # Stored in UTC: PostgreSQL refuses offsets past ±15:59 that ISO 8601 text can carry.
            return parsed.astimezone(UTC)
        except OverflowError:
            raise serializers.ValidationError("The date and time are out of range.") from None

    def to_representation(self, value):
        if not value:
            return None
        return self.enforce_timezone(value).isoformat()


class ModelSerializer(serializers.ModelSerializer):
    """Fields read from the model once per class, not once per request.

    DRF introspects the model (field info, kwargs, uniqueness) for every serializer instance, nested ones
    included: about a fifth of a case detail's time. The fields depend only on the class, never on the
    request, so the first build is kept and each instance gets its own copies to bind. A plain field is
    copied shallowly (binding sets only its own attributes); a field with fields inside it (a nested
    serializer, a list, a many-relation) is copied deeply, as DRF copies declared fields, so that what it
    holds is bound to it alone.
    """

    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.DateTimeField: DateTimeField,
    }

    def get_fields(self):
        cls = type(self)
        built = cls.__dict__.get("_fields_built")  # the class's own, never a parent's
        if built is None:
            built = super().get_fields()
            cls._fields_built = built
        return {
            name: copy.deepcopy(field) if _holds_fields(field) else copy.copy(field) for name, field in built.items()
        }


def _holds_fields(field: serializers.Field) -> bool:
    return isinstance(field, serializers.BaseSerializer) or hasattr(field, "child") or hasattr(field, "child_relation")


class InputSerializer(serializers.Serializer):
    """Refuses fields it does not know, so a misspelt field is an error rather than silently dropped."""

    ignored = {"csrfmiddlewaretoken"}

    def to_internal_value(self, data):
        if isinstance(data, Mapping):
            unknown = sorted(str(name) for name in data if name not in self.fields and name not in self.ignored)
            if unknown:
                raise serializers.ValidationError({name: ["Unknown field."] for name in unknown})
        return super().to_internal_value(data)


class InputModelSerializer(InputSerializer, ModelSerializer):
    """Field constraints (lengths, choices, ranges) read from the model; never saved by DRF."""


class IdField(serializers.IntegerField):
    def __init__(self, **kwargs):
        super().__init__(min_value=1, max_value=MAX_ID, **kwargs)


class ObjectIdField(IdField):
    """An id in the body turned into an object: the id's range is checked before the lookup."""

    def to_internal_value(self, data):
        pk = super().to_internal_value(data)
        super().run_validators(pk)
        return self.lookup(pk)

    def run_validators(self, value):
        pass  # the bounds were checked on the id; `value` is the object now

    def lookup(self, pk: int):
        raise NotImplementedError

    def to_representation(self, value):
        return value.pk


class VisibleObjectField(ObjectIdField):
    """An id in the body, resolved among the objects the user can see: anything else is not found (404)."""

    def __init__(self, visible, noun: str, **kwargs):
        self.visible, self.noun = visible, noun
        super().__init__(**kwargs)

    def lookup(self, pk):
        queryset = self.visible(self.context["request"].user)
        try:
            return queryset.get(pk=pk)
        except queryset.model.DoesNotExist:
            raise NotFound(f"No {self.noun} {pk} that you can see.") from None


class UserField(ObjectIdField):
    """A user id. An id nobody has gets the answer a user of another board gets (the service's): no one
    learns from the message which user ids exist."""

    def lookup(self, pk):
        user = get_user_model().objects.filter(pk=pk, is_active=True).first()
        if user is None:
            name = self.field_name or getattr(self.parent, "field_name", "")
            raise serializers.ValidationError(NOT_A_MEMBER.get(name, NOT_A_MEMBER["presenter"]))
        return user


class BoundedListField(serializers.ListField):
    """A list whose length is checked before its items: each item may cost a query (a user id)."""

    def to_internal_value(self, data):
        if self.max_length is not None and isinstance(data, list) and len(data) > self.max_length:
            self.fail("max_length", max_length=self.max_length)
        return super().to_internal_value(data)


def blank_choice(choices):
    """A read-only choice that may be empty: the schema must list "" among its values."""
    return serializers.ChoiceField(choices=choices, allow_blank=True, read_only=True)


# Shared pieces ---------------------------------------------------------------------------


class UserSummarySerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    username = serializers.CharField(read_only=True)
    name = serializers.SerializerMethodField()

    def get_name(self, user) -> str:
        return user.get_full_name() or user.get_username()


class GateSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()
    code = serializers.CharField()
    unmet = GateSerializer(many=True, required=False)
    current_version = serializers.IntegerField(required=False)


# Boards and patients ---------------------------------------------------------------------


class BoardSerializer(ModelSerializer):
    required_specialties = serializers.ListField(child=serializers.CharField(), read_only=True)
    quorum_specialties = serializers.ListField(child=serializers.CharField(), read_only=True)

    class Meta:
        model = m.Board
        fields = ["id", "name", "tumour_site", "required_specialties", "quorum_specialties", "is_active"]
        read_only_fields = fields


class PatientSummarySerializer(ModelSerializer):
    class Meta:
        model = m.Patient
        fields = ["id", "mrn", "given_name", "family_name", "birth_date", "sex"]
        read_only_fields = fields


class PatientSerializer(ModelSerializer):
    class Meta:
        model = m.Patient
        fields = [
            "id",
            "mrn",
            "given_name",
            "family_name",
            "birth_date",
            "sex",
            "comorbidities",
            "registered_board",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class PatientCreateSerializer(InputModelSerializer):
    board = VisibleObjectField(permissions.boards_visible_to, "board")

    class Meta:
        model = m.Patient
        fields = ["board", *PATIENT_FIELDS]


# Cases -----------------------------------------------------------------------------------


class CaseListSerializer(ModelSerializer):
    patient = PatientSummarySerializer(read_only=True)
    board_name = serializers.CharField(source="board.name", read_only=True)
    has_amended_pathology = serializers.BooleanField(read_only=True)
    decision_under_review = serializers.BooleanField(
        read_only=True, help_text="The signed decision rests on pathology amended since: the board must review it."
    )
    has_stale_input = serializers.BooleanField(
        read_only=True, help_text="Some specialty input was given on pathology amended since."
    )

    class Meta:
        model = m.Case
        fields = [
            "id",
            "patient",
            "board",
            "board_name",
            "stage",
            "priority",
            "referring_clinician",
            "clinical_question",
            "performance_status",
            "has_amended_pathology",
            "decision_under_review",
            "has_stale_input",
            "withdrawn_at",
            "withdrawal_reason",
            "version",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class KeyImageSerializer(ModelSerializer):
    # Not the storage path: the access-checked URL that serves the image to members of the board.
    image = serializers.SerializerMethodField()

    class Meta:
        model = m.KeyImage
        fields = ["id", "image", "caption", "width", "height", "order"]
        read_only_fields = fields

    def get_image(self, obj) -> str:
        return reverse("key-image", args=[obj.pk])


class ImagingStudySerializer(ModelSerializer):
    radiologist = UserSummarySerializer(read_only=True)
    key_images = KeyImageSerializer(many=True, read_only=True)
    superseded_by = serializers.SerializerMethodField(help_text="The amendment that replaced this study, if any.")
    is_current = serializers.SerializerMethodField()

    class Meta:
        model = m.ImagingStudy
        fields = [
            "id",
            "case",
            "modality",
            "body_site",
            "performed_on",
            "accession_number",
            "findings",
            "impression",
            "radiologist",
            "key_images",
            "supersedes",
            "superseded_by",
            "is_current",
            "amendment_reason",
            "created_at",
        ]
        read_only_fields = fields

    # Lists and the case detail select_related the reverse one-to-one: no query per study.
    def get_superseded_by(self, study) -> int | None:
        successor = getattr(study, "superseded_by", None)
        return successor.pk if successor else None

    def get_is_current(self, study) -> bool:
        return getattr(study, "superseded_by", None) is None


class PathologyReportSerializer(ModelSerializer):
    pathologist = UserSummarySerializer(read_only=True)
    discrepancy = blank_choice(m.Discrepancy.choices)
    superseded_by = serializers.SerializerMethodField()
    is_current = serializers.SerializerMethodField()
    topography = topography_field(read_only=True)
    morphology = morphology_field(read_only=True)
    laterality = LateralityField(read_only=True)

    class Meta:
        model = m.PathologyReport
        fields = [
            "id",
            "case",
            "specimen",
            "procedure",
            "collected_on",
            "diagnosis",
            "topography",
            "morphology",
            "laterality",
            "icdo3_code",
            "icdo3_needs_review",
            "status",
            "supersedes",
            "superseded_by",
            "is_current",
            "amendment_reason",
            "discrepancy",
            "pathologist",
            "signed_out_at",
            "version",
            "created_at",
        ]
        read_only_fields = fields

    def _successor(self, report):
        # selectors.pathology_chain sets `replaced_by`; lists select_related the reverse one-to-one.
        if hasattr(report, "replaced_by"):
            return report.replaced_by
        return getattr(report, "superseded_by", None)

    def get_superseded_by(self, report) -> int | None:
        successor = self._successor(report)
        return successor.pk if successor else None

    def get_is_current(self, report) -> bool:
        return self._successor(report) is None


class OpinionSerializer(ModelSerializer):
    author = UserSummarySerializer(read_only=True)
    basis = serializers.ListField(
        child=serializers.IntegerField(), read_only=True, help_text="Ids of the pathology reports it was given on."
    )
    is_stale = serializers.BooleanField(
        read_only=True, help_text="Given on pathology amended since: does not count until re-confirmed or revised."
    )

    class Meta:
        model = m.Opinion
        fields = [
            "id",
            "case",
            "specialty",
            "author",
            "assessment",
            "recommendation",
            "basis",
            "is_stale",
            "stale_since",
            "confirmed_at",
            "version",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class PlanItemSerializer(InputSerializer):
    category = serializers.ChoiceField(choices=m.PlanCategory.choices)
    detail = serializers.CharField(allow_blank=True, required=False, default="", max_length=2000)


class AttendanceSnapshotSerializer(serializers.Serializer):
    user = serializers.IntegerField(read_only=True)
    name = serializers.CharField(read_only=True)
    specialty = serializers.CharField(read_only=True, help_text="A specialty code, or empty for a coordinator.")


class DecisionSerializer(ModelSerializer):
    plan = PlanItemSerializer(many=True, read_only=True)
    attendance_snapshot = AttendanceSnapshotSerializer(
        many=True, read_only=True, help_text="Who was present, and for which specialty, when it was signed."
    )
    basis = serializers.ListField(child=serializers.IntegerField(), read_only=True)
    needs_review = serializers.BooleanField(
        read_only=True, help_text="Signed on pathology amended since: the board must review it."
    )
    guideline_concordance = blank_choice(m.Concordance.choices)
    treatment_intent = blank_choice(m.TreatmentIntent.choices)
    participants = serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    recorded_by = UserSummarySerializer(read_only=True)
    signed_by = UserSummarySerializer(read_only=True, allow_null=True)

    class Meta:
        model = m.Decision
        fields = [
            "id",
            "case",
            "meeting",
            "consensus_diagnosis",
            "plan",
            "rationale",
            "dissent",
            "guideline_concordance",
            "concordance_reason",
            "trial_considered",
            "trial_eligible",
            "trial_enrolled",
            "treatment_intent",
            "participants",
            "attendance_snapshot",
            "pathology_report",
            "basis",
            "stale_since",
            "needs_review",
            "status",
            "recorded_by",
            "signed_by",
            "signed_at",
            "supersedes",
            "supersede_reason",
            "superseded_at",
            "version",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class FollowUpSerializer(ModelSerializer):
    owner = UserSummarySerializer(read_only=True, allow_null=True)
    category = blank_choice(m.PlanCategory.choices)
    deviation_code = blank_choice(m.DeviationCode.choices)

    class Meta:
        model = m.FollowUp
        fields = [
            "id",
            "case",
            "decision",
            "template",
            "kind",
            "category",
            "description",
            "owner",
            "due_on",
            "status",
            "deviation_code",
            "deviation_reason",
            "completed_at",
            "version",
            "created_at",
        ]
        read_only_fields = fields


class CaseEventSerializer(ModelSerializer):
    actor = UserSummarySerializer(read_only=True, allow_null=True)
    from_stage = blank_choice(m.Stage.choices)
    to_stage = blank_choice(m.Stage.choices)

    class Meta:
        model = m.CaseEvent
        fields = ["id", "kind", "summary", "note", "from_stage", "to_stage", "actor", "created_at"]
        read_only_fields = fields


class CaseAgendaSerializer(ModelSerializer):
    starts_at = DateTimeField(source="meeting.starts_at", read_only=True)

    class Meta:
        model = m.AgendaItem
        fields = ["id", "meeting", "starts_at", "position", "outcome", "deferral_reason"]
        read_only_fields = fields


class MoveSerializer(serializers.Serializer):
    to = serializers.ChoiceField(choices=m.Stage.choices, read_only=True)
    is_back = serializers.BooleanField(read_only=True)
    unmet = GateSerializer(many=True, read_only=True)


class FieldChangeSerializer(serializers.Serializer):
    field = serializers.CharField(read_only=True)
    label = serializers.CharField(read_only=True)
    before = serializers.CharField(read_only=True)
    after = serializers.CharField(read_only=True)


class AmendmentStepSerializer(serializers.Serializer):
    report = serializers.IntegerField(source="report.pk", read_only=True)
    replaces = serializers.IntegerField(source="replaces.pk", read_only=True)
    discrepancy = serializers.CharField(source="report.discrepancy", read_only=True)
    reason = serializers.CharField(source="report.amendment_reason", read_only=True)
    signed_out_at = DateTimeField(source="report.signed_out_at", read_only=True)
    pathologist = UserSummarySerializer(source="report.pathologist", read_only=True)
    fields = FieldChangeSerializer(many=True, read_only=True)


class PathologyChainSerializer(serializers.Serializer):
    """One amended chain: what changed from the original report to the current one, and at each amendment."""

    original = serializers.IntegerField(source="original.pk", read_only=True)
    current = serializers.IntegerField(source="current.pk", read_only=True)
    reports = serializers.SerializerMethodField()
    overall = FieldChangeSerializer(many=True, read_only=True)
    steps = AmendmentStepSerializer(many=True, read_only=True)

    def get_reports(self, chain) -> list[int]:
        return [report.pk for report in chain["reports"]]


class CaseDetailSerializer(CaseListSerializer):
    """Everything the case page shows; built from selectors.case_detail, so the query count is fixed."""

    created_by = UserSummarySerializer(read_only=True)
    referring_email = serializers.CharField(read_only=True, help_text="An e-mail address, or empty.")
    has_amended_pathology = serializers.SerializerMethodField()
    decision_under_review = serializers.SerializerMethodField()
    has_stale_input = serializers.SerializerMethodField()
    pathology_changes = serializers.SerializerMethodField()
    is_referral_complete = serializers.BooleanField(read_only=True)
    missing_referral_fields = serializers.ListField(child=serializers.CharField(), read_only=True)
    imaging_studies = ImagingStudySerializer(many=True, read_only=True)
    pathology_reports = serializers.SerializerMethodField()
    opinions = OpinionSerializer(many=True, read_only=True)
    decisions = DecisionSerializer(many=True, read_only=True)
    follow_ups = FollowUpSerializer(many=True, read_only=True)
    agenda_items = CaseAgendaSerializer(many=True, read_only=True)
    next_moves = serializers.SerializerMethodField()

    class Meta(CaseListSerializer.Meta):
        fields = [
            *CaseListSerializer.Meta.fields,
            "referring_email",
            "history",
            "key_labs",
            "no_pathology_reason",
            "created_by",
            "is_referral_complete",
            "missing_referral_fields",
            "imaging_studies",
            "pathology_reports",
            "pathology_changes",
            "opinions",
            "decisions",
            "follow_ups",
            "agenda_items",
            "next_moves",
        ]
        read_only_fields = fields

    def get_has_amended_pathology(self, case) -> bool:
        return any(report.status == m.ReportStatus.AMENDED for report in case.pathology_reports.all())

    def get_decision_under_review(self, case) -> bool:
        return any(decision.needs_review for decision in case.decisions.all())

    def get_has_stale_input(self, case) -> bool:
        return any(opinion.is_stale for opinion in case.opinions.all())

    def get_pathology_changes(self, case) -> PathologyChainSerializer(many=True):
        return PathologyChainSerializer(selectors.pathology_changes(case), many=True).data

    def get_pathology_reports(self, case) -> PathologyReportSerializer(many=True):
        return PathologyReportSerializer(selectors.pathology_chain(case), many=True, context=self.context).data

    def get_next_moves(self, case) -> MoveSerializer(many=True):
        return MoveSerializer(workflow.next_moves(case), many=True).data


class CaseCreateSerializer(InputModelSerializer):
    patient = VisibleObjectField(permissions.patients_visible_to, "patient")
    board = VisibleObjectField(permissions.boards_visible_to, "board")

    class Meta:
        model = m.Case
        fields = ["patient", "board", *CASE_FIELDS]


class CaseUpdateSerializer(InputModelSerializer):
    class Meta:
        model = m.Case
        fields = CASE_FIELDS


class TransitionSerializer(InputSerializer):
    to = serializers.ChoiceField(choices=m.Stage.choices)
    note = serializers.CharField(allow_blank=True, required=False, default="", max_length=5000)


class SummaryPdfQuerySerializer(serializers.Serializer):
    """The query of `GET /cases/{id}/summary.pdf`; other query parameters are ignored, as on every GET."""

    pdfa = serializers.BooleanField(required=False, default=False, help_text="PDF/A-3b, for archiving.")


class PacketPdfQuerySerializer(SummaryPdfQuerySerializer):
    """`deidentify` is gone (410): teaching copies are teaching sets (`/api/v1/teaching-sets/`)."""


# Imaging and pathology -------------------------------------------------------------------


class ImagingStudyCreateSerializer(InputModelSerializer):
    case = VisibleObjectField(permissions.cases_visible_to, "case")

    class Meta:
        model = m.ImagingStudy
        fields = ["case", *STUDY_FIELDS]


class KeyImageCreateSerializer(InputSerializer):
    image = serializers.FileField(allow_empty_file=False, max_length=200)
    caption = serializers.CharField(max_length=300)


class PathologyCodesMixin(serializers.Serializer):
    """ICD-O-3 topography and morphology and the laterality (in REPORT_FIELDS), each as {system, code}."""

    topography = topography_field()
    morphology = morphology_field()
    laterality = LateralityField()


class PathologyReportCreateSerializer(PathologyCodesMixin, InputModelSerializer):
    case = VisibleObjectField(permissions.cases_visible_to, "case")
    status = serializers.ChoiceField(
        choices=[m.ReportStatus.PRELIMINARY, m.ReportStatus.FINAL], default=m.ReportStatus.PRELIMINARY
    )

    class Meta:
        model = m.PathologyReport
        fields = ["case", *REPORT_FIELDS, "status"]


class PathologyReportUpdateSerializer(PathologyCodesMixin, InputModelSerializer):
    class Meta:
        model = m.PathologyReport
        fields = REPORT_FIELDS


# What an amendment may restate; what it leaves out is taken from the report it supersedes.
AMEND_KEPT_FIELDS = [name for name in REPORT_FIELDS if name != "diagnosis"]


class PathologyAmendSerializer(PathologyCodesMixin, InputModelSerializer):
    amendment_reason = serializers.CharField(max_length=5000)
    discrepancy = serializers.ChoiceField(choices=m.Discrepancy.choices)

    class Meta:
        model = m.PathologyReport
        fields = ["diagnosis", "amendment_reason", "discrepancy", *AMEND_KEPT_FIELDS]
        extra_kwargs = {name: {"required": False} for name in AMEND_KEPT_FIELDS}


# Opinions --------------------------------------------------------------------------------


class OpinionCreateSerializer(InputModelSerializer):
    case = VisibleObjectField(permissions.cases_visible_to, "case")

    class Meta:
        model = m.Opinion
        fields = ["case", *OPINION_FIELDS]


class OpinionUpdateSerializer(InputModelSerializer):
    class Meta:
        model = m.Opinion
        fields = OPINION_FIELDS


# Meetings --------------------------------------------------------------------------------


class MeetingSerializer(ModelSerializer):
    board_name = serializers.CharField(source="board.name", read_only=True)
    video_link = serializers.CharField(read_only=True, help_text="A URL, or empty when the meeting has a place.")
    agenda_count = serializers.IntegerField(read_only=True)
    is_published = serializers.BooleanField(read_only=True)

    class Meta:
        model = m.Meeting
        fields = [
            "id",
            "board",
            "board_name",
            "starts_at",
            "location",
            "video_link",
            "status",
            "cancel_reason",
            "agenda_published_at",
            "is_published",
            "agenda_count",
            "created_at",
        ]
        read_only_fields = fields


class AgendaCaseSerializer(ModelSerializer):
    patient = PatientSummarySerializer(read_only=True)

    class Meta:
        model = m.Case
        fields = ["id", "patient", "stage", "priority", "clinical_question"]
        read_only_fields = fields


class AgendaItemSerializer(ModelSerializer):
    case = AgendaCaseSerializer(read_only=True)
    presenter = UserSummarySerializer(read_only=True, allow_null=True)

    class Meta:
        model = m.AgendaItem
        fields = [
            "id",
            "position",
            "case",
            "presenter",
            "minutes",
            "outcome",
            "deferral_reason",
            "actual_minutes",
            "is_late",
            "rolled_from",
        ]
        read_only_fields = fields


class AttendanceSerializer(ModelSerializer):
    user = UserSummarySerializer(read_only=True)
    specialty = blank_choice(m.Specialty.choices)

    class Meta:
        model = m.Attendance
        fields = ["id", "user", "specialty", "present", "recorded_at", "correction_reason", "corrected_at"]
        read_only_fields = fields


class QuorumSerializer(serializers.Serializer):
    recorded = serializers.BooleanField(read_only=True)
    present = serializers.ListField(child=serializers.CharField(), read_only=True)
    missing = serializers.ListField(child=serializers.CharField(), read_only=True)
    is_met = serializers.BooleanField(read_only=True)


class MeetingDetailSerializer(MeetingSerializer):
    agenda_items = AgendaItemSerializer(many=True, read_only=True)
    attendance = AttendanceSerializer(many=True, read_only=True)
    quorum = serializers.SerializerMethodField()
    agenda_count = serializers.SerializerMethodField()

    class Meta(MeetingSerializer.Meta):
        fields = [*MeetingSerializer.Meta.fields, "agenda_items", "attendance", "quorum"]
        read_only_fields = fields

    def get_agenda_count(self, meeting) -> int:
        return len(meeting.agenda_items.all())

    def get_quorum(self, meeting) -> QuorumSerializer:
        return QuorumSerializer(meeting.quorum()).data


class MeetingCreateSerializer(InputModelSerializer):
    board = VisibleObjectField(permissions.boards_visible_to, "board")

    class Meta:
        model = m.Meeting
        fields = ["board", *MEETING_FIELDS]


class MeetingRescheduleSerializer(InputModelSerializer):
    """What is left out stays as it is."""

    class Meta:
        model = m.Meeting
        fields = MEETING_FIELDS
        extra_kwargs = {name: {"required": False} for name in MEETING_FIELDS}


class AgendaAddSerializer(InputSerializer):
    case = VisibleObjectField(permissions.cases_visible_to, "case")
    presenter = UserField(required=False, allow_null=True, default=None)
    minutes = serializers.IntegerField(min_value=1, max_value=240, default=10)


class AgendaItemChangeSerializer(InputSerializer):
    item = IdField()
    presenter = UserField(required=False, allow_null=True)
    minutes = serializers.IntegerField(min_value=1, max_value=240, required=False)


class AgendaItemRemoveSerializer(InputSerializer):
    item = IdField()


class AgendaReorderSerializer(InputSerializer):
    items = BoundedListField(child=IdField(), max_length=500, allow_empty=False)


class AgendaOutcomeSerializer(InputSerializer):
    item = IdField()
    outcome = serializers.ChoiceField(choices=[m.Outcome.DISCUSSED, m.Outcome.DEFERRED])
    reason = serializers.CharField(allow_blank=True, required=False, default="", max_length=5000)
    actual_minutes = serializers.IntegerField(min_value=1, max_value=240, required=False, allow_null=True, default=None)


class MeetingStatusSerializer(InputSerializer):
    status = serializers.ChoiceField(choices=m.MeetingStatus.choices)
    reason = serializers.CharField(
        allow_blank=True, required=False, default="", max_length=5000, help_text="Why, when cancelling."
    )
    agenda = serializers.ChoiceField(
        choices=["release", "roll"],
        default="release",
        help_text="When cancelling: the pending cases await a meeting (release) or roll to the next one (roll).",
    )


class AttendanceRecordSerializer(InputSerializer):
    user = UserField()
    present = serializers.BooleanField(default=True)
    specialty = serializers.ChoiceField(
        choices=m.Specialty.choices,
        required=False,
        allow_null=True,
        default=None,
        help_text="Optional; only the specialty the member holds on this board is accepted.",
    )


class AttendanceCorrectSerializer(InputSerializer):
    user = UserField()
    present = serializers.BooleanField()
    reason = serializers.CharField(max_length=5000)


class DecisionSignSerializer(InputSerializer):
    suspended_follow_ups = serializers.ChoiceField(
        choices=["close", "carry"],
        required=False,
        default="",
        help_text="When the decision under review has suspended follow-up: close it as superseded, or carry it over.",
    )


# Decisions and follow-up -----------------------------------------------------------------


class DecisionFieldsSerializer(InputSerializer):
    meeting = VisibleObjectField(permissions.meetings_visible_to, "meeting", required=False, allow_null=True)
    participants = BoundedListField(child=UserField(), max_length=100, required=False)
    consensus_diagnosis = serializers.CharField(max_length=10000)
    plan = PlanItemSerializer(many=True, allow_empty=False, max_length=50)
    rationale = serializers.CharField(allow_blank=True, required=False, max_length=10000)
    dissent = serializers.CharField(allow_blank=True, required=False, max_length=10000)
    guideline_concordance = serializers.ChoiceField(
        choices=[("", "Not recorded"), *m.Concordance.choices], required=False, allow_blank=True
    )
    concordance_reason = serializers.CharField(allow_blank=True, required=False, max_length=10000)
    trial_considered = serializers.BooleanField(required=False, allow_null=True)
    trial_eligible = serializers.BooleanField(required=False, allow_null=True)
    trial_enrolled = serializers.BooleanField(required=False, allow_null=True)
    treatment_intent = serializers.ChoiceField(
        choices=[("", "Not recorded"), *m.TreatmentIntent.choices], required=False, allow_blank=True
    )


class DecisionCreateSerializer(DecisionFieldsSerializer):
    case = VisibleObjectField(permissions.cases_visible_to, "case")


class DecisionCorrectSerializer(DecisionFieldsSerializer):
    reason = serializers.CharField(max_length=5000)


class FollowUpDeviateSerializer(InputSerializer):
    code = serializers.ChoiceField(choices=m.DeviationCode.choices, default=m.DeviationCode.OTHER)
    reason = serializers.CharField(max_length=5000, required=False, allow_blank=True, default="")


class FollowUpUpdateSerializer(InputSerializer):
    owner = UserField(required=False, allow_null=True)
    due_on = serializers.DateField(required=False)


class ApplyTemplateSerializer(InputSerializer):
    case = VisibleObjectField(permissions.cases_visible_to, "case")
    template = serializers.SlugRelatedField(slug_field="code", queryset=m.FollowUpTemplate.objects.all())
    # Schedules run up to 50 years: a start far in the future would run the visit dates off the calendar.
    start_on = serializers.DateField(validators=[validate_plausible])
    owner = UserField(required=False, allow_null=True, default=None)


# Board analytics (issue 17): read-only, documents GET boards/{id}/metrics/ -----------------------


class MetricFigureSerializer(serializers.Serializer):
    key = serializers.CharField(read_only=True)
    label = serializers.CharField(read_only=True)
    unit = serializers.ChoiceField(choices=["share", "days", "minutes", "count", "per meeting"], read_only=True)
    numerator = serializers.FloatField(read_only=True, allow_null=True, help_text="Null for a median or percentile.")
    denominator = serializers.IntegerField(read_only=True, allow_null=True, help_text="Null for a plain count.")
    value = serializers.FloatField(read_only=True, allow_null=True, help_text="Null when there is nothing to count.")


class MetricTableSerializer(serializers.Serializer):
    key = serializers.CharField(read_only=True)
    title = serializers.CharField(read_only=True)
    definition = serializers.CharField(read_only=True)
    figures = MetricFigureSerializer(many=True, read_only=True)


class MetricBoardSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(read_only=True)


class BoardMetricsSerializer(serializers.Serializer):
    board = MetricBoardSerializer(read_only=True)
    period_from = serializers.DateField(read_only=True)
    to = serializers.DateField(read_only=True)
    as_of = serializers.DateField(read_only=True)
    tables = MetricTableSerializer(many=True, read_only=True)

    def get_fields(self):
        fields = super().get_fields()
        fields["from"] = fields.pop("period_from")  # "from" is a Python keyword
        return fields


class JobSerializer(serializers.ModelSerializer):
    """A background job: `status` queued → running → done (or failed); `download` once done."""

    progress = serializers.SerializerMethodField()
    detail = serializers.SerializerMethodField()
    download = serializers.SerializerMethodField()

    class Meta:
        model = m.Job
        fields = ["id", "kind", "status", "attempts", "progress", "detail", "download", "created_at", "finished_at"]

    def get_progress(self, job) -> dict:
        return {"done": job.progress_done, "total": job.progress_total}

    def get_detail(self, job) -> str:
        if job.status == m.JobStatus.QUEUED and job.attempts == 0:
            return "No worker has picked the job up yet."
        if job.status == m.JobStatus.QUEUED:
            return f"Attempt {job.attempts} failed; it is tried again shortly."
        if job.status == m.JobStatus.RUNNING:
            return f"Rendering: {job.progress_done} of {job.progress_total or '?'} cases."
        if job.status == m.JobStatus.FAILED:
            return "The job failed; the error is recorded for the administrators, who can retry it."
        return "Done."

    def get_download(self, job) -> str | None:
        if job.status != m.JobStatus.DONE or job.kind != "packet.render":
            return None
        flags = "&".join(f"{name}=1" for name in ("pdfa",) if job.args.get(name))
        path = reverse("api:meeting-packet-pdf", args=[job.args["meeting_id"]])
        return path + (f"?{flags}" if flags else "")
