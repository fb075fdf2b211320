"""The quarterly board report: the analytics page's charts and tables on paper, for an accreditation file.

    render_board_report(user=…, board_id=…, period=…, pdfa=False) -> RenderedPdf

Like the other documents it only reads (the caller records the audit event) and fetches nothing but
its own stylesheets. The charts are the same SVG as on screen (cases/analytics/charts.py).
"""

import functools

from django.template.loader import render_to_string
from django.templatetags.static import static
from django.utils import timezone
from django.utils.text import slugify

from ..analytics import charts, metrics
from . import engine
from .cache import cache_get, cache_put
from .documents import (
    _CREATED,
    _PRINTED,
    PDFA_VARIANT,
    RenderedPdf,
    _doc,
    _fingerprint,
    _options,
    _resources,
    _stamp,
    render_limited,
)

REGISTER_LIMIT = 200
STYLESHEETS = ("printing/print.css", "printing/chrome.css", "printing/stamp.css", "printing/board_report.css")


def render_board_report(*, user, board_id, period: metrics.Period, pdfa: bool = False) -> RenderedPdf:
    report = metrics.board_report_for_user(user=user, board_id=board_id, period=period)
    board, now = report.board, timezone.now()
    doc = _doc(
        title=f"{board.name} — board quality report, {period.label}",
        author=board.name,
        running_title=f"Board quality report · {period.label}",
        running_patient="",
    )
    values = {
        "doc": doc,
        "report": report,
        "tables": [(table, charts.bar_chart(table, chart_id=f"pdf-{table.key}")) for table in report.tables],
        "stylesheets": [static(name) for name in STYLESHEETS],
        # The register on paper names cases by number only: an accreditation file needs no patient's name.
        "register": list(metrics.discordance_register(board=board, period=period)[:REGISTER_LIMIT]),
        "register_limit": REGISTER_LIMIT,
    }
    html = render_to_string("printing/board_report.html", values)
    fingerprint = _fingerprint("board-report", f"pdfa={pdfa}", html.replace(_PRINTED, "").replace(_CREATED, ""))
    filename = f"{slugify(board.name)}-report-{period.start}-{period.end}{'-pdfa' if pdfa else ''}.pdf"
    result = functools.partial(RenderedPdf, filename=filename, fingerprint=fingerprint, subject=board)
    flags = {"pdfa": pdfa, "from": period.start.isoformat(), "to": period.end.isoformat()}
    cached = cache_get(f"board-report-{fingerprint}")
    if cached is not None:
        return result(content=cached, from_cache=True, options=_options(fingerprint, True, **flags))
    job = engine.Job(
        key="board-report",
        html=_stamp(html, fingerprint=fingerprint, when=now),
        resources=_resources(values["stylesheets"]),
        pdf_variant=PDFA_VARIANT if pdfa else None,
    )
    content = render_limited([job], names={"board-report": "The board report"})["board-report"]
    cache_put(f"board-report-{fingerprint}", content)
    return result(content=content, from_cache=False, options=_options(fingerprint, False, **flags))
