"""A packet's frame is cached apart from what changes at each print: when one case changes and keeps
its page count, only that case's section and a one-page stamp (print time, fingerprint) are rendered."""

import io
import re
from datetime import UTC, datetime

import pytest
from django.utils import timezone
from pypdf import PdfReader

from cases.printing import documents
from cases.printing.documents import render_meeting_packet
from cases.services import cases as case_services
from cases.services import meetings, opinions
from tests.conftest import pdf_fonts, pdf_pages_text
from tests.test_printing_packet import LONG_HISTORY, agenda_page_numbers, case_start_pages, packet_meeting


@pytest.fixture
def renders(monkeypatch):
    """What WeasyPrint drew, one entry per document: "frame", "section" or "stamp"."""
    drawn = []
    real = documents.engine.render_with_anchors

    def spy(html, **kwargs):
        kinds = [("slot-start", "frame"), ("case-section", "section"), ('class="printed"', "stamp")]
        drawn.append(next((kind for marker, kind in kinds if marker in html), "other"))
        return real(html, **kwargs)

    # Case sections render in worker processes (under the print limits), where no spy reaches: count them here.
    real_jobs = documents.engine.render_jobs

    def spy_jobs(jobs, **kwargs):
        drawn.extend("section" if job.key.startswith("section-") else "other" for job in jobs)
        return real_jobs(jobs, **kwargs)

    monkeypatch.setattr(documents.engine, "render_with_anchors", spy)
    monkeypatch.setattr(documents.engine, "render_jobs", spy_jobs)
    return drawn


@pytest.fixture
def clock(monkeypatch):
    """clock(hour, minute, second) sets the time every print (and write) sees, on 4 March 2030 UTC."""

    def set_time(hour, minute, second=0):
        moment = datetime(2030, 3, 4, hour, minute, second, tzinfo=UTC)
        monkeypatch.setattr(timezone, "now", lambda: moment)
        return moment

    return set_time


def footers(pdf) -> list[str]:
    """The footer line of each page, read back with poppler."""
    return [next(line for line in text.splitlines() if "Confidential" in line) for text in pdf_pages_text(pdf.content)]


def bookmarks(pdf) -> list[tuple[str, int]]:
    reader = PdfReader(io.BytesIO(pdf.content))
    return [(item.title, reader.get_destination_page_number(item) + 1) for item in reader.outline]


def test_a_case_that_changes_but_keeps_its_page_count_renders_its_section_and_the_stamp_only(
    board, coordinator, chair, renders, clock
):
    meeting = packet_meeting(board, coordinator, count=4)
    clock(9, 15)
    first = render_meeting_packet(user=coordinator, meeting_id=meeting.pk)
    assert sorted(renders) == ["frame", "section", "section", "section", "section", "stamp"]

    renders.clear()
    case = meeting.agenda_items.get(position=1).case
    opinions.opinion_record(case=case, by=chair, assessment="Calcinosis, not relapse: the chair's view.")
    printed_at = clock(9, 20, 30)
    changed = render_meeting_packet(user=coordinator, meeting_id=meeting.pk)

    assert renders == ["section", "stamp"], "the frame came from the cache"
    assert changed.fingerprint != first.fingerprint
    pages = pdf_pages_text(changed.content)
    assert len(pages) == len(pdf_pages_text(first.content)) == 7
    assert "Calcinosis, not relapse: the chair's view." in " ".join(" ".join(pages).split())
    for number, footer in enumerate(footers(changed), start=1):
        assert "Confidential — patient information" in footer
        assert f"page {number} of 7" in footer
        assert f"Printed 04 Mar 2030 09:20 · {changed.fingerprint[:10]}" in footer
        assert footer.count("Printed") == 1 and first.fingerprint[:10] not in footer
    starts = case_start_pages(pages)
    assert agenda_page_numbers(pages) == starts and sorted(starts) == [1, 2, 3, 4]
    assert bookmarks(changed) == bookmarks(first)
    assert [page for _, page in bookmarks(changed)[1:]] == [starts[n] for n in (1, 2, 3, 4)]
    assert PdfReader(io.BytesIO(changed.content)).metadata.creation_date == printed_at


def test_a_case_that_grows_a_page_renders_the_frame_again_with_the_new_page_numbers(board, coordinator, renders, clock):
    meeting = packet_meeting(board, coordinator, count=3, long_case=-1)
    clock(9, 15)
    first = render_meeting_packet(user=coordinator, meeting_id=meeting.pk)
    assert len(pdf_pages_text(first.content)) == 5

    renders.clear()
    case = meeting.agenda_items.get(position=2).case
    case_services.case_update(case=case, by=coordinator, history=LONG_HISTORY)
    clock(9, 40)
    grown = render_meeting_packet(user=coordinator, meeting_id=meeting.pk)

    assert sorted(renders) == ["frame", "section", "stamp"]
    pages = pdf_pages_text(grown.content)
    starts = case_start_pages(pages)
    assert len(pages) > 5 and starts[3] - starts[2] >= 2
    assert agenda_page_numbers(pages) == starts
    assert [page for _, page in bookmarks(grown)[1:]] == [starts[n] for n in (1, 2, 3)]
    for number, footer in enumerate(footers(grown), start=1):
        assert f"page {number} of {len(pages)}" in footer and f"09:40 · {grown.fingerprint[:10]}" in footer


def test_publishing_the_agenda_renders_the_frame_again_without_the_draft_mark(board, coordinator, renders):
    meeting = packet_meeting(board, coordinator, count=2, published=False)
    draft = render_meeting_packet(user=coordinator, meeting_id=meeting.pk)
    renders.clear()
    meetings.agenda_publish(meeting=meeting, by=coordinator)
    final = render_meeting_packet(user=coordinator, meeting_id=meeting.pk)
    assert renders == ["frame", "stamp"], "the sections are the same, the frame is not"
    read = [
        [page.extract_text().splitlines() for page in PdfReader(io.BytesIO(pdf.content)).pages]
        for pdf in (draft, final)
    ]
    assert all("DRAFT" in lines for lines in read[0])
    assert not any("DRAFT" in line.upper() for lines in read[1] for line in lines)


def test_a_pdfa_packet_on_a_cached_frame_stays_pdfa_with_its_own_creation_date(
    board, coordinator, chair, renders, clock
):
    meeting = packet_meeting(board, coordinator, count=3)
    clock(9, 15)
    render_meeting_packet(user=coordinator, meeting_id=meeting.pk, pdfa=True)
    renders.clear()
    opinions.opinion_record(case=meeting.agenda_items.get(position=3).case, by=chair, assessment="Agreed.")
    printed_at = clock(10, 5, 12)
    pdf = render_meeting_packet(user=coordinator, meeting_id=meeting.pk, pdfa=True)

    assert renders == ["section", "stamp"]
    reader = PdfReader(io.BytesIO(pdf.content))
    xmp = reader.trailer["/Root"]["/Metadata"].get_object().get_data().decode()
    assert 'pdfaid:part="3"' in xmp and 'pdfaid:conformance="B"' in xmp
    assert "/OutputIntents" in reader.trailer["/Root"]
    # The XMP packet and the document information must agree (PDF/A), on this print's time.
    assert re.search(r"<xmp:CreateDate>2030-03-04T10:05:12\+00:00</xmp:CreateDate>", xmp)
    assert reader.metadata.creation_date == printed_at
    fonts = pdf_fonts(pdf.content)
    assert fonts and all(" yes yes yes " in f" {' '.join(line.split()[-5:])} " for line in fonts), fonts
    assert all(f"10:05 · {pdf.fingerprint[:10]}" in footer for footer in footers(pdf))


def test_a_reprint_of_unchanged_content_is_the_same_file_with_its_first_print_time(board, coordinator, renders, clock):
    meeting = packet_meeting(board, coordinator, count=2)
    clock(9, 15)
    first = render_meeting_packet(user=coordinator, meeting_id=meeting.pk)
    renders.clear()
    clock(16, 45)
    again = render_meeting_packet(user=coordinator, meeting_id=meeting.pk)
    assert renders == [] and again.from_cache and again.content == first.content
    assert all("Printed 04 Mar 2030 09:15" in footer for footer in footers(again))
