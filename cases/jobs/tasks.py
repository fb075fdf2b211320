"""The job kinds of Tumor Board. Each is safe to run twice: it writes content-addressed files only."""

from django.contrib.auth import get_user_model

from ..printing.documents import render_meeting_packet
from .registry import job


@job("packet.render")
def packet_render(job, *, progress, meeting_id: int, user_id: int, pdfa: bool = False, deidentify: bool = False):
    """Render a meeting packet into the print cache, as the user who asked (their boards decide what they see).

    The result names the packet's fingerprint; the download then reads the cached PDF.
    """
    user = get_user_model().objects.get(pk=user_id, is_active=True)
    pdf = render_meeting_packet(user=user, meeting_id=meeting_id, pdfa=pdfa, deidentify=deidentify, progress=progress)
    return {"fingerprint": pdf.fingerprint, "filename": pdf.filename, "from_cache": pdf.from_cache}
