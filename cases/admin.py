"""Django admin: reference data (boards, memberships, templates) is edited here; clinical records are
only read here — they change through the services, which hold the workflow, version and audit rules."""

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db import models, transaction
from django.utils.text import Truncator

from .models import (
    AgendaItem,
    Attendance,
    AuditEvent,
    Board,
    BoardMembership,
    Case,
    CaseEvent,
    Decision,
    FollowUp,
    FollowUpTemplate,
    ImagingStudy,
    Job,
    JobStatus,
    KeyImage,
    Meeting,
    Opinion,
    PathologyReport,
    Patient,
)
from .services.audit import audit_list, audit_record, jsonable
from .services.jobs import job_retry

admin.site.site_header = "Tumor Board administration"
admin.site.site_title = "Tumor Board admin"


class AuditedAdmin(admin.ModelAdmin):
    """Reference data: every change made here is written to the audit trail too."""

    def save_model(self, request, obj, form, change):
        with transaction.atomic():
            super().save_model(request, obj, form, change)
            changes = {name: str(form.cleaned_data.get(name)) for name in form.changed_data}
            audit_record(
                actor=request.user, action=f"admin.{'update' if change else 'create'}", obj=obj, changes=changes
            )

    def delete_model(self, request, obj):
        with transaction.atomic():
            audit_record(actor=request.user, action="admin.delete", obj=obj)
            super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        """The changelist's "delete selected": one event naming every row it deletes."""
        with transaction.atomic():
            rows = list(queryset)
            audit_record(
                actor=request.user,
                action="admin.bulk_delete",
                object_type=self.model._meta.model_name,
                changes={"ids": [row.pk for row in rows], "names": [str(row) for row in rows]},
            )
            super().delete_queryset(request, queryset)

    def save_formset(self, request, form, formset, change):
        """Inline rows (a board's memberships): each added, changed or deleted row, before and after."""
        with transaction.atomic():
            entries = []
            deleted = {id(f) for f in formset.deleted_forms}
            for inline_form in formset.forms:
                if id(inline_form) in deleted:
                    if inline_form.instance.pk:
                        before = {n: _value(inline_form.initial.get(n)) for n in inline_form.fields if n != "id"}
                        entries.append({"deleted": inline_form.instance.pk, "before": before})
                    continue
                if not inline_form.has_changed():
                    continue
                names = [n for n in inline_form.changed_data if n not in ("id", "DELETE")]
                entries.append(
                    {
                        "row": inline_form.instance.pk,
                        "before": {n: _value(inline_form.initial.get(n)) for n in names}
                        if inline_form.instance.pk
                        else {},
                        "after": {n: _value(inline_form.cleaned_data.get(n)) for n in names},
                    }
                )
            super().save_formset(request, form, formset, change)
            for entry, new in zip(
                [e for e in entries if e.get("row") is None and "deleted" not in e], formset.new_objects, strict=False
            ):
                entry["row"] = new.pk
            if entries:
                audit_record(
                    actor=request.user,
                    action="admin.inline_update",
                    obj=form.instance,
                    changes={formset.model._meta.model_name: entries},
                )


def _value(value):
    if isinstance(value, list | tuple):
        return [_value(item) for item in value]
    value = jsonable(value)
    return value if isinstance(value, str | int | float | bool | type(None)) else str(value)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Clinical records: visible to administrators, changed only through the portal and API."""

    # A link typed without a scheme is taken as https (Django 6's default; it warns until then).
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        changelist = getattr(response, "context_data", {}).get("cl")
        if changelist is not None:
            model = self.model._meta.model_name
            audit_list(
                actor=request.user,
                action=f"admin.{model}_list",
                query=request.GET,
                rows=list(changelist.result_list),
                object_type=model,
            )
        return response

    def change_view(self, request, object_id, form_url="", extra_context=None):
        response = super().change_view(request, object_id, form_url, extra_context)
        original = getattr(response, "context_data", {}).get("original")
        if original is not None and response.status_code == 200:
            audit_record(actor=request.user, action=f"admin.{self.model._meta.model_name}_view", obj=original)
        return response


class MembershipInline(admin.TabularInline):
    model = BoardMembership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Board)
class BoardAdmin(AuditedAdmin):
    list_display = ["name", "tumour_site", "is_active"]
    list_filter = ["is_active"]
    search_fields = ["name", "tumour_site"]
    inlines = [MembershipInline]


@admin.register(BoardMembership)
class BoardMembershipAdmin(AuditedAdmin):
    list_display = ["user", "board", "role", "specialty", "reviews_teaching"]
    list_filter = ["board", "role", "specialty", "reviews_teaching"]
    search_fields = ["user__username", "user__first_name", "user__last_name", "board__name"]
    autocomplete_fields = ["user"]


@admin.register(FollowUpTemplate)
class FollowUpTemplateAdmin(AuditedAdmin):
    list_display = ["name", "code", "is_active"]
    list_filter = ["is_active"]
    search_fields = ["name", "code"]


@admin.register(Patient)
class PatientAdmin(ReadOnlyAdmin):
    list_display = ["mrn", "family_name", "given_name", "birth_date", "registered_board"]
    list_filter = ["registered_board", "sex"]
    search_fields = ["mrn", "family_name", "given_name"]


@admin.register(Case)
class CaseAdmin(ReadOnlyAdmin):
    list_display = ["id", "patient", "board", "stage", "priority", "updated_at"]
    list_filter = ["board", "stage", "priority"]
    search_fields = ["patient__mrn", "patient__family_name", "clinical_question"]
    list_select_related = ["patient", "board"]


@admin.register(CaseEvent)
class CaseEventAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "case", "kind", "summary", "actor"]
    list_filter = ["kind"]
    search_fields = ["summary", "case__patient__mrn"]
    list_select_related = ["case__patient", "actor"]


class KeyImageInline(admin.TabularInline):
    model = KeyImage
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(ImagingStudy)
class ImagingStudyAdmin(ReadOnlyAdmin):
    list_display = ["id", "case", "modality", "body_site", "performed_on"]
    list_filter = ["modality"]
    search_fields = ["body_site", "accession_number", "case__patient__mrn"]
    inlines = [KeyImageInline]


@admin.register(PathologyReport)
class PathologyReportAdmin(ReadOnlyAdmin):
    list_display = ["id", "case", "status", "discrepancy", "supersedes", "signed_out_at"]
    list_filter = ["status", "discrepancy"]
    search_fields = ["diagnosis", "specimen", "case__patient__mrn"]


@admin.register(Opinion)
class OpinionAdmin(ReadOnlyAdmin):
    list_display = ["id", "case", "specialty", "author", "updated_at"]
    list_filter = ["specialty"]
    search_fields = ["assessment", "case__patient__mrn"]


class AgendaItemInline(admin.TabularInline):
    model = AgendaItem
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Meeting)
class MeetingAdmin(ReadOnlyAdmin):
    list_display = ["starts_at", "board", "status", "agenda_published_at"]
    list_filter = ["board", "status"]
    inlines = [AgendaItemInline]


@admin.register(Attendance)
class AttendanceAdmin(ReadOnlyAdmin):
    list_display = ["meeting", "user", "specialty", "present"]
    list_filter = ["specialty", "present"]


@admin.register(Decision)
class DecisionAdmin(ReadOnlyAdmin):
    list_display = ["id", "case", "status", "signed_by", "signed_at", "superseded_at"]
    list_filter = ["status"]
    search_fields = ["consensus_diagnosis", "case__patient__mrn"]


@admin.register(FollowUp)
class FollowUpAdmin(ReadOnlyAdmin):
    list_display = ["id", "case", "kind", "description", "due_on", "status"]
    list_filter = ["kind", "status"]
    search_fields = ["description", "case__patient__mrn"]


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ["sequence", "created_at", "actor_username", "action", "object_type", "object_id", "ip_address"]
    list_filter = ["action", "object_type"]
    search_fields = ["actor_username", "object_id", "request_id"]
    date_hierarchy = "created_at"


@admin.register(Job)
class JobAdmin(ReadOnlyAdmin):
    """Background jobs: a failed one shows its error here and can be queued again ("Retry")."""

    list_display = ["__str__", "status", "attempts", "last_error", "created_at", "finished_at"]
    list_filter = ["status", "kind"]
    readonly_fields = [f.name for f in Job._meta.fields]
    actions = ["retry_jobs"]
    # The change permission is there for the Retry action only: the detail page shows the job, it saves nothing.
    no_saving = dict.fromkeys(
        ["show_save", "show_save_and_continue", "show_save_and_add_another", "show_delete"], False
    )

    def has_change_permission(self, request, obj=None):
        # Read-only fields, but the changelist's actions need the change permission.
        return request.user.is_active and request.user.is_staff and request.user.has_perm("cases.change_job")

    def change_view(self, request, object_id, form_url="", extra_context=None):
        if request.method == "POST":
            raise PermissionDenied("A job is changed only by the Retry action of the list.")
        return super().change_view(request, object_id, form_url, {**(extra_context or {}), **self.no_saving})

    @admin.display(description="Error")
    def last_error(self, job: Job) -> str:
        """The error's last line (the exception), short enough for a list; the detail page has all of it."""
        lines = [line for line in job.error.strip().splitlines() if line.strip()]
        return Truncator(lines[-1]).chars(120) if lines else ""

    @admin.action(description="Retry the selected failed jobs")
    def retry_jobs(self, request, queryset):
        retried = [job_retry(job=job, by=request.user) for job in queryset.filter(status=JobStatus.FAILED)]
        self.message_user(request, f"{len(retried)} failed job(s) queued again.")


from .identity import admin as _identity_admin  # noqa: E402, F401 - registers the identity models
