"""The printing API the portal, the REST API and the management commands call.

    render_case_summary(user=…, case_id=…, pdfa=False) -> RenderedPdf
    render_meeting_packet(user=…, meeting_id=…, pdfa=False) -> RenderedPdf

Access goes through the selectors (404 for another board's case or meeting). Printing only
reads: the caller records the audit event (cases.services.printing).

Speed: a document is fingerprinted from its HTML before any layout, so reprinting unchanged
content is a file read. A packet is a frame (cover, agenda, header, footer, watermark,
bookmarks) with one separately rendered and separately cached section per case laid over it,
and a one-page stamp (print time, fingerprint) laid over every page. The frame is cached by its
own HTML, which holds no case content beyond the agenda: when one case changes and keeps its
page count, only that section and the stamp are rendered again.
"""

import dataclasses
import functools
import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import urljoin

import weasyprint
from django.conf import settings
from django.contrib.staticfiles import finders
from django.contrib.staticfiles.storage import staticfiles_storage
from django.core.files.storage import default_storage
from django.http import HttpResponse
from django.template.loader import render_to_string
from django.templatetags.static import static
from django.utils import timezone
from django.utils.text import slugify

from .. import selectors
from ..interop import fhir as fhir_export
from ..models import MeetingStatus
from ..services.errors import ServiceError
from . import context, engine
from .cache import cache_get, cache_put
from .fetcher import ORIGIN, AppURLFetcher, RefusedResource, local_path

PDFA_VARIANT = "pdf/a-3b"
STYLESHEETS = ("printing/print.css", "printing/chrome.css", "printing/stamp.css")
FRAME_STYLESHEETS = ("printing/print.css", "printing/chrome.css")
STAMP_STYLESHEETS = ("printing/print.css", "printing/stamp.css")
# Stands in for the print time and fingerprint while the HTML is fingerprinted; random per
# process so no text a user typed can ever match it.
_PRINTED = f"tb-printed-{secrets.token_hex(8)}"
_CREATED = f"tb-created-{secrets.token_hex(8)}"


class PrintRefused(ServiceError):
    """A print that cannot be made as asked: the portal, the API (409) and a packet job say why, and nothing
    is retried (the same content would be refused again)."""


class MissingGlyphs(PrintRefused):
    """A PDF/A print would draw characters as empty boxes: refused, naming the text (HTTP 409)."""

    code = "missing_glyphs"


class MeetingCancelled(PrintRefused):
    """A cancelled meeting offers nothing but its record: no packet is handed out for it (HTTP 409)."""

    code = "meeting_cancelled"


class PrintTooLarge(PrintRefused):
    """A document went past the print limits (settings.PRINT_TIME_LIMIT_SECONDS, PRINT_MEMORY_LIMIT_MB)."""

    code = "print_limit_exceeded"


def print_limits() -> engine.Limits:
    return engine.Limits(
        seconds=settings.PRINT_TIME_LIMIT_SECONDS, memory_bytes=settings.PRINT_MEMORY_LIMIT_MB * 1024 * 1024
    )


def render_limited(jobs: list[engine.Job], *, workers: int = 1, names=None, **kwargs) -> dict[str, bytes]:
    """engine.render_jobs under the print limits; past one, PrintTooLarge names the document (`names[key]`)."""
    try:
        return engine.render_jobs(jobs, workers=workers, limits=print_limits(), **kwargs)
    except engine.LimitExceeded as error:
        what = (names or {}).get(error.key, "This document")
        why = {
            "time": f"it went past the {settings.PRINT_TIME_LIMIT_SECONDS:g}-second print time limit",
            "memory": f"it went past the {settings.PRINT_MEMORY_LIMIT_MB:,} MB print memory limit",
        }.get(error.what, f"the print process stopped (most often at the {settings.PRINT_MEMORY_LIMIT_MB:,} MB limit)")
        raise PrintTooLarge(
            f"{what} could not be printed: {why}. Very large key images or text cause this: remove or shrink "
            "them, or ask an administrator to raise the limit. Nothing else was affected."
        ) from None


def _refuse_missing_glyphs(pdf: bytes, html: str) -> None:
    """PDF/A promises the text can be read back as printed: no character may lack a glyph."""
    missing = engine.missing_glyphs(pdf)
    if not missing:
        return
    text = re.sub(r"<[^>]+>", " ", html)
    snippets = []
    for char in missing[:5]:
        at = text.find(char)
        around = " ".join(text[max(0, at - 25) : at + 25].split()) if at >= 0 else char
        snippets.append(f"U+{ord(char):04X} in “{around}”")
    raise MissingGlyphs(
        "This PDF/A print would show characters no installed font can draw: "
        + "; ".join(snippets)
        + ". Correct the text, or print without PDF/A."
    )


@dataclass(frozen=True)
class RenderedPdf:
    content: bytes | None  # None: not rendered yet (render_meeting_packet(only_cached=True))
    filename: str
    fingerprint: str
    from_cache: bool
    subject: object  # the Case or Meeting printed, for the caller's audit event
    options: dict  # what the audit event records about this print
    case_ids: tuple[int, ...] = ()


def http_response(pdf: RenderedPdf) -> HttpResponse:
    """The PDF as a download; never kept by browsers or proxies (it holds patient data)."""
    response = HttpResponse(pdf.content, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{pdf.filename}"'
    response["Cache-Control"] = "no-store, private"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@functools.cache
def template_version() -> str:
    """A digest of the PDF templates, their CSS and the renderer: any change invalidates every cached PDF."""
    digest = hashlib.sha256(f"weasyprint {weasyprint.__version__}; layout 1".encode())
    roots = [Path(settings.BASE_DIR) / "templates" / "printing", Path(settings.BASE_DIR) / "static" / "printing"]
    for path in sorted(p for root in roots for p in root.rglob("*") if p.is_file()):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def _fingerprint(*parts: str) -> str:
    digest = hashlib.sha256(template_version().encode())
    for part in parts:
        digest.update(b"\0" + part.encode())
    return digest.hexdigest()


def load_from_storage(root: str, relative: str) -> bytes:
    """A static file (collected, or found in the source tree) or a stored media file."""
    if root == "media":
        with default_storage.open(relative) as handle:
            return handle.read()
    found = finders.find(relative)
    if found:
        return Path(found).read_bytes()
    if staticfiles_storage.exists(relative):
        with staticfiles_storage.open(relative) as handle:
            return handle.read()
    raise RefusedResource(f"No static file {relative!r}.")


def _resources(urls) -> dict[str, bytes]:
    """Every file a document may fetch, read once through the storages, keyed by its URL."""
    resources = {}
    for url in urls:
        absolute = urljoin(ORIGIN, url)
        if absolute not in resources:
            root, relative = local_path(absolute)
            resources[absolute] = load_from_storage(root, relative)
    return resources


def _stamp(html: str, *, fingerprint: str, when: datetime) -> str:
    local = timezone.localtime(when)
    printed = f"Printed {local:%d %b %Y %H:%M} · {fingerprint[:10]}"
    return html.replace(_PRINTED, printed).replace(_CREATED, local.isoformat(timespec="seconds"))


def _options(fingerprint: str, from_cache: bool, **flags) -> dict:
    return {**flags, "fingerprint": fingerprint, "from_cache": from_cache}


def _doc(*, title: str, author: str, running_title: str, running_patient: str, draft: bool = False) -> dict:
    return {
        "title": title,
        "author": author,
        "description": title,
        "created": _CREATED,
        "printed": _PRINTED,
        "running_title": running_title,
        "running_patient": running_patient,
        "draft": draft,
    }


# Case summary -------------------------------------------------------------------------------


def render_case_summary(*, user, case_id, pdfa: bool = False) -> RenderedPdf:
    case = selectors.case_printable(user=user, pk=case_id)
    now = timezone.now()
    values = context.case_context(case, on=timezone.localdate(now))
    who = values["patient"]
    values["doc"] = _doc(
        title=f"Case summary — {case.board.name} — case {case.pk}",
        author=case.board.name,
        running_title=f"Case summary · case {case.pk}",
        running_patient=f"{who.name} · {who.mrn}",
    )
    values["doc"]["bookmark"] = f"Case {case.pk}"
    html = render_to_string("printing/case_summary.html", values)
    # PDF/A-3 carries the case's FHIR Bundle, byte for byte what GET /api/v1/cases/{id}/fhir/ answers.
    bundle = fhir_export.to_bytes(fhir_export.case_bundle(selectors.case_fhir(user=user, pk=case.pk))) if pdfa else b""
    fingerprint = _fingerprint(
        "summary", f"pdfa={pdfa}", hashlib.sha256(bundle).hexdigest(), html.replace(_PRINTED, "").replace(_CREATED, "")
    )
    filename = f"case-{case.pk}-summary{'-pdfa' if pdfa else ''}.pdf"
    result = functools.partial(
        RenderedPdf, filename=filename, fingerprint=fingerprint, subject=case, case_ids=(case.pk,)
    )
    cached = cache_get(f"summary-{fingerprint}")
    if cached is not None:
        return result(content=cached, from_cache=True, options=_options(fingerprint, True, pdfa=pdfa))
    urls = [static(name) for name in STYLESHEETS] + [i["url"] for s in values["imaging"] for i in s["images"]]
    job = engine.Job(
        key="summary",
        html=_stamp(html, fingerprint=fingerprint, when=now),
        resources=_resources(urls),
        pdf_variant=PDFA_VARIANT if pdfa else None,
        attachments=(_bundle_attachment(case, bundle),) if pdfa else (),
    )
    content = render_limited([job], names={"summary": f"The summary of case {case.pk}"})["summary"]
    if pdfa:
        _refuse_missing_glyphs(content, html)
    cache_put(f"summary-{fingerprint}", content)
    return result(content=content, from_cache=False, options=_options(fingerprint, False, pdfa=pdfa))


def _bundle_attachment(case, bundle: bytes) -> engine.Embedded:
    return engine.Embedded(
        name=f"case-{case.pk}.fhir.json",
        content=bundle,
        mime_type="application/fhir+json",
        description=f"Case {case.pk} as an HL7 FHIR R4 Bundle (mCODE), as of the print",
        when=case.updated_at,
    )


# Meeting packet -----------------------------------------------------------------------------


@dataclass
class Section:
    row: dict
    bookmark: str
    html: str
    image_urls: list[str]
    key: str = ""
    pages: int = 0

    @property
    def extra_pages(self) -> range:
        return range(self.pages - 1)


def _sections(meeting, cases, *, with_title: bool = False) -> tuple[dict, list[Section]]:
    day = timezone.localtime(meeting.starts_at).date()
    contexts = {case.pk: context.case_context(case, on=day) for case in cases}
    identities = {pk: values["patient"] for pk, values in contexts.items()}
    front = context.meeting_context(meeting)
    front["rows"] = context.agenda_rows(meeting, identities)
    sections = []
    for row in front["rows"]:
        values = contexts[row["case_id"]]
        who = row["patient"]
        bookmark = f"{row['position']}. {who.name} ({who.mrn})"
        html = render_to_string(
            "printing/_packet_section.html", {**values, "row": row, "bookmark": bookmark, "with_title": with_title}
        )
        urls = [image["url"] for study in values["imaging"] for image in study["images"]]
        sections.append(Section(row=row, bookmark=bookmark, html=html, image_urls=urls))
    return front, sections


def packet_html(*, user, meeting_id) -> str:
    """The whole packet as one HTML document, as WeasyPrint alone would render it (for the bench)."""
    meeting, cases = selectors.meeting_packet(user=user, pk=meeting_id)
    front, sections = _sections(meeting, cases, with_title=True)
    values = {**front, "sections": sections, "doc": _packet_doc(meeting, front)}
    return _stamp(render_to_string("printing/packet.html", values), fingerprint="0" * 16, when=timezone.now())


def _packet_doc(meeting, front: dict) -> dict:
    return _doc(
        title=f"{front['board']} — meeting packet, {front['short_date']}",
        author=front["board"],
        running_title=f"Meeting of {front['short_date']}",
        running_patient="",
        draft=not front["published"],
    )


def render_meeting_packet(
    *, user, meeting_id, pdfa: bool = False, only_cached: bool = False, progress=None
) -> RenderedPdf:
    """The packet. With `only_cached` nothing is rendered: the content is None unless the packet is in the
    cache (the request then hands the work to a background job, cases/jobs/tasks.py, keyed by the
    fingerprint). `progress(done, total)` hears of each case section rendered."""
    meeting, cases = selectors.meeting_packet(user=user, pk=meeting_id)
    if meeting.status == MeetingStatus.CANCELLED:
        # Before the cache too: a packet pre-rendered while the meeting was on is not handed out after.
        raise MeetingCancelled(
            "The meeting was cancelled, so it has no packet to print. Its agenda and record stay on the meeting page."
        )
    now = timezone.now()
    front, sections = _sections(meeting, cases)
    doc = _packet_doc(meeting, front)
    front_html = render_to_string("printing/_packet_front.html", {**front, "doc": doc})
    for section in sections:
        # Keyed by variant: a plain PDF section laid into a PDF/A packet would break its conformance.
        section.key = "section-" + _fingerprint("section", f"pdfa={pdfa}", section.html)
    flags = f"pdfa={pdfa};draft={doc['draft']};title={doc['title']}"
    fingerprint = _fingerprint("packet", flags, front_html, *[s.key for s in sections])
    filename = (
        f"{slugify(front['board'])}-{timezone.localtime(meeting.starts_at):%Y-%m-%d}-packet"
        + ("-pdfa" if pdfa else "")
        + ".pdf"
    )
    result = functools.partial(
        RenderedPdf,
        filename=filename,
        fingerprint=fingerprint,
        subject=meeting,
        case_ids=tuple(case.pk for case in cases),
    )
    options = functools.partial(_options, fingerprint, pdfa=pdfa)
    cached = cache_get(f"packet-{fingerprint}")
    if cached is not None:
        return result(content=cached, from_cache=True, options=options(True))
    if only_cached:
        return result(content=None, from_cache=False, options=options(False))
    bodies = _section_pdfs(sections, pdfa=pdfa, progress=progress)
    frame_pdf = _frame_pdf({**front, "sections": sections, "doc": doc}, flags=flags, pdfa=pdfa, when=now)
    starts = _section_starts(sections, engine.page_count(frame_pdf))
    content = engine.overlay(
        frame_pdf,
        [(start, bodies[section.key]) for start, section in zip(starts, sections, strict=True)],
        stamp=_stamp_pdf(fingerprint=fingerprint, when=now),
        created=timezone.localtime(now),
    )
    if pdfa:
        _refuse_missing_glyphs(content, front_html + "".join(section.html for section in sections))
    cache_put(f"packet-{fingerprint}", content)
    return result(content=content, from_cache=False, options=options(False))


def packet_from_cache(pdf: RenderedPdf) -> RenderedPdf | None:
    """The packet a background job rendered for this plan (render_meeting_packet(only_cached=True)), or None."""
    content = cache_get(f"packet-{pdf.fingerprint}")
    if content is None:
        return None
    return dataclasses.replace(pdf, content=content, from_cache=True, options={**pdf.options, "from_cache": True})


def _section_starts(sections: list[Section], frame_pages: int) -> list[int]:
    """The frame page (0-based) each section starts on: the slots fill the frame's last pages, in order."""
    starts, start = [], frame_pages - sum(section.pages for section in sections)
    for section in sections:
        starts.append(start)
        start += section.pages
    return starts


def _frame_pdf(values: dict, *, flags: str, pdfa: bool, when: datetime) -> bytes:
    """The frame, cached by its HTML: it changes with the agenda, the options and each section's page count only."""
    values = {**values, "doc": {**values["doc"], "printed": ""}}  # the stamp carries print time and fingerprint
    html = render_to_string("printing/packet_frame.html", values)
    key = "frame-" + _fingerprint("frame", flags, html.replace(_CREATED, ""))
    cached = cache_get(key)
    if cached is not None:
        return cached
    frame_pdf, anchors = engine.render_with_anchors(
        _stamp(html, fingerprint="", when=when),
        fetcher=_css_fetcher(FRAME_STYLESHEETS),
        pdf_variant=PDFA_VARIANT if pdfa else None,
    )
    # Each section's body goes over exactly the pages its slot reserved in the frame.
    sections = values["sections"]
    starts = _section_starts(sections, engine.page_count(frame_pdf))
    assert [anchors[section.row["anchor"]] for section in sections] == starts
    cache_put(key, frame_pdf)
    return frame_pdf


def _stamp_pdf(*, fingerprint: str, when: datetime) -> bytes:
    """One page with only the footer's per-print part, laid over every page of the packet."""
    html = render_to_string("printing/packet_stamp.html", {"printed": _PRINTED})
    return engine.render(_stamp(html, fingerprint=fingerprint, when=when), fetcher=_css_fetcher(STAMP_STYLESHEETS))


def _css_fetcher(stylesheets: tuple[str, ...]) -> AppURLFetcher:
    return AppURLFetcher(resources=_resources([static(name) for name in stylesheets]), loader=load_from_storage)


def _section_pdfs(sections: list[Section], *, pdfa: bool = False, progress=None) -> dict[str, bytes]:
    """Each section's body PDF, from the cache or rendered now (in parallel when several are missing)."""
    bodies = {s.key: cache_get(s.key) for s in sections}
    missing = {s.key: s for s in sections if bodies[s.key] is None}
    cached_count = len(sections) - len(missing)
    if progress:
        progress(cached_count, len(sections))
    if missing:
        css = [static("printing/print.css")]
        jobs = [
            engine.Job(
                key=key,
                html=render_to_string("printing/packet_section.html", {"section_html": s.html, "chrome": False}),
                resources=_resources(css + s.image_urls),
                pdf_variant=PDFA_VARIANT if pdfa else None,
            )
            for key, s in missing.items()
        ]
        workers = settings.PRINT_WORKERS or engine.default_workers()
        on_done = (lambda n: progress(cached_count + n, len(sections))) if progress else None
        names = {key: f"The section of case {s.row['case_id']}" for key, s in missing.items()}
        rendered = render_limited(jobs, workers=workers, names=names, on_done=on_done)
        for key, pdf in rendered.items():
            cache_put(key, pdf)
            bodies[key] = pdf
    for section in sections:
        section.pages = engine.page_count(bodies[section.key])
    return bodies
