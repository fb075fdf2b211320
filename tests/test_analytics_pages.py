"""Board analytics on screen, in CSV, on paper and over the API: who may read it, what it shows, what it costs."""

import csv
import io
import re

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from pypdf import PdfReader

from cases import models as m
from cases.analytics import charts, metrics
from cases.analytics.metrics import Period
from tests import factories as f
from tests.analytics_world import Q1, build_quarter
from tests.conftest import pdf_pages_text
from tests.test_analytics import build_quarter_copy

QUERY = {"from": Q1[0].isoformat(), "to": Q1[1].isoformat()}


@pytest.fixture
def quarter(db):
    return build_quarter()


@pytest.fixture
def auditor(db):
    user = f.UserFactory(username="auditor", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_auditevent"))
    return user


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def page_url(quarter) -> str:
    return reverse("board-analytics", args=[quarter.board.pk])


@pytest.mark.parametrize("role", ["coordinator", "chair"])
def test_coordinators_and_chairs_read_their_boards_analytics(quarter, role):
    response = client_for(quarter.users[role]).get(page_url(quarter), QUERY)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Listings deferred" in html and "28.6 %" in html  # 2 of 7
    assert "Meetings that failed quorum" in html and "50.0 %" in html
    assert html.count("<svg") == 7


def test_other_members_outsiders_and_strangers_get_not_found(quarter, radiologist, outsider):
    for user in (quarter.users["radiologist"], outsider, radiologist):
        client = client_for(user)
        for url in (
            page_url(quarter),
            reverse("board-analytics-csv", args=[quarter.board.pk, "meetings"]),
            reverse("board-discordance", args=[quarter.board.pk]),
            reverse("board-report-pdf", args=[quarter.board.pk]),
            f"/api/v1/boards/{quarter.board.pk}/metrics/",
        ):
            assert client.get(url).status_code == 404, (user, url)
    assert client_for(quarter.users["radiologist"]).get(reverse("analytics-home")).status_code == 404


def test_an_auditor_reads_every_boards_analytics(quarter, auditor, other_board):
    client = client_for(auditor)
    assert client.get(page_url(quarter), QUERY).status_code == 200
    assert client.get(reverse("board-analytics", args=[other_board.pk])).status_code == 200


def test_the_board_and_period_filters(quarter):
    client = client_for(quarter.users["coordinator"])
    response = client.get(reverse("analytics-home"), {"board": quarter.board.pk, **QUERY})
    assert response.status_code == 302 and response["Location"] == page_url(quarter) + "?from=2026-01-01&to=2026-03-31"
    assert client.get(reverse("analytics-home"), {"board": "99999"}).status_code == 404
    refused = client.get(page_url(quarter), {"from": "2026-13-01"})
    assert refused.status_code == 400
    assert "&#x27;from&#x27; must be a date written YYYY-MM-DD" in refused.content.decode()
    backwards = client.get(page_url(quarter), {"from": "2026-03-01", "to": "2026-01-01"})
    assert backwards.status_code == 400 and "must be on or after" in backwards.content.decode()


def test_charts_respect_the_content_security_policy(quarter):
    response = client_for(quarter.users["chair"]).get(page_url(quarter), QUERY)
    html = response.content.decode()
    assert "script-src" in response.headers.get("Content-Security-Policy", "") or response.headers.get(
        "Content-Security-Policy-Report-Only"
    )
    svgs = re.findall(r"<svg.*?</svg>", html, flags=re.S)
    assert len(svgs) == 7
    for svg in svgs:
        assert " style=" not in svg and "<script" not in svg and "href" not in svg
        assert not re.search(r"\son[a-z]+=", svg)
        assert 'role="img"' in svg and "<title" in svg
    assert " style=" not in html


def test_a_tables_csv_has_every_figure_with_numerator_and_denominator(quarter):
    client = client_for(quarter.users["coordinator"])
    response = client.get(reverse("board-analytics-csv", args=[quarter.board.pk, "meetings"]), QUERY)
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == ["figure", "label", "unit", "numerator", "denominator", "value"]
    assert ["deferral_rate", "Listings deferred", "share", "2", "7", "0.2857"] in rows
    assert client.get(reverse("board-analytics-csv", args=[quarter.board.pk, "nonsense"]), QUERY).status_code == 404
    assert (
        client.get(reverse("board-analytics-csv", args=[quarter.board.pk, "meetings"]), {"to": "x"}).status_code == 400
    )


# One row per table worked out by hand (tests/test_analytics.py); a median has no numerator.
CSV_ROWS = {
    "time_to_decision": ["all_p90", "All cases: 90th percentile", "days", "", "3", "59.8"],
    "meetings": ["cases_per_meeting", "Cases listed per meeting", "per meeting", "8", "3", "2.6667"],
    "attendance": ["pathology", "Pathology", "share", "1", "2", "0.5"],
    "pathology": ["amended_major", "… major discrepancy", "share", "2", "4", "0.5"],
    "implementation": ["done_within_180", "Done within 180 days of signing", "share", "4", "5", "0.8"],
    "deviations": ["patient_choice", "Patient's choice", "share", "1", "1", "1.0"],
    "decision_quality": ["curative", "Curative intent", "share", "2", "3", "0.6667"],
}


def test_every_tables_csv_holds_each_of_its_figures(quarter):
    client = client_for(quarter.users["coordinator"])
    report = metrics.board_report(board=quarter.board, period=Period(*Q1))
    assert sorted(CSV_ROWS) == sorted(table.key for table in report.tables)
    for table in report.tables:
        response = client.get(reverse("board-analytics-csv", args=[quarter.board.pk, table.key]), QUERY)
        assert response.status_code == 200 and response["Content-Type"].startswith("text/csv"), table.key
        assert response["Content-Disposition"] == (
            f'attachment; filename="board-{quarter.board.pk}-{table.key}-2026-01-01-2026-03-31.csv"'
        )
        rows = list(csv.reader(io.StringIO(response.content.decode())))
        assert rows[0] == ["figure", "label", "unit", "numerator", "denominator", "value"]
        cell = lambda value: "" if value is None else str(value)  # noqa: E731 - as the CSV writes it
        expected = [(fig.key, cell(fig.numerator), cell(fig.denominator)) for fig in table.figures]
        assert [(row[0], row[3], row[4]) for row in rows[1:]] == expected, table.key
        assert CSV_ROWS[table.key] in rows, table.key


def test_reading_analytics_is_audited(quarter):
    client = client_for(quarter.users["coordinator"])
    client.get(page_url(quarter), QUERY)
    client.get(reverse("board-analytics-csv", args=[quarter.board.pk, "pathology"]), QUERY)
    client.get(reverse("board-discordance", args=[quarter.board.pk]), QUERY)
    events = list(m.AuditEvent.objects.filter(action="analytics.view").order_by("sequence"))
    assert [e.changes["view"] for e in events] == ["page", "csv:pathology", "register"]
    assert all(e.object_type == "board" and e.object_id == str(quarter.board.pk) for e in events)
    assert events[0].changes["from"] == "2026-01-01" and events[0].actor_username == "q-coordinator"
    assert events[2].changes["case_ids"] == sorted([quarter.cases["A"].pk, quarter.cases["C"].pk])


def test_the_discordance_register_lists_each_amendment_and_exports_it(quarter):
    client = client_for(quarter.users["chair"])
    url = reverse("board-discordance", args=[quarter.board.pk])
    html = client.get(url, QUERY).content.decode()
    assert "2 amendments" in html and "Yes — signed on the superseded report" in html
    assert quarter.cases["C"].patient.mrn in html
    rows = list(csv.reader(io.StringIO(client.get(url, {**QUERY, "format": "csv"}).content.decode())))
    assert [row[6] for row in rows[1:]] == ["minor", "major"] and rows[1][8] == "yes"


def queries(client, url, params) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url, params).status_code == 200
    return len(captured)


@pytest.mark.parametrize(
    "url",
    [
        lambda q: reverse("board-analytics", args=[q.board.pk]),
        lambda q: f"/api/v1/boards/{q.board.pk}/metrics/",
        lambda q: reverse("board-discordance", args=[q.board.pk]),
        lambda q: reverse("board-analytics-csv", args=[q.board.pk, "implementation"]),
    ],
    ids=["page", "api", "register", "csv"],
)
def test_analytics_cost_the_same_queries_for_few_rows_or_many(quarter, url, django_assert_num_queries):
    client = client_for(quarter.users["coordinator"])
    few = queries(client, url(quarter), QUERY)
    for _ in range(4):
        build_quarter_copy(quarter)
    assert queries(client, url(quarter), QUERY) == few
    with django_assert_num_queries(few):
        client.get(url(quarter), QUERY)


# API ------------------------------------------------------------------------------------------


def test_the_api_gives_each_figure_with_numerator_and_denominator(api, quarter):
    response = api(quarter.users["chair"]).get(f"/api/v1/boards/{quarter.board.pk}/metrics/", QUERY)
    assert response.status_code == 200
    data = response.json()
    assert (data["from"], data["to"], data["board"]["id"]) == ("2026-01-01", "2026-03-31", quarter.board.pk)
    tables = {table["key"]: {fig["key"]: fig for fig in table["figures"]} for table in data["tables"]}
    assert tables["meetings"]["deferral_rate"] == {
        "key": "deferral_rate",
        "label": "Listings deferred",
        "unit": "share",
        "numerator": 2,
        "denominator": 7,
        "value": 0.2857,
    }
    assert tables["time_to_decision"]["all_p90"]["value"] == 59.8
    assert tables["implementation"]["done_within_180"]["numerator"] >= 0
    assert m.AuditEvent.objects.filter(action="analytics.view", changes__view="api").count() == 1


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"from": "01/02/2026"}, "from", "'from' must be a date written YYYY-MM-DD, e.g. 2026-01-01."),
        ({"to": "2026-02-30"}, "to", "'to' must be a date written YYYY-MM-DD, e.g. 2026-01-01."),
        ({"from": "0001-01-01"}, "from", "'from' must lie between 1900 and 2199."),
        ({"from": "2026-03-01", "to": "2026-02-01"}, "to", "'to' must be on or after 'from'."),
    ],
)
def test_the_api_refuses_bad_dates_with_a_clear_message(api, quarter, params, field, message):
    response = api(quarter.users["coordinator"]).get(f"/api/v1/boards/{quarter.board.pk}/metrics/", params)
    assert response.status_code == 400 and response.json() == {field: [message]}
    assert not m.AuditEvent.objects.filter(action="analytics.view").exists()


def test_the_api_hides_another_boards_metrics(api, quarter, outsider, other_board):
    assert api(outsider).get(f"/api/v1/boards/{quarter.board.pk}/metrics/").status_code == 404
    assert api(quarter.users["chair"]).get(f"/api/v1/boards/{other_board.pk}/metrics/").status_code == 404
    assert api(outsider).get(f"/api/v1/boards/{other_board.pk}/metrics/").status_code == 200


# Paper ----------------------------------------------------------------------------------------


def chart_bars(content: bytes) -> tuple[int, list[float]]:
    """The charts as drawn on paper (vector operators of every page): how many tracks, and each bar's width
    (a bar of width 0 sets its colour and draws no rectangle)."""
    track_fill, bar_fill = (
        " ".join(f"{int(colour[i : i + 2], 16) / 255:.6f}" for i in (1, 3, 5)) + " rg"
        for colour in (charts.TRACK_FILL, charts.BAR_FILL)
    )
    tracks, bars = 0, []
    for page in PdfReader(io.BytesIO(content)).pages:
        stream = page.get_contents().get_data().decode("latin-1")
        tracks += stream.count(track_fill)
        for drawn in stream.split(bar_fill)[1:]:
            rectangle = re.search(r"[\d.]+ [\d.]+ ([\d.]+) [\d.]+ re", drawn.split("\nQ")[0])
            bars.append(float(rectangle.group(1)) if rectangle else 0.0)
    return tracks, bars


def test_the_quarterly_report_pdf_has_every_table_and_its_charts(quarter):
    client = client_for(quarter.users["chair"])
    response = client.get(reverse("board-report-pdf", args=[quarter.board.pk]), QUERY)
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'attachment; filename="quality-board-report-2026-01-01-2026-03-31.pdf"'
    text = re.sub(r"\s+", " ", " ".join(pdf_pages_text(response.content)))
    for phrase in ("Quality board — board quality report", "Q1 2026", "Referral to signed decision", "59.8 days"):
        assert phrase in text
    for title in (
        "Meetings",
        "Attendance by specialty",
        "Pathology review",
        "Implementation of the plan",
        "Deviations by reason",
        "Decision quality",
    ):
        assert title in text
    # Each table's rows, as worked out in tests/test_analytics.py: figure, numerator, denominator, value.
    for row in (
        "Done within 30 days of signing 2 5 40.0 %",
        "Done within 90 days of signing 3 5 60.0 %",
        "Done within 180 days of signing 4 5 80.0 %",
        "Follow-ups due in the period and still open 2 5 40.0 %",
        "Listings deferred 2 7 28.6 %",
        "… major discrepancy 2 4 50.0 %",
        "Curative intent 2 3 66.7 %",
    ):
        assert row in text, row
    # The charts: one track per charted figure, each bar as long as its value (shares fill the track at 100 %,
    # days the longest), and the chart's own labels (shortened where the table has the full one).
    report = metrics.board_report(board=quarter.board, period=Period(*Q1))
    charted = [(figure, charts._scale(table)) for table in report.tables for figure in table.charted]
    track = charts.WIDTH - charts.LABEL_WIDTH - charts.VALUE_WIDTH
    assert chart_bars(response.content) == (
        len(charted),
        [round(track * min((figure.value or 0) / scale, 1.0), 1) for figure, scale in charted],
    )
    assert len(charted) == 33 and chart_bars(response.content)[1][:2] == [76.7, 199.3]  # 23 and 59.8 of 69 days
    assert "Cases discussed again after an earlier…" in text and "Decisions signed on pathology later sup…" in text
    assert "Confidential" in text
    # The register on paper names cases by number only: amended on, case, class, decided on the original.
    assert "Discordance register" in text
    assert f"20 Feb 2026 {quarter.cases['C'].pk} Minor yes" in text
    assert f"5 Jan 2026 {quarter.cases['A'].pk} Major — diagnosis or management changes no" in text
    assert quarter.cases["C"].patient.mrn not in text
    event = m.AuditEvent.objects.get(action="analytics.print")
    assert event.changes["from"] == "2026-01-01" and event.changes["document"] == "board_report"
    assert client.get(reverse("board-report-pdf", args=[quarter.board.pk]), {"from": "soon"}).status_code == 400
