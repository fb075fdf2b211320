"""WeasyPrint, and putting separately rendered sections together. No Django here.

Worker processes import this module alone, so it must not import Django or our models.
"""

import hashlib
import io
import logging
import multiprocessing
import multiprocessing.connection
import os
import re
import resource
import signal
import threading
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import datetime
from html import unescape
from multiprocessing import get_context
from urllib.parse import urljoin

import pikepdf
from pikepdf.models.metadata import encode_pdf_date
from weasyprint import CSS, HTML, Attachment
from weasyprint.text.fonts import FontConfiguration

from .fetcher import ORIGIN, AppURLFetcher, Loader, RefusedResource

logger = logging.getLogger(__name__)

_font_config: FontConfiguration | None = None
# Stylesheets parsed in this process, by URL and content: see _stylesheets_parsed_once.
_parsed_stylesheets: dict[tuple[str, bytes], CSS] = {}
STYLESHEET_LINK = re.compile(r'<link rel="stylesheet" href="([^"<>]+)">')
# One pool per shape (worker count, limits): a server uses one; a benchmark comparing shapes keeps each warm.
_pools: dict[tuple[int, "Limits | None"], ProcessPoolExecutor] = {}


@dataclass(frozen=True)
class Limits:
    """What one document may cost its worker process: wall-clock seconds and address space in bytes."""

    seconds: float
    memory_bytes: int


class LimitExceeded(Exception):
    """A document went past the print limits ("time", "memory", or the worker "stopped"); its worker was
    stopped or replaced, the caller says why."""

    def __init__(self, key: str, what: str):
        super().__init__(key, what)
        self.key, self.what = key, what


@dataclass(frozen=True)
class Job:
    """One HTML document to render; `resources` holds every static or media file it may fetch."""

    key: str
    html: str
    resources: dict[str, bytes]
    pdf_variant: str | None = None
    attachments: tuple["Embedded", ...] = ()


@dataclass(frozen=True)
class Embedded:
    """A file carried inside the PDF as an associated file (PDF/A-3 `AF`), e.g. the case's FHIR Bundle."""

    name: str
    content: bytes
    mime_type: str
    description: str
    relationship: str = "Data"
    when: datetime | None = None


def font_config() -> FontConfiguration:
    # One per process: reusing it across documents saves time and a third of the memory.
    global _font_config
    if _font_config is None:
        _font_config = FontConfiguration()
    return _font_config


def render(
    html: str, *, fetcher: AppURLFetcher, pdf_variant: str | None = None, image_cache=None, attachments=()
) -> bytes:
    return render_with_anchors(
        html, fetcher=fetcher, pdf_variant=pdf_variant, image_cache=image_cache, attachments=attachments
    )[0]


def render_with_anchors(
    html: str, *, fetcher: AppURLFetcher, pdf_variant: str | None = None, image_cache=None, attachments=()
) -> tuple[bytes, dict[str, int]]:
    """The PDF, and the page index (0-based) where each element with an id starts."""
    html, stylesheets = _stylesheets_parsed_once(html, fetcher)
    document = HTML(string=html, base_url=ORIGIN, url_fetcher=fetcher).render(
        font_config=font_config(),
        presentational_hints=False,
        cache=image_cache if image_cache is not None else {},
        stylesheets=stylesheets,
    )
    anchors = {}
    for index, page in enumerate(document.pages):
        for name in page.anchors:
            anchors.setdefault(name, index)
    files = [
        Attachment(
            string=item.content,
            name=item.name,
            description=item.description,
            relationship=item.relationship,
            created=item.when,
            modified=item.when,
        )
        for item in attachments
    ]
    pdf = document.write_pdf(pdf_variant=pdf_variant, attachments=files or None)
    return (_set_attachment_types(pdf, attachments) if attachments else pdf), anchors


def _set_attachment_types(pdf: bytes, attachments) -> bytes:
    """WeasyPrint guesses an embedded file's MIME type from its name; say it (application/fhir+json)."""
    types = {item.name: item.mime_type for item in attachments}
    with pikepdf.open(io.BytesIO(pdf)) as document:
        # WeasyPrint lists each file in AF twice (from the name tree and from the file specs): once is enough.
        unique = {spec.objgen: spec for spec in document.Root.get("/AF", [])}
        if unique:
            document.Root.AF = pikepdf.Array(list(unique.values()))
        for spec in unique.values():
            mime = types.get(str(spec.get("/UF", "")))
            if mime:
                spec.EF.F.Subtype = pikepdf.Name("/" + mime)
        out = io.BytesIO()
        document.save(out)
        return out.getvalue()


class _Collect(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record):
        self.messages.append(record.getMessage()[:500])


def _stylesheets_parsed_once(html: str, fetcher: AppURLFetcher) -> tuple[str, list[CSS]]:
    """The document without its stylesheet links, and those stylesheets, parsed once per process and kept by URL
    and content. A packet is some thirty small documents (one per case, for the section cache), and parsing
    print.css again for each was about an eighth of their time.

    Handed to WeasyPrint as "user" stylesheets, in their order: our documents hold no style of their own (no
    <style>, no style attribute reaches them), so nothing of the author's origin is left to rank against, and
    they outrank the user agent's as they did when linked. A link the fetcher refuses is left in place, to be
    refused and reported as before.
    """
    stylesheets: list[CSS] = []

    def take(match: re.Match) -> str:
        url = urljoin(ORIGIN, unescape(match[1]))
        content = fetcher.resources.get(url)
        if content is None:
            if fetcher.loader is None:
                return match[0]
            try:
                content = fetcher.fetch(url).read()
            except RefusedResource:
                return match[0]
        key = (url, hashlib.sha256(content).digest())
        if key not in _parsed_stylesheets:
            _parsed_stylesheets[key] = CSS(
                string=content.decode(), base_url=url, url_fetcher=fetcher, font_config=font_config()
            )
        stylesheets.append(_parsed_stylesheets[key])
        return ""

    return STYLESHEET_LINK.sub(take, html), stylesheets


def render_job(job: Job, seconds: float | None = None) -> tuple[str, bytes, list[str]]:
    """Render in a worker process: only the resources handed over can be fetched. WeasyPrint's
    warnings (a missing font, a refused resource) are handed back: a worker's log goes nowhere.

    With `seconds`, a timer interrupts a layout that runs longer (the parent's own deadline backs it up
    for a C call that never returns to Python); a MemoryError under the worker's address-space limit is
    reported the same way.
    """
    collect, weasy = _Collect(), logging.getLogger("weasyprint")
    weasy.addHandler(collect)
    if seconds:
        signal.signal(signal.SIGALRM, _out_of_time)
        signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        pdf = render(
            job.html,
            fetcher=AppURLFetcher(resources=dict(job.resources)),
            pdf_variant=job.pdf_variant,
            attachments=job.attachments,
        )
    except _OutOfTime:
        raise LimitExceeded(job.key, "time") from None
    except MemoryError:
        raise LimitExceeded(job.key, "memory") from None
    finally:
        if seconds:
            signal.setitimer(signal.ITIMER_REAL, 0)
        weasy.removeHandler(collect)
    return job.key, pdf, collect.messages


class _OutOfTime(BaseException):
    # BaseException: no `except Exception` inside WeasyPrint can swallow it.
    pass


def _out_of_time(signum, frame):
    raise _OutOfTime()


def render_jobs(
    jobs: list[Job],
    *,
    workers: int,
    limits: Limits | None = None,
    loader: Loader | None = None,
    on_done: Callable[[int], None] | None = None,
) -> dict[str, bytes]:
    """Render each job: in worker processes when limits are set (what users print) or when there is more than
    one job and worker; in this process otherwise (a benchmark's floor, a trusted one-off).

    `on_done(n)` is told after each document how many are rendered so far (a background job's progress).
    Past a limit, LimitExceeded names the document; the web or job process itself is never at risk.
    """
    if limits is not None or (workers > 1 and len(jobs) > 1):
        return _render_in_workers(jobs, workers=max(1, workers), limits=limits, on_done=on_done)
    results = {}
    fetcher, image_cache = AppURLFetcher(loader=loader), {}
    for job in jobs:
        fetcher.resources.update(job.resources)
        results[job.key] = render(
            job.html,
            fetcher=fetcher,
            pdf_variant=job.pdf_variant,
            image_cache=image_cache,
            attachments=job.attachments,
        )
        if on_done:
            on_done(len(results))
    return results


def _render_in_workers(
    jobs: list[Job], *, workers: int, limits: Limits | None, on_done: Callable[[int], None] | None
) -> dict[str, bytes]:
    pool = worker_pool(workers, limits)
    seconds = limits.seconds if limits else None
    pending = {pool.submit(render_job, job, seconds): job.key for job in jobs}
    results = {}
    try:
        while pending:
            done, _ = wait(pending, timeout=_backstop(seconds, len(pending), workers), return_when=FIRST_COMPLETED)
            if not done:  # stuck where the worker's own timer cannot reach it
                raise LimitExceeded(next(iter(pending.values())), "time")
            for future in done:
                key = pending.pop(future)
                try:
                    key, pdf, warnings = future.result()
                except BrokenProcessPool:
                    # The worker died: most often under its memory limit (a C library aborting, not raising).
                    raise LimitExceeded(key, "stopped") from None
                for warning in warnings:
                    logger.warning("print worker (%s): %s", key, warning)
                results[key] = pdf
                if on_done:
                    on_done(len(results))
    except LimitExceeded:
        stop_pool(workers, limits)  # another worker may still be busy past its limit; the next print starts afresh
        raise
    return results


def _backstop(seconds: float | None, pending: int, workers: int) -> float | None:
    """How long the parent waits for the next document: every pending one its full time, as many at once as
    there are workers, and a margin for starting them. None: no limit."""
    return None if seconds is None else seconds * (pending / workers + 1) + 10


def worker_pool(workers: int, limits: Limits | None = None) -> ProcessPoolExecutor:
    # forkserver: workers start from a clean single-threaded process that has imported only
    # WeasyPrint and this module, never from a web process holding threads and database sockets.
    shape = (workers, limits)
    if shape not in _pools:
        context = get_context("forkserver")
        context.set_forkserver_preload([__name__])
        memory = limits.memory_bytes if limits else 0
        _pools[shape] = ProcessPoolExecutor(
            max_workers=workers, mp_context=context, initializer=_start_worker, initargs=(memory,)
        )
    return _pools[shape]


def stop_pool(workers: int, limits: Limits | None = None) -> None:
    """Kill the pool's workers (one may be stuck past its limit) and forget it; the next print starts afresh."""
    pool = _pools.pop((workers, limits), None)
    if pool is None:
        return
    for process in list((pool._processes or {}).values()):
        process.kill()
    pool.shutdown(wait=False, cancel_futures=True)


def _start_worker(memory_bytes: int) -> None:
    """In each worker: its address-space limit, and an end together with the process that started it."""
    if memory_bytes:
        resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    _exit_with_parent()


def _exit_with_parent() -> None:
    """A worker must not outlive the process that started it (the web server, a job worker).

    The forkserver cannot see that process go: every worker holds the forkserver's liveness pipe open, so
    neither would ever exit on their own. Each worker has its own pipe from its parent, though, whose end
    of file is the parent's exit: a thread waits for it.
    """
    parent = multiprocessing.parent_process()
    if parent is not None:
        threading.Thread(target=_wait_for_exit, args=(parent.sentinel,), daemon=True, name="exit-with-parent").start()


def _wait_for_exit(sentinel: int) -> None:
    multiprocessing.connection.wait([sentinel])
    os._exit(0)


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
        retag_font_subsets(frame)
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


# Fonts --------------------------------------------------------------------------------------

_SUBSET = re.compile(r"^/?([A-Z]{6})\+(.+)$")


def _font_program(descriptor) -> bytes:
    for key in ("/FontFile2", "/FontFile3", "/FontFile"):
        if key in descriptor:
            return descriptor[key].read_raw_bytes()
    return b""


def _tag(program: bytes) -> str:
    digest = hashlib.sha256(program).digest()
    return "".join(chr(ord("A") + byte % 26) for byte in digest[:6])


def retag_font_subsets(pdf: pikepdf.Pdf) -> int:
    """Name every embedded font subset after its own program (ABCDEF+Name).

    Sections rendered separately each start WeasyPrint's subset tags afresh, so once assembled two
    different subsets could share one tag, which PDF/A forbids. A tag derived from the subset's
    bytes is the same only for the same subset. Returns how many fonts were renamed.
    """
    renamed = 0
    for obj in pdf.objects:
        if not isinstance(obj, pikepdf.Dictionary) or obj.get("/Type") != "/Font" or "/BaseFont" not in obj:
            continue
        target = obj.DescendantFonts[0] if "/DescendantFonts" in obj else obj
        descriptor = target.get("/FontDescriptor")
        match = _SUBSET.match(str(obj.BaseFont))
        if descriptor is None or match is None:
            continue
        name = pikepdf.Name(f"/{_tag(_font_program(descriptor))}+{match.group(2)}")
        if name != obj.BaseFont:
            obj.BaseFont = target.BaseFont = descriptor.FontName = name
            renamed += 1
    return renamed


def missing_glyphs(pdf: bytes) -> list[str]:
    """Characters the PDF draws with no glyph (the .notdef box): a code past the embedded subset's
    glyphs, or a glyph without an outline, where the ToUnicode map says a character was meant."""
    from fontTools.ttLib import TTFont  # WeasyPrint's own dependency; only read when checking

    missing = set()
    with pikepdf.open(io.BytesIO(pdf)) as document:
        for obj in document.objects:
            if not isinstance(obj, pikepdf.Dictionary) or obj.get("/Subtype") != "/Type0" or "/ToUnicode" not in obj:
                continue
            descriptor = obj.DescendantFonts[0].get("/FontDescriptor")
            if descriptor is None or "/FontFile2" not in descriptor:
                continue
            program = TTFont(io.BytesIO(descriptor.FontFile2.read_bytes()))
            order = program.getGlyphOrder()
            glyf = program.get("glyf")
            cmap = obj.ToUnicode.read_bytes().decode("latin-1")
            for code, text in re.findall(r"<([0-9a-fA-F]{4})>\s*<([0-9a-fA-F]+)>", cmap):
                char = bytes.fromhex(text).decode("utf-16-be", "replace")
                gid = int(code, 16)
                drawn = gid < len(order) and (glyf is None or glyf[order[gid]].numberOfContours != 0)
                if not drawn and not char.isspace() and char != "\uffff":
                    missing.add(char)
    return sorted(missing)
