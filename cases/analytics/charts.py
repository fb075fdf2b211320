"""Server-rendered SVG bar charts, for the portal and the paper alike.

They obey the portal's Content Security Policy: no `style` attribute, no script, no external reference.
The look comes from classes (static/css/app.css on screen) and from SVG presentation attributes (fill,
font-size), which WeasyPrint reads on paper. Every text is escaped; the chart is an image with a title
and the same numbers stand in the table beside it.
"""

from django.utils.html import escape, format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from .metrics import DAYS, SHARE, Table

WIDTH, LABEL_WIDTH, VALUE_WIDTH = 600, 280, 90
LABEL_CHARS = 40  # about what fits the label column at 12 px; the table beside the chart has the full label
ROW, BAR, TOP = 26, 16, 6
INK, BAR_FILL, TRACK_FILL = "#1b2430", "#1a5a85", "#e4eef6"


def _scale(table: Table) -> float:
    """Shares fill the track at 100 %; durations and counts at the largest value shown (at least 1)."""
    if table.chart_unit == SHARE:
        return 1.0
    return max([figure.value or 0 for figure in table.charted] + [1.0])


def _short(label: str) -> str:
    return label if len(label) <= LABEL_CHARS else label[: LABEL_CHARS - 1].rstrip() + "…"


def _row(index: int, figure, scale: float) -> SafeString:
    y = TOP + index * ROW
    track = WIDTH - LABEL_WIDTH - VALUE_WIDTH
    width = 0 if figure.value is None else round(track * min(figure.value / scale, 1.0), 1)
    return format_html(
        '<g class="chart-row">'
        '<text class="chart-label" x="{}" y="{}" text-anchor="end" font-size="12" fill="{}">{}</text>'
        '<rect class="chart-track" x="{}" y="{}" width="{}" height="{}" fill="{}"/>'
        '<rect class="chart-bar" x="{}" y="{}" width="{}" height="{}" fill="{}"/>'
        '<text class="chart-value" x="{}" y="{}" font-size="12" fill="{}">{}</text>'
        "</g>",
        LABEL_WIDTH - 8,
        y + BAR - 4,
        INK,
        _short(figure.label),
        LABEL_WIDTH,
        y,
        track,
        BAR,
        TRACK_FILL,
        LABEL_WIDTH,
        y,
        width,
        BAR,
        BAR_FILL,
        LABEL_WIDTH + track + 6,
        y + BAR - 4,
        INK,
        figure.shown if figure.value is not None else "no data",
    )


def bar_chart(table: Table, *, chart_id: str = "") -> SafeString:
    """One horizontal bar per charted figure of the table, labelled with its value."""
    figures = table.charted
    chart_id = chart_id or f"chart-{table.key}"
    height = TOP * 2 + ROW * max(len(figures), 1)
    scale = _scale(table)
    unit = "share of the denominator" if table.chart_unit == SHARE else table.chart_unit
    rows = format_html_join("", "{}", ((_row(i, figure, scale),) for i, figure in enumerate(figures)))
    if not figures:
        rows = format_html(
            '<text class="chart-label" x="8" y="{}" font-size="12" fill="{}">Nothing to draw.</text>', TOP + 12, INK
        )
    return format_html(
        '<svg xmlns="http://www.w3.org/2000/svg" class="chart chart-{}" viewBox="0 0 {} {}" width="{}" height="{}" '
        'role="img" aria-labelledby="{}-title">'
        '<title id="{}-title">{} ({}; the table beside it has the numbers)</title>{}</svg>',
        table.chart_unit if table.chart_unit in (SHARE, DAYS) else "count",
        WIDTH,
        height,
        WIDTH,
        height,
        chart_id,
        chart_id,
        table.title,
        unit,
        rows,
    )


def safe_text(value) -> SafeString:
    return mark_safe(escape(value))
