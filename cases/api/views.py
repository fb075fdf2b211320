"""The REST API: thin viewsets. Reads go through selectors and the permission helper; every write
and every action calls one service, which decides what is allowed (cases/services/)."""

from django.conf import settings
from django.db.models import QuerySet
from django.http import HttpResponse
from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from .. import models as m
from .. import permissions, selectors
from ..analytics import metrics as analytics
from ..calendars import ics
from ..printing.documents import http_response, packet_from_cache, render_case_summary, render_meeting_packet
from ..services import cases as case_services
from ..services import decisions as decision_services
from ..services import followups as follow_up_services
from ..services import imaging as imaging_services
from ..services import jobs as job_services
from ..services import meetings as meeting_services
from ..services import opinions as opinion_services
from ..services import pathology as pathology_services
from ..services import workflow
from ..services.analytics import analytics_read_record
from ..services.audit import audit_list, audit_record
from ..services.errors import Conflict
from ..services.printing import case_print_record, meeting_print_record
from . import filters
from . import serializers as s
from .etags import expected_version, with_etag
from .idempotency import idempotent
from .schema import (
    ICS_DOWNLOAD,
    IF_MATCH_OPTIONAL,
    METRICS_PERIOD,
    PACKET_DOWNLOAD,
    PACKET_JOB_HEADERS,
    PDF_DOWNLOAD,
    PRINT_REFUSED,
)

DEIDENTIFIED_GONE = (
    "The de-identified packet is gone: it was not anonymous. Prepare a teaching set (POST /api/v1/teaching-sets/); "
    "a reviewer approves it, then GET /api/v1/teaching-sets/{id}/pdf prints it."
)


def parse(serializer_class, request, **kwargs) -> dict:
    serializer = serializer_class(data=request.data, context={"request": request}, **kwargs)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def parse_query(serializer_class, request) -> dict:
    serializer = serializer_class(data=request.query_params, context={"request": request})
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


class PdfOrJsonNegotiation(DefaultContentNegotiation):
    """The PDF downloads answer a PDF, or a JSON refusal, whatever the Accept header asks for
    (`Accept: application/pdf` is not refused with 406)."""

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


# A download: GET only, no filters or pagination, PDF or JSON.
download = {"methods": ["get"], "filter_backends": [], "content_negotiation_class": PdfOrJsonNegotiation}


def job_accepted(request, job) -> Response:
    """202: the work is queued or running; poll `Location` (GET jobs/{id}/) until it says done."""
    response = Response(s.JobSerializer(job, context={"request": request}).data, status=status.HTTP_202_ACCEPTED)
    response["Location"] = reverse("api:job-detail", args=[job.pk])
    response["Retry-After"] = "2"
    return response


def show(request, obj, serializer_class, *, status_code=status.HTTP_200_OK) -> Response:
    """Serialize one object; a versioned one carries its ETag."""
    response = Response(serializer_class(obj, context={"request": request}).data, status=status_code)
    return with_etag(response, obj) if hasattr(obj, "version") else response


class ResourceViewSet(viewsets.GenericViewSet):
    """List (filtered, ordered, paginated) and detail of the rows the user can see.

    Subclasses give `rows()` (a selector) and may give `detail_rows()`; a detail read of patient data
    writes an audit event (`audit_view`).
    """

    lookup_value_regex = r"[0-9]{1,18}"
    http_method_names = ["get", "post", "patch", "head", "options"]
    detail_serializer_class = None
    audit_view = ""
    ordering_fields = ["id"]

    def rows(self) -> QuerySet:
        raise NotImplementedError

    def detail_rows(self) -> QuerySet:
        return self.rows()

    def get_queryset(self):
        return self.rows()

    def get_serializer_class(self):
        if self.action == "retrieve" and self.detail_serializer_class:
            return self.detail_serializer_class
        return self.serializer_class

    def get_object(self):
        return permissions.get_visible(self.detail_rows(), self.kwargs["pk"])

    def list(self, request):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        response = self.get_paginated_response(self.get_serializer(page, many=True).data)
        model = self.queryset.model._meta.model_name  # the class's own; get_queryset() would build the query again
        # A list or search of patient data (not of boards): the query and every id it returned.
        if model != "board":
            audit_list(
                actor=request.user, action=f"{model}.list", query=request.query_params, rows=page, object_type=model
            )
        return response

    def retrieve(self, request, pk=None):
        obj = self.get_object()
        if self.audit_view:
            audit_record(actor=request.user, action=self.audit_view, obj=obj)
        return show(request, obj, self.get_serializer_class())


# Boards and patients ---------------------------------------------------------------------


class BoardViewSet(ResourceViewSet):
    queryset = m.Board.objects.none()
    serializer_class = s.BoardSerializer
    ordering_fields = ["name", "id"]

    def rows(self):
        return permissions.boards_visible_to(self.request.user)

    @extend_schema(parameters=METRICS_PERIOD, responses={200: s.BoardMetricsSerializer})
    @action(detail=True, methods=["get"], filter_backends=[], pagination_class=None)
    def metrics(self, request, pk=None):
        """The board's quality figures over a period, each with its numerator and denominator (docs/analytics.md).

        For the board's coordinators and chairs, and auditors; anyone else gets 404.
        """
        try:
            period = analytics.parse_period(request.query_params.get("from"), request.query_params.get("to"))
        except analytics.PeriodError as error:
            raise ValidationError({error.field: [error.message]}) from None
        report = analytics.board_report_for_user(user=request.user, board_id=pk, period=period)
        analytics_read_record(by=request.user, board=report.board, period=period, view="api")
        return Response(report.as_json())


class PatientViewSet(ResourceViewSet):
    queryset = m.Patient.objects.none()
    serializer_class = s.PatientSerializer
    filterset_class = filters.PatientFilter
    ordering_fields = ["family_name", "given_name", "birth_date", "created_at", "id"]
    audit_view = "patient.view"

    def rows(self):
        return selectors.patient_list(user=self.request.user)

    @extend_schema(request=s.PatientCreateSerializer, responses={201: s.PatientSerializer})
    @idempotent
    def create(self, request):
        fields = parse(s.PatientCreateSerializer, request)
        patient = case_services.patient_create(by=request.user, **fields)
        return show(request, patient, s.PatientSerializer, status_code=status.HTTP_201_CREATED)


# Cases -----------------------------------------------------------------------------------


class CaseViewSet(ResourceViewSet):
    queryset = m.Case.objects.none()
    serializer_class = s.CaseListSerializer
    detail_serializer_class = s.CaseDetailSerializer
    filterset_class = filters.CaseFilter
    ordering_fields = ["updated_at", "created_at", "priority", "stage", "id"]
    audit_view = "case.view"

    def rows(self):
        return selectors.case_list(user=self.request.user, withdrawn=None)

    def get_object(self):
        return selectors.case_detail(user=self.request.user, pk=self.kwargs["pk"])

    def _case(self):
        return permissions.get_case_for_user(self.request.user, self.kwargs["pk"])

    def _show_detail(self, request, case, status_code=status.HTTP_200_OK):
        case = selectors.case_detail(user=request.user, pk=case.pk)
        return show(request, case, s.CaseDetailSerializer, status_code=status_code)

    @extend_schema(request=s.CaseCreateSerializer, responses={201: s.CaseDetailSerializer})
    @idempotent
    def create(self, request):
        fields = parse(s.CaseCreateSerializer, request)
        case = case_services.case_create(by=request.user, **fields)
        return self._show_detail(request, case, status.HTTP_201_CREATED)

    @extend_schema(request=s.CaseUpdateSerializer, responses={200: s.CaseDetailSerializer})
    def partial_update(self, request, pk=None):
        case = self._case()
        version = expected_version(request, case, required=True)
        fields = parse(s.CaseUpdateSerializer, request, partial=True)
        case = case_services.case_update(case=case, by=request.user, expected_version=version, **fields)
        return self._show_detail(request, case)

    @extend_schema(
        request=s.TransitionSerializer, responses={200: s.CaseDetailSerializer}, parameters=[IF_MATCH_OPTIONAL]
    )
    @action(detail=True, methods=["post"])
    def transition(self, request, pk=None):
        """Move the case to another stage; a refusal (409 `gates_unmet`) names every unmet gate."""
        case = self._case()
        version = expected_version(request, case, required=False)
        move = parse(s.TransitionSerializer, request)
        case = workflow.case_transition(case=case, by=request.user, expected_version=version, **move)
        return self._show_detail(request, case)

    @extend_schema(responses={200: s.CaseEventSerializer(many=True)}, filters=False)
    @action(detail=True, methods=["get"], filter_backends=[])
    def timeline(self, request, pk=None):
        case = self._case()
        page = self.paginate_queryset(selectors.case_timeline(case))
        # Recorded once the page is there: a refused page number read nothing.
        audit_record(actor=request.user, action="case.timeline_view", obj=case)
        return self.get_paginated_response(s.CaseEventSerializer(page, many=True).data)

    @extend_schema(
        operation_id="v1_cases_summary_pdf_retrieve",
        parameters=[s.SummaryPdfQuerySerializer],
        responses={**PDF_DOWNLOAD, **PRINT_REFUSED},
        filters=False,
    )
    @action(detail=True, url_path=r"summary\.pdf", **download)
    def summary_pdf(self, request, pk=None):
        """The case summary as a PDF (`?pdfa=1` for PDF/A-3b); every download is audited (`case.print`)."""
        options = parse_query(s.SummaryPdfQuerySerializer, request)
        pdf = render_case_summary(user=request.user, case_id=pk, **options)
        case_print_record(case=pdf.subject, by=request.user, options={**pdf.options, "via": "api"})
        return http_response(pdf)


# Imaging and pathology -------------------------------------------------------------------


class ImagingStudyViewSet(ResourceViewSet):
    queryset = m.ImagingStudy.objects.none()
    serializer_class = s.ImagingStudySerializer
    filterset_class = filters.ImagingStudyFilter
    ordering_fields = ["performed_on", "created_at", "id"]
    audit_view = "imaging.view"

    def rows(self):
        return selectors.imaging_study_list(user=self.request.user)

    def detail_rows(self):
        return self.rows().select_related("case")

    @extend_schema(request=s.ImagingStudyCreateSerializer, responses={201: s.ImagingStudySerializer})
    @idempotent
    def create(self, request):
        fields = parse(s.ImagingStudyCreateSerializer, request)
        study = imaging_services.imaging_study_add(by=request.user, **fields)
        return show(request, study, s.ImagingStudySerializer, status_code=status.HTTP_201_CREATED)

    @extend_schema(request={"multipart/form-data": s.KeyImageCreateSerializer}, responses={201: s.KeyImageSerializer})
    @action(detail=True, methods=["post"], url_path="key-images", parser_classes=[MultiPartParser, FormParser])
    @idempotent
    def key_images(self, request, pk=None):
        """Attach a key image (PNG, JPEG, GIF or WebP; size-limited and verified with Pillow)."""
        study = self.get_object()
        fields = parse(s.KeyImageCreateSerializer, request)
        key_image = imaging_services.key_image_add(
            study=study, by=request.user, upload=fields["image"], caption=fields["caption"]
        )
        return show(request, key_image, s.KeyImageSerializer, status_code=status.HTTP_201_CREATED)


class PathologyReportViewSet(ResourceViewSet):
    queryset = m.PathologyReport.objects.none()
    serializer_class = s.PathologyReportSerializer
    filterset_class = filters.PathologyReportFilter
    ordering_fields = ["collected_on", "created_at", "id"]
    audit_view = "pathology.view"

    def rows(self):
        return selectors.pathology_report_list(user=self.request.user)

    def detail_rows(self):
        return self.rows().select_related("case")

    @extend_schema(request=s.PathologyReportCreateSerializer, responses={201: s.PathologyReportSerializer})
    @idempotent
    def create(self, request):
        fields = parse(s.PathologyReportCreateSerializer, request)
        report = pathology_services.pathology_report_add(by=request.user, **fields)
        return show(request, report, s.PathologyReportSerializer, status_code=status.HTTP_201_CREATED)

    @extend_schema(request=s.PathologyReportUpdateSerializer, responses={200: s.PathologyReportSerializer})
    def partial_update(self, request, pk=None):
        """Edit a preliminary report; a signed-out report changes only by amendment."""
        report = self.get_object()
        version = expected_version(request, report, required=True)
        fields = parse(s.PathologyReportUpdateSerializer, request, partial=True)
        report = pathology_services.pathology_report_update(
            report=report, by=request.user, expected_version=version, **fields
        )
        return show(request, report, s.PathologyReportSerializer)

    @extend_schema(request=None, responses={200: s.PathologyReportSerializer}, parameters=[IF_MATCH_OPTIONAL])
    @action(detail=True, methods=["post"], url_path="sign-out")
    def sign_out(self, request, pk=None):
        report = self.get_object()
        version = expected_version(request, report, required=False)
        report = pathology_services.pathology_report_sign_out(report=report, by=request.user, expected_version=version)
        return show(request, report, s.PathologyReportSerializer)

    @extend_schema(
        request=s.PathologyAmendSerializer, responses={201: s.PathologyReportSerializer}, parameters=[IF_MATCH_OPTIONAL]
    )
    @action(detail=True, methods=["post"])
    @idempotent
    def amend(self, request, pk=None):
        """Supersede this report with an amended one; the original stays readable, with `superseded_by`."""
        report = self.get_object()
        version = expected_version(request, report, required=False)
        fields = parse(s.PathologyAmendSerializer, request)
        amended = pathology_services.pathology_report_amend(
            report=report, by=request.user, expected_version=version, **fields
        )
        return show(request, amended, s.PathologyReportSerializer, status_code=status.HTTP_201_CREATED)


# Opinions --------------------------------------------------------------------------------


class OpinionViewSet(ResourceViewSet):
    queryset = m.Opinion.objects.none()
    serializer_class = s.OpinionSerializer
    filterset_class = filters.OpinionFilter
    ordering_fields = ["specialty", "created_at", "updated_at", "id"]
    audit_view = "opinion.view"

    def rows(self):
        return selectors.opinion_list(user=self.request.user)

    def detail_rows(self):
        return self.rows().select_related("case")

    @extend_schema(request=s.OpinionCreateSerializer, responses={201: s.OpinionSerializer})
    @idempotent
    def create(self, request):
        """Record the input of your own specialty on this board."""
        fields = parse(s.OpinionCreateSerializer, request)
        opinion = opinion_services.opinion_record(by=request.user, **fields)
        return show(request, opinion, s.OpinionSerializer, status_code=status.HTTP_201_CREATED)

    @extend_schema(request=s.OpinionUpdateSerializer, responses={200: s.OpinionSerializer})
    def partial_update(self, request, pk=None):
        opinion = self.get_object()
        version = expected_version(request, opinion, required=True)
        fields = parse(s.OpinionUpdateSerializer, request, partial=True)
        opinion = opinion_services.opinion_update(opinion=opinion, by=request.user, expected_version=version, **fields)
        return show(request, opinion, s.OpinionSerializer)

    @extend_schema(request=None, responses={200: s.OpinionSerializer}, parameters=[IF_MATCH_OPTIONAL])
    @action(detail=True, methods=["post"])
    def confirm(self, request, pk=None):
        """ "My input stands": the author re-confirms an input given on pathology amended since (409 if not stale)."""
        opinion = self.get_object()
        version = expected_version(request, opinion, required=False)
        opinion = opinion_services.opinion_confirm(opinion=opinion, by=request.user, expected_version=version)
        return show(request, opinion, s.OpinionSerializer)


# Meetings --------------------------------------------------------------------------------


class MeetingViewSet(ResourceViewSet):
    queryset = m.Meeting.objects.none()
    serializer_class = s.MeetingSerializer
    detail_serializer_class = s.MeetingDetailSerializer
    filterset_class = filters.MeetingFilter
    ordering_fields = ["starts_at", "created_at", "id"]

    def rows(self):
        return selectors.meeting_list(user=self.request.user)

    def get_object(self):
        return selectors.meeting_detail(user=self.request.user, pk=self.kwargs["pk"])

    def retrieve(self, request, pk=None):
        meeting = self.get_object()
        audit_record(actor=request.user, action="meeting.view", obj=meeting)
        return show(request, meeting, s.MeetingDetailSerializer)

    def _meeting(self):
        return permissions.get_meeting_for_user(self.request.user, self.kwargs["pk"])

    def _show_detail(self, request, meeting, status_code=status.HTTP_200_OK):
        meeting = selectors.meeting_detail(user=request.user, pk=meeting.pk)
        return show(request, meeting, s.MeetingDetailSerializer, status_code=status_code)

    @extend_schema(request=s.MeetingCreateSerializer, responses={201: s.MeetingDetailSerializer})
    @idempotent
    def create(self, request):
        fields = parse(s.MeetingCreateSerializer, request)
        meeting = meeting_services.meeting_schedule(by=request.user, **fields)
        return self._show_detail(request, meeting, status.HTTP_201_CREATED)

    @extend_schema(request=s.MeetingRescheduleSerializer, responses={200: s.MeetingDetailSerializer})
    @action(detail=True, methods=["post"])
    def reschedule(self, request, pk=None):
        """Move a scheduled meeting: its start, room or video link (what is left out stays). Once the agenda is
        published, members are e-mailed an invitation that replaces theirs; a meeting under way, held or
        cancelled is not moved (409 `meeting_not_scheduled`)."""
        meeting = self._meeting()
        fields = parse(s.MeetingRescheduleSerializer, request)
        meeting = meeting_services.meeting_reschedule(meeting=meeting, by=request.user, **fields)
        return self._show_detail(request, meeting)

    @extend_schema(request=s.AgendaAddSerializer, responses={201: s.AgendaItemSerializer})
    @action(detail=True, methods=["post"])
    @idempotent
    def agenda(self, request, pk=None):
        """List a case on the agenda (a late addition once the agenda is published)."""
        meeting = self._meeting()
        fields = parse(s.AgendaAddSerializer, request)
        item = meeting_services.agenda_add(meeting=meeting, by=request.user, **fields)
        return show(request, item, s.AgendaItemSerializer, status_code=status.HTTP_201_CREATED)

    @extend_schema(request=s.AgendaReorderSerializer, responses={200: s.MeetingDetailSerializer})
    @action(detail=True, methods=["post"], url_path="agenda/reorder")
    def reorder(self, request, pk=None):
        """Give every agenda item id of the meeting once, in the new order."""
        meeting = self._meeting()
        fields = parse(s.AgendaReorderSerializer, request)
        meeting_services.agenda_reorder(meeting=meeting, by=request.user, item_ids=fields["items"])
        return self._show_detail(request, meeting)

    def _agenda_item(self, meeting, pk):
        return permissions.get_visible(meeting.agenda_items.select_related("meeting", "case"), pk)

    @extend_schema(request=s.AgendaItemChangeSerializer, responses={200: s.MeetingDetailSerializer})
    @action(detail=True, methods=["post"], url_path="agenda/change")
    def change_item(self, request, pk=None):
        """Change an agenda item's presenter (null for none) or minutes; what is left out stays."""
        meeting = self._meeting()
        fields = parse(s.AgendaItemChangeSerializer, request)
        item = self._agenda_item(meeting, fields.pop("item"))
        presenter = fields.pop("presenter", item.presenter)
        meeting_services.agenda_item_update(item=item, by=request.user, presenter=presenter, **fields)
        return self._show_detail(request, meeting)

    @extend_schema(request=s.AgendaItemRemoveSerializer, responses={200: s.MeetingDetailSerializer})
    @action(detail=True, methods=["post"], url_path="agenda/remove")
    def remove_item(self, request, pk=None):
        """Take a case off the agenda (only while its outcome is pending)."""
        meeting = self._meeting()
        fields = parse(s.AgendaItemRemoveSerializer, request)
        meeting_services.agenda_remove(item=self._agenda_item(meeting, fields["item"]), by=request.user)
        return self._show_detail(request, meeting)

    @extend_schema(request=s.AgendaOutcomeSerializer, responses={200: s.MeetingDetailSerializer})
    @action(detail=True, methods=["post"], url_path="agenda/outcome")
    def outcome(self, request, pk=None):
        """Record an agenda item as discussed, or deferred with a reason (it rolls to the next meeting)."""
        meeting = self._meeting()
        fields = parse(s.AgendaOutcomeSerializer, request)
        item = self._agenda_item(meeting, fields.pop("item"))
        meeting_services.agenda_item_record_outcome(item=item, by=request.user, **fields)
        return self._show_detail(request, meeting)

    @extend_schema(request=None, responses={200: s.MeetingDetailSerializer})
    @action(detail=True, methods=["post"])
    def publish(self, request, pk=None):
        meeting = meeting_services.agenda_publish(meeting=self._meeting(), by=request.user)
        return self._show_detail(request, meeting)

    @extend_schema(request=s.MeetingStatusSerializer, responses={200: s.MeetingDetailSerializer})
    @action(detail=True, methods=["post"], url_path="status")
    def set_status(self, request, pk=None):
        fields = parse(s.MeetingStatusSerializer, request)
        meeting = meeting_services.meeting_set_status(meeting=self._meeting(), by=request.user, **fields)
        return self._show_detail(request, meeting)

    @extend_schema(request=s.AttendanceRecordSerializer, responses={200: s.AttendanceSerializer})
    @action(detail=True, methods=["post"])
    def attendance(self, request, pk=None):
        """Record whether a member is present, for the specialty their membership holds (another is refused, 400);
        frozen once the meeting is held or a decision of it is signed (409 `attendance_frozen`)."""
        meeting = self._meeting()
        fields = parse(s.AttendanceRecordSerializer, request)
        row = meeting_services.attendance_record(meeting=meeting, by=request.user, **fields)
        return show(request, row, s.AttendanceSerializer)

    @extend_schema(request=s.AttendanceCorrectSerializer, responses={200: s.AttendanceSerializer})
    @action(detail=True, methods=["post"], url_path="attendance/correct")
    def correct_attendance(self, request, pk=None):
        """Correct frozen attendance with a reason; signed decisions keep the attendance they were signed with."""
        meeting = self._meeting()
        fields = parse(s.AttendanceCorrectSerializer, request)
        row = meeting_services.attendance_correct(meeting=meeting, by=request.user, **fields)
        return show(request, row, s.AttendanceSerializer)

    @extend_schema(
        operation_id="v1_meetings_packet_pdf_retrieve",
        parameters=[s.PacketPdfQuerySerializer, *PACKET_JOB_HEADERS],
        responses={**PACKET_DOWNLOAD, 410: s.ErrorSerializer},
        filters=False,
    )
    @action(detail=True, url_path=r"packet\.pdf", **download)
    def packet_pdf(self, request, pk=None):
        """The meeting packet as a PDF (`?pdfa=1` for PDF/A-3b); watermarked DRAFT while the agenda is
        unpublished. Every download is audited (`meeting.print`, naming its cases). A cancelled meeting has
        no packet (409 `meeting_cancelled`). `?deidentify=1` answers 410: teaching copies are teaching sets
        (`/api/v1/teaching-sets/`)."""
        if request.query_params.get("deidentify", "").strip().lower() not in ("", "0", "false", "no", "off"):
            return Response(
                {"detail": DEIDENTIFIED_GONE, "code": "deidentified_packet_gone", "see": "/api/v1/teaching-sets/"},
                status=status.HTTP_410_GONE,
            )
        options = parse_query(s.PacketPdfQuerySerializer, request)
        pdf = render_meeting_packet(user=request.user, meeting_id=pk, only_cached=True, **options)
        if pdf.content is None:
            # Rendered by a background job: wait a little, then hand the client a job to poll.
            job = job_services.packet_job_start(
                by=request.user, meeting=pdf.subject, fingerprint=pdf.fingerprint, **options
            )
            job = job_services.job_wait(job=job, seconds=settings.PRINT_JOB_WAIT_SECONDS)
            ready = packet_from_cache(pdf) if job.status == m.JobStatus.DONE else None
            if job.status == m.JobStatus.FAILED and job.result.get("refused"):
                raise Conflict(job.result["message"], code=job.result["refused"])
            if ready is None:
                return job_accepted(request, job)
            pdf = ready
        meeting_print_record(
            meeting=pdf.subject, by=request.user, options={**pdf.options, "via": "api"}, case_ids=list(pdf.case_ids)
        )
        return http_response(pdf)

    @extend_schema(operation_id="v1_meetings_calendar_ics_retrieve", responses=ICS_DOWNLOAD, filters=False)
    @action(detail=True, url_path=r"calendar\.ics", **download)
    def calendar_ics(self, request, pk=None):
        """The meeting as an RFC 5545 event (METHOD:CANCEL once cancelled); no patient data; audited."""
        meeting = selectors.meetings_for_calendar(user=request.user, pk=pk)[0]
        audit_record(actor=request.user, action="meeting.calendar", obj=meeting, changes={"via": "api"})
        body = ics.meeting_calendar(meeting, user=request.user, base_url=request.build_absolute_uri("/"))
        response = HttpResponse(body, content_type=ics.CONTENT_TYPE)
        response["Content-Disposition"] = f'attachment; filename="{ics.filename(meeting)}"'
        return response


# Decisions and follow-up -----------------------------------------------------------------


class DecisionViewSet(ResourceViewSet):
    queryset = m.Decision.objects.none()
    serializer_class = s.DecisionSerializer
    filterset_class = filters.DecisionFilter
    ordering_fields = ["created_at", "signed_at", "id"]
    audit_view = "decision.view"

    def rows(self):
        return selectors.decision_list(user=self.request.user)

    def detail_rows(self):
        return self.rows().select_related("case", "meeting__board")

    @extend_schema(request=s.DecisionCreateSerializer, responses={201: s.DecisionSerializer})
    @idempotent
    def create(self, request):
        """Record the board's consensus as a draft (the chair signs it)."""
        fields = parse(s.DecisionCreateSerializer, request)
        decision = decision_services.decision_record(by=request.user, **fields)
        return show(request, decision, s.DecisionSerializer, status_code=status.HTTP_201_CREATED)

    @extend_schema(request=s.DecisionFieldsSerializer, responses={200: s.DecisionSerializer})
    def partial_update(self, request, pk=None):
        decision = self.get_object()
        version = expected_version(request, decision, required=True)
        fields = parse(s.DecisionFieldsSerializer, request, partial=True)
        decision = decision_services.decision_update(
            decision=decision, by=request.user, expected_version=version, **fields
        )
        return show(request, decision, s.DecisionSerializer)

    @extend_schema(
        request=s.DecisionSignSerializer, responses={200: s.DecisionSerializer}, parameters=[IF_MATCH_OPTIONAL]
    )
    @action(detail=True, methods=["post"])
    def sign(self, request, pk=None):
        """The chair signs: the case in consensus, at a quorate meeting in progress or held whose start has passed
        (409 `gates_unmet`). The decision keeps who was present, for which specialty."""
        decision = self.get_object()
        version = expected_version(request, decision, required=False)
        fields = parse(s.DecisionSignSerializer, request)
        decision = decision_services.decision_sign(
            decision=decision, by=request.user, expected_version=version, **fields
        )
        return show(request, decision, s.DecisionSerializer)

    @extend_schema(request=s.DecisionCorrectSerializer, responses={201: s.DecisionSerializer})
    @action(detail=True, methods=["post"])
    @idempotent
    def correct(self, request, pk=None):
        """Draft a correction of a signed decision; signing it supersedes the original."""
        decision = self.get_object()
        fields = parse(s.DecisionCorrectSerializer, request)
        correction = decision_services.decision_correct(decision=decision, by=request.user, **fields)
        return show(request, correction, s.DecisionSerializer, status_code=status.HTTP_201_CREATED)


class FollowUpViewSet(ResourceViewSet):
    queryset = m.FollowUp.objects.none()
    serializer_class = s.FollowUpSerializer
    filterset_class = filters.FollowUpFilter
    ordering_fields = ["due_on", "created_at", "id"]
    audit_view = "follow_up.view"

    def rows(self):
        return selectors.follow_up_list(user=self.request.user)

    def detail_rows(self):
        return self.rows().select_related("case")

    @extend_schema(request=s.FollowUpUpdateSerializer, responses={200: s.FollowUpSerializer})
    def partial_update(self, request, pk=None):
        """Reassign the owner or move the due date."""
        follow_up = self.get_object()
        version = expected_version(request, follow_up, required=True)
        fields = parse(s.FollowUpUpdateSerializer, request, partial=True)
        follow_up = follow_up_services.follow_up_reassign(
            follow_up=follow_up,
            by=request.user,
            owner=fields.get("owner", follow_up.owner),
            due_on=fields.get("due_on", follow_up.due_on),
            expected_version=version,
        )
        return show(request, follow_up, s.FollowUpSerializer)

    @extend_schema(request=None, responses={200: s.FollowUpSerializer}, parameters=[IF_MATCH_OPTIONAL])
    @action(detail=True, methods=["post"])
    def complete(self, request, pk=None):
        follow_up = self.get_object()
        version = expected_version(request, follow_up, required=False)
        follow_up = follow_up_services.follow_up_complete(
            follow_up=follow_up, by=request.user, expected_version=version
        )
        return show(request, follow_up, s.FollowUpSerializer)

    @extend_schema(
        request=s.FollowUpDeviateSerializer, responses={200: s.FollowUpSerializer}, parameters=[IF_MATCH_OPTIONAL]
    )
    @action(detail=True, methods=["post"])
    def deviate(self, request, pk=None):
        """Not carried out as recommended, with the reason (e.g. the patient's choice)."""
        follow_up = self.get_object()
        version = expected_version(request, follow_up, required=False)
        fields = parse(s.FollowUpDeviateSerializer, request)
        follow_up = follow_up_services.follow_up_deviate(
            follow_up=follow_up, by=request.user, reason=fields["reason"], code=fields["code"], expected_version=version
        )
        return show(request, follow_up, s.FollowUpSerializer)

    @extend_schema(request=s.ApplyTemplateSerializer, responses={201: s.FollowUpSerializer(many=True)})
    @action(detail=False, methods=["post"], url_path="apply-template")
    @idempotent
    def apply_template(self, request):
        """Plan the dated surveillance visits of a schedule template (e.g. treated osteosarcoma)."""
        fields = parse(s.ApplyTemplateSerializer, request)
        visits = follow_up_services.follow_up_apply_template(by=request.user, **fields)
        return Response(s.FollowUpSerializer(visits, many=True).data, status=status.HTTP_201_CREATED)


class JobViewSet(viewsets.GenericViewSet):
    """A background job's state (a packet being rendered): poll it after a 202 until `status` is done."""

    serializer_class = s.JobSerializer
    lookup_value_regex = r"[0-9]{1,18}"

    def retrieve(self, request, pk=None):
        return Response(
            s.JobSerializer(permissions.get_job_for_user(request.user, pk), context={"request": request}).data
        )
