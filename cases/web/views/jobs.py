"""A background job's progress: refreshes itself without JavaScript, and offers the download when done."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET

from ... import permissions
from ...models import JobStatus

REFRESH_SECONDS = 2


@login_required
@require_GET
def job_detail(request, pk):
    job = permissions.get_job_for_user(request.user, pk)
    meeting = permissions.get_meeting_for_user(request.user, job.args["meeting_id"])
    query = "&".join(f"{flag}=1" for flag in ("deidentify", "pdfa") if job.args.get(flag))
    download = reverse("meeting-packet-pdf", args=[meeting.pk]) + (f"?{query}" if query else "")
    context = {
        "job": job,
        "meeting": meeting,
        "download": download,
        "refresh": None if job.is_finished else REFRESH_SECONDS,
        "waiting_for_worker": job.status == JobStatus.QUEUED and job.attempts == 0,
    }
    return render(request, "jobs/job_detail.html", context)
