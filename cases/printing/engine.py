"""WeasyPrint, and putting separately rendered sections together. No Django here.

Worker processes import this module alone, so it must not import Django or our models.
"""

import io
import logging
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from multiprocessing import get_context

import pikepdf
from pikepdf.models.metadata import encode_pdf_date
from weasyprint import HTML
from weasyprint.text.fonts import FontConfiguration

from .fetcher import ORIGIN, AppURLFetcher, Loader

logger = logging.getLogger(__name__)

_font_config: FontConfiguration | None = None
_pool: ProcessPoolExecutor | None = None


@dataclass(frozen=True)
class Job:
    """One HTML document to render; `resources` holds every static or media file it may fetch."""

    key: str
    html: str
    resources: dict[str, bytes]
    pdf_variant: str | None = None


def font_config() -> FontConfiguration:
    # One per process: reusing it across documents saves time and a third of the memory.
    global _font_config
    if _font_config is None:
        _font_config = FontConfiguration()
    return _font_config


def render(html: str, *, fetcher: AppURLFetcher, pdf_variant: str | None = None, image_cache=None) -> bytes:
    return render_with_anchors(html, fetcher=fetcher, pdf_variant=pdf_variant, image_cache=image_cache)[0]


def render_with_anchors(
    html: str, *, fetcher: AppURLFetcher, pdf_variant: str | None = None, image_cache=None
) -> tuple[bytes, dict[str, int]]:
    """The PDF, and the page index (0-based) where each element with an id starts."""
    document = HTML(string=html, base_url=ORIGIN, url_fetcher=fetcher).render(
        font_config=font_config(),
        presentational_hints=False,
        cache=image_cache if image_cache is not None else {},
    )
    anchors = {}
    for index, page in enumerate(document.pages):
        for name in page.anchors:
            anchors.setdefault(name, index)
    return document.write_pdf(pdf_variant=pdf_variant), anchors


def render_job(job: Job) -> tuple[str, bytes]:
    """Render in a worker process: only the resources handed over can be fetched."""
    return job.key, render(job.html, fetcher=AppURLFetcher(resources=dict(job.resources)), pdf_variant=job.pdf_variant)


def render_jobs(
    jobs: list[Job], *, workers: int, loader: Loader | None = None, on_done: Callable[[int], None] | None = None
) -> dict[str, bytes]:
    """Render each job, in parallel worker processes when there is more than one job and worker.

    `on_done(n)` is told after each document how many are rendered so far (a background job's progress).
    """
    results = {}
    if workers > 1 and len(jobs) > 1:
        chunk = max(1, len(jobs) // (workers * 4))
        for key, pdf in _worker_pool(workers).map(render_job, jobs, chunksize=chunk):
            results[key] = pdf
            if on_done:
                on_done(len(results))
        return results
    fetcher, image_cache = AppURLFetcher(loader=loader), {}
    for job in jobs:
        fetcher.resources.update(job.resources)
        results[job.key] = render(job.html, fetcher=fetcher, pdf_variant=job.pdf_variant, image_cache=image_cache)
        if on_done:
            on_done(len(results))
    return results


def _worker_pool(workers: int) -> ProcessPoolExecutor:
    # forkserver: workers start from a clean single-threaded process that has imported only
    # WeasyPrint and this module, never from a web process holding threads and database sockets.
    global _pool
    if _pool is None:
        context = get_context("forkserver")
        context.set_forkserver_preload([__name__])
        _pool = ProcessPoolExecutor(max_workers=workers, mp_context=context)
    return _pool


def default_workers() -> int:
    return max(1, min(4, os.cpu_count() or 1))


def page_count(pdf: bytes) -> int:
    with pikepdf.open(io.BytesIO(pdf)) as document:
        return len(document.pages)


def overlay(
    frame_pdf: bytes, sections: list[tuple[int, bytes]], *, stamp: bytes | None = None, created: datetime | None = None
) -> bytes:
    """Draw each section's pages over the frame's pages from its start index (0-based).

    The frame carries what must know the whole document: page X of Y, the running header,
    the watermark, the bookmarks, the agenda's page numbers and the metadata. Sections carry
    only their body, so they stay valid whatever comes before or after them. `stamp`, a
    one-page PDF, is drawn over every page (one shared form, with its own embedded font
    subset); `created` replaces the creation date a cached frame was rendered with.
    """
    with pikepdf.open(io.BytesIO(frame_pdf)) as frame:
        # qpdf copies a foreign page's streams when the result is saved: keep the sources open till then.
        opened = []
        for start, pdf in sections:
            section = pikepdf.open(io.BytesIO(pdf))
            opened.append(section)
            for offset, page in enumerate(section.pages):
                frame.pages[start + offset].add_overlay(page)
        if stamp is not None:
            source = pikepdf.open(io.BytesIO(stamp))
            opened.append(source)
            form = frame.copy_foreign(source.pages[0].as_form_xobject())
            for page in frame.pages:
                page.add_overlay(form)
        if created is not None:
            _set_created(frame, created)
        out = io.BytesIO()
        frame.save(out)
        for source in opened:
            source.close()
        return out.getvalue()


def _set_created(pdf: pikepdf.Pdf, when: datetime) -> None:
    # PDF/A wants the XMP packet and the document information to agree: change both together.
    if "/Metadata" in pdf.Root:
        with pdf.open_metadata(set_pikepdf_as_editor=False) as meta:
            meta["xmp:CreateDate"] = when.isoformat(timespec="seconds")
    else:
        pdf.docinfo["/CreationDate"] = encode_pdf_date(when)
