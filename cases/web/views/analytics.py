"""Board analytics for coordinators, chairs and auditors: the figures with their charts, CSV, the discordance
register and the quarterly report (thin: parse the period, call cases/analytics/, audit, render)."""

import csv
import re
from datetime import timedelta
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET

from ... import permissions
from ...analytics import charts, metrics
from ...printing.board_report import render_board_report
from ...printing.documents import http_response
from ...services.analytics import analytics_read_record, board_report_print_record

REGISTER_PAGE = 50


def _period(request):
    """(period, error): the request's period, or the current quarter with the reason it was not read."""
    try:
        return metrics.parse_period(request.GET.get("from"), request.GET.get("to")), ""
    except metrics.PeriodError as error:
        return metrics.current_quarter(), error.message


def _strict_period(request):
    """(period, None), or (None, the 400 answer): a download takes no default period."""
    try:
        return metrics.parse_period(request.GET.get("from"), request.GET.get("to")), None
    except metrics.PeriodError as error:
        return None, HttpResponse(error.message, status=400, content_type="text/plain; charset=utf-8")


def _query(period) -> str:
    return urlencode({"from": period.start.isoformat(), "to": period.end.isoformat()})


def _quarters(today) -> list[tuple[str, metrics.Period]]:
    current = metrics.current_quarter(today)
    previous = metrics.current_quarter(current.start - timedelta(days=1))
    return [("This quarter", current), ("Last quarter", previous)]


@login_required
@require_GET
def analytics_home(request):
    """The filter form's target: the chosen board's page for the chosen period (the first board by default)."""
    boards = list(permissions.analytics_boards(request.user).order_by("name"))
    chosen = request.GET.get("board", "")
    board = next((b for b in boards if str(b.pk) == chosen), boards[0] if boards and not chosen else None)
    if board is None:
        raise Http404("Not found.")
    query = {key: request.GET[key] for key in ("from", "to") if request.GET.get(key)}
    return redirect(reverse("board-analytics", args=[board.pk]) + (f"?{urlencode(query)}" if query else ""))


@login_required
@require_GET
def board_analytics(request, pk):
    board = permissions.get_analytics_board_for_user(request.user, pk)
    period, error = _period(request)
    report = metrics.board_report(board=board, period=period)
    analytics_read_record(by=request.user, board=board, period=period, view="page")
    context = {
        "board": board,
        "boards": permissions.analytics_boards(request.user).order_by("name"),
        "report": report,
        **_period_context(period, error),
        "quarters": [(label, q, _query(q)) for label, q in _quarters(timezone.localdate())],
        "tables": [(table, charts.bar_chart(table)) for table in report.tables],
    }
    return render(request, "analytics/board_analytics.html", context, status=400 if error else 200)


def _period_context(period, error: str) -> dict:
    return {"period": period, "error": error, "query": _query(period)}


def _csv_cell(value) -> str:
    text = "" if value is None else str(value)
    # A cell a spreadsheet would run as a formula is made inert (OWASP CSV injection).
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _csv(filename: str, header: list[str], rows) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    writer = csv.writer(response)
    writer.writerow(header)
    for row in rows:
        writer.writerow([_csv_cell(value) for value in row])
    return response


@login_required
@require_GET
def board_analytics_csv(request, pk, table):
    board = permissions.get_analytics_board_for_user(request.user, pk)
    period, refused = _strict_period(request)
    if refused:
        return refused
    report = metrics.board_report(board=board, period=period)
    found = next((t for t in report.tables if t.key == table), None)
    if found is None:
        raise Http404("No such table.")
    analytics_read_record(by=request.user, board=board, period=period, view=f"csv:{table}")
    filename = f"board-{board.pk}-{table}-{period.start}-{period.end}.csv"
    return _csv(filename, ["figure", "label", "unit", "numerator", "denominator", "value"], _figure_rows(found))


def _figure_rows(table):
    for f in table.figures:
        yield [f.key, f.label, f.unit, f.numerator, f.denominator, "" if f.value is None else round(f.value, 4)]


@login_required
@require_GET
def discordance_register(request, pk):
    board = permissions.get_analytics_board_for_user(request.user, pk)
    period, error = _period(request)
    number = request.GET.get("page", "1")
    if not re.fullmatch(r"[0-9]{1,6}", number):
        number, error = "1", error or "The page must be a number, e.g. 2."
    rows = metrics.discordance_register(board=board, period=period)
    if request.GET.get("format") == "csv" and not error:
        return _register_csv(request, board, period, list(rows))
    page = Paginator(rows, REGISTER_PAGE).get_page(number)
    analytics_read_record(
        by=request.user, board=board, period=period, view="register", query=request.GET, rows=page.object_list
    )
    context = {"board": board, **_period_context(period, error), "page": page}
    return render(request, "analytics/discordance_register.html", context, status=400 if error else 200)


REGISTER_COLUMNS = [
    "amended_on",
    "case",
    "mrn",
    "patient",
    "original",
    "amended",
    "class",
    "reason",
    "decided_on_original",
]


def _register_csv(request, board, period, rows) -> HttpResponse:
    analytics_read_record(
        by=request.user, board=board, period=period, view="register:csv", query=request.GET, rows=rows
    )
    filename = f"board-{board.pk}-discordance-{period.start}-{period.end}.csv"
    return _csv(filename, REGISTER_COLUMNS, (_register_row(r) for r in rows))


def _register_row(r) -> list:
    return [
        timezone.localtime(r.created_at).date().isoformat(),
        r.case_id,
        r.case.patient.mrn,
        r.case.patient.full_name,
        r.supersedes.diagnosis,
        r.diagnosis,
        r.discrepancy,
        r.amendment_reason,
        "yes" if r.decided_on_original else "no",
    ]


@login_required
@require_GET
def board_report_pdf(request, pk):
    period, refused = _strict_period(request)
    if refused:
        return refused
    pdf = render_board_report(user=request.user, board_id=pk, period=period)
    board_report_print_record(board=pdf.subject, by=request.user, options=pdf.options)
    return http_response(pdf)
