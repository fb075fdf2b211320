"""Downloads of the paper: a case summary and a meeting packet (thin: parse, render, record, send)."""

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET

from ..models import JobStatus
from ..printing.documents import (
    PrintRefused,
    http_response,
    packet_from_cache,
    render_case_summary,
    render_meeting_packet,
)
from ..services.jobs import packet_job_start
from ..services.printing import case_print_record, meeting_print_record

TRUE, FALSE = {"1", "true", "yes", "on"}, {"", "0", "false", "no", "off"}


DEIDENTIFIED_GONE = (
    "The de-identified packet is gone: it was not anonymous. For teaching, prepare a teaching set "
    "(Teaching in the menu, or Prepare a teaching set on a meeting or case); a reviewer approves it before it prints."
)


class BadFlag(ValueError):
    pass


def _flag(request, name: str) -> bool:
    value = request.GET.get(name, "").strip().lower()
    if value in TRUE | FALSE:
        return value in TRUE
    raise BadFlag(f"{name} must be 0 or 1.")


@login_required
@require_GET
def case_summary_pdf(request, pk: int):
    try:
        pdfa = _flag(request, "pdfa")
    except BadFlag as error:
        return HttpResponseBadRequest(str(error))
    try:
        pdf = render_case_summary(user=request.user, case_id=pk, pdfa=pdfa)
    except PrintRefused as error:
        return HttpResponse(error.message, status=409, content_type="text/plain; charset=utf-8")
    case_print_record(case=pdf.subject, by=request.user, options=pdf.options)
    return http_response(pdf)


@login_required
@require_GET
def meeting_packet_pdf(request, pk: int):
    if request.GET.get("deidentify", "").strip().lower() not in FALSE:
        # Nothing to retry: the page points to where teaching copies are made now.
        gone_to = {"url": reverse("teaching-list"), "label": "Go to teaching sets"}
        context = {"heading": "The de-identified packet is gone", "message": DEIDENTIFIED_GONE, "gone_to": gone_to}
        return render(request, "400.html", context, status=410)
    try:
        pdfa = _flag(request, "pdfa")
    except BadFlag as error:
        return HttpResponseBadRequest(str(error))
    # A packet already rendered (a reprint, or pre-rendered when the agenda was published) downloads at once;
    # otherwise a background job renders it and the coordinator watches its progress.
    flags = {"pdfa": pdfa}
    try:
        pdf = render_meeting_packet(user=request.user, meeting_id=pk, only_cached=True, **flags)
    except PrintRefused as error:
        context = {"heading": "The packet is not printed", "message": error.message}
        return render(request, "400.html", context, status=409)
    if pdf.content is None:
        job = packet_job_start(by=request.user, meeting=pdf.subject, fingerprint=pdf.fingerprint, **flags)
        ready = packet_from_cache(pdf) if job.status == JobStatus.DONE else None
        if ready is None:
            return redirect("job-detail", job.pk)
        pdf = ready
    meeting_print_record(meeting=pdf.subject, by=request.user, options=pdf.options, case_ids=list(pdf.case_ids))
    return http_response(pdf)
