"""The audit trail for auditors and administrators: filter, page through, export as CSV."""

import csv
import json

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import StreamingHttpResponse
from django.shortcuts import render

from ... import permissions, selectors
from ...models import AuditEvent
from ...services.audit import LIST_IDS_LIMIT, Returned, audit_list
from ..forms import AuditFilterForm

PAGE_SIZE = 50
CSV_COLUMNS = [
    "sequence",
    "created_at",
    "actor_username",
    "action",
    "object_type",
    "object_id",
    "patient_id",
    "case_id",
    "ip_address",
    "request_id",
    "changes",
]


@login_required
def audit_log(request):
    permissions.require_audit_reader(request.user)
    form = AuditFilterForm(request.GET)
    # A filter that cannot be read shows nothing (and says why), never the whole trail.
    events = selectors.audit_search(**form.filters()) if form.is_valid() else AuditEvent.objects.none()
    if request.GET.get("format") == "csv":
        return _export(request, events)
    page = Paginator(events, PAGE_SIZE).get_page(request.GET.get("page"))
    audit_list(actor=request.user, action="audit.view", query=request.GET, rows=page, object_type="audit", anchor=False)
    return render(request, "audit/audit_log.html", {"form": form, "page": page})


def _export(request, events) -> StreamingHttpResponse:
    """The filtered trail as CSV (at most LIST_IDS_LIMIT rows), the export itself audited with what it returned."""
    events, returned = selectors.audit_export(events, limit=LIST_IDS_LIMIT)
    audit_list(
        actor=request.user,
        action="audit.export",
        query=request.GET,
        returned=Returned(**returned),
        object_type="audit",
        anchor=False,
    )
    return csv_response(events)


class _Echo:
    def write(self, value):
        return value


def _cell(value) -> str:
    text = json.dumps(value, ensure_ascii=False, sort_keys=True) if isinstance(value, dict) else str(value or "")
    # A cell a spreadsheet would run as a formula is made inert (OWASP CSV injection).
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def csv_response(events) -> StreamingHttpResponse:
    writer = csv.writer(_Echo())
    rows = (
        writer.writerow([_cell(getattr(event, column)) for column in CSV_COLUMNS])
        for event in events.iterator(chunk_size=2000)
    )
    header = (writer.writerow(CSV_COLUMNS),)
    response = StreamingHttpResponse((line for chunk in (header, rows) for line in chunk), content_type="text/csv")
    response["Content-Disposition"] = 'attachment; filename="audit-trail.csv"'
    return response
