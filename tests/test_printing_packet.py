"""The meeting packet PDF: structure, page numbers, de-identification, cache, read back from the file."""

import io
import re
from datetime import date

import pytest
from django.utils import timezone
from pypdf import PdfReader

from cases import models as m
from cases.printing import documents
from cases.printing.documents import render_meeting_packet
from cases.services import meetings, opinions
from tests import factories as f
from tests.conftest import pdf_pages_text

NAMES = ["Alder", "Birch", "Cedar", "Dogwood", "Elm", "Fir"]
LONG_HISTORY = "Treated osteosarcoma of the distal femur, chemotherapy and resection. " * 90


def packet_meeting(board, coordinator, *, count=4, published=True, long_case=1):
    """A meeting with `count` cases; the case at index `long_case` runs over several pages."""
    meeting = f.MeetingFactory(board=board, created_by=coordinator)
    for index in range(count):
        patient = f.PatientFactory(
            registered_board=board, given_name="Pat", family_name=NAMES[index % 6] + ("" if index < 6 else str(index))
        )
        case = f.CaseFactory(
            board=board,
            patient=patient,
            clinical_question=f"Question {index + 1}?",
            history=LONG_HISTORY if index == long_case else "Short history.",
        )
        m.AgendaItem.objects.create(meeting=meeting, case=case, position=index + 1, minutes=10 + index)
    if published:
        meeting.agenda_published_at = timezone.now()
        meeting.save()
    return meeting


def case_start_pages(pages: list[str]) -> dict[int, int]:
    """Agenda position -> the page (1-based) whose section heading says "Case N ·"."""
    starts = {}
    for number, text in enumerate(pages, start=1):
        for position in re.findall(r"^\s*Case (\d+) · \d\d:\d\d", text, re.MULTILINE):
            starts.setdefault(int(position), number)
    return starts


def agenda_page_numbers(pages: list[str]) -> dict[int, int]:
    """Agenda position -> the page number printed in the agenda's last column."""
    numbers = {}
    for text in pages[:3]:
        for position, page in re.findall(
            r"^\s*(\d+)\s+\d\d:\d\d–\d\d:\d\d\s+[A-Z0-9]+, Pat\b.*?\s(\d+)\s*$", text, re.M
        ):
            numbers[int(position)] = int(page)
    return numbers


@pytest.fixture
def meeting(board, coordinator):
    return packet_meeting(board, coordinator)


def test_the_agenda_gives_the_page_where_each_case_starts(meeting, coordinator):
    pdf = render_meeting_packet(user=coordinator, meeting_id=meeting.pk)
    pages = pdf_pages_text(pdf.content)
    starts = case_start_pages(pages)
    assert sorted(starts) == [1, 2, 3, 4]
    assert starts[3] - starts[2] >= 2, "the long case runs over more than one page"
    assert agenda_page_numbers(pages) == starts
    assert len(PdfReader(io.BytesIO(pdf.content)).pages) == len(pages)


def test_there_is_one_bookmark_per_case_pointing_at_its_first_page(meeting, coordinator):
    pdf = render_meeting_packet(user=coordinator, meeting_id=meeting.pk)
    reader = PdfReader(io.BytesIO(pdf.content))
    starts = case_start_pages(pdf_pages_text(pdf.content))
    marks = [(item.title, reader.get_destination_page_number(item) + 1) for item in reader.outline]
    assert marks[0][0] == "Cover and agenda"
    cases = marks[1:]
    assert [title.split(".")[0] for title, _ in cases] == ["1", "2", "3", "4"]
    assert [page for _, page in cases] == [starts[n] for n in (1, 2, 3, 4)]
    assert "BIRCH, Pat" in cases[1][0]


def test_every_page_has_the_footer_and_the_header_names_the_current_patient(meeting, coordinator):
    pdf = render_meeting_packet(user=coordinator, meeting_id=meeting.pk)
    pages = pdf_pages_text(pdf.content)
    starts = case_start_pages(pages)
    for number, text in enumerate(pages, start=1):
        assert "Confidential — patient information" in text
        assert f"page {number} of {len(pages)}" in text
        assert re.search(r"Printed \d\d \w{3} \d{4} \d\d:\d\d · " + pdf.fingerprint[:10], text)
        assert "Sarcoma board" in text.splitlines()[0]
    # Two identifiers on every page of a section: name and record number (issue 10).
    for position, name in [(2, "BIRCH, Pat"), (3, "CEDAR, Pat")]:
        assert name in pages[starts[position] - 1].splitlines()[0]
    header = pages[starts[2]].splitlines()[0]
    assert "BIRCH, Pat" in header and "TEST-" in header, "the second page of a long case keeps both identifiers"


def test_an_unpublished_agenda_prints_draft_on_every_page_and_a_published_one_nowhere(board, coordinator):
    draft = packet_meeting(board, coordinator, count=2, published=False)
    final = packet_meeting(board, coordinator, count=2, published=True)
    draft_pdf = render_meeting_packet(user=coordinator, meeting_id=draft.pk).content
    final_pdf = render_meeting_packet(user=coordinator, meeting_id=final.pk).content
    # The watermark is turned 35°: poppler's layout spreads its letters, pypdf reads it as one line.
    draft_pages = [page.extract_text().splitlines() for page in PdfReader(io.BytesIO(draft_pdf)).pages]
    final_pages = [page.extract_text().splitlines() for page in PdfReader(io.BytesIO(final_pdf)).pages]
    assert len(draft_pages) == 5 and all("DRAFT" in lines for lines in draft_pages)
    assert not any("DRAFT" in line.upper() for lines in final_pages for line in lines)


def test_deferred_and_late_cases_are_marked(board, coordinator):
    meeting = packet_meeting(board, coordinator, count=3)
    earlier = f.MeetingFactory(board=board, created_by=coordinator, starts_at=meeting.starts_at - timezone.timedelta(7))
    items = list(meeting.agenda_items.order_by("position"))
    rolled = m.AgendaItem.objects.create(
        meeting=earlier, case=items[0].case, position=1, outcome="deferred", deferral_reason="CT pending"
    )
    m.AgendaItem.objects.filter(pk=items[0].pk).update(rolled_from=rolled)
    m.AgendaItem.objects.filter(pk=items[1].pk).update(is_late=True)
    m.AgendaItem.objects.filter(pk=items[2].pk).update(outcome="deferred", deferral_reason="Awaiting MR")
    pages = pdf_pages_text(render_meeting_packet(user=coordinator, meeting_id=meeting.pk).content)
    text = " ".join(" ".join(pages).split())
    assert f"Deferred from {earlier.starts_at:%d %b %Y}" in text
    assert "LATE ADDITION" in text
    assert "Deferred: Awaiting MR" in text


def test_the_packet_always_names_its_patients_in_the_text_and_the_bookmarks(board, coordinator):
    """The clinical packet identifies (two identifiers a page); teaching copies are teaching sets."""
    meeting = packet_meeting(board, coordinator, count=2)
    pdf = render_meeting_packet(user=coordinator, meeting_id=meeting.pk)
    reader = PdfReader(io.BytesIO(pdf.content))
    text = "\n".join(pdf_pages_text(pdf.content))
    outline = " ".join(item.title for item in reader.outline)
    for item in meeting.agenda_items.select_related("case__patient"):
        patient = item.case.patient
        assert patient.mrn in text and patient.mrn in outline and patient.family_name.upper() in outline
    assert "de-identified" not in text and "-deidentified" not in pdf.filename


def test_a_reprint_is_cached_and_any_change_renders_only_what_changed(board, coordinator, chair, monkeypatch):
    meeting = packet_meeting(board, coordinator, count=3)
    rendered = []
    real = documents.engine.render_jobs
    monkeypatch.setattr(
        documents.engine, "render_jobs", lambda jobs, **kw: rendered.extend(j.key for j in jobs) or real(jobs, **kw)
    )
    first = render_meeting_packet(user=coordinator, meeting_id=meeting.pk)
    assert len(rendered) == 3  # one per case
    again = render_meeting_packet(user=coordinator, meeting_id=meeting.pk)
    assert again.from_cache and again.content == first.content and len(rendered) == 3

    case = meeting.agenda_items.get(position=2).case
    opinions.opinion_record(case=case, by=chair, assessment="A new opinion from the chair.")
    changed = render_meeting_packet(user=coordinator, meeting_id=meeting.pk)
    assert changed.fingerprint != first.fingerprint and len(rendered) == 4  # only the changed case
    assert "A new opinion from the chair." in " ".join(pdf_pages_text(changed.content))

    items = list(meeting.agenda_items.order_by("-position").values_list("pk", flat=True))
    meetings.agenda_reorder(meeting=meeting, by=coordinator, item_ids=items)
    reordered = render_meeting_packet(user=coordinator, meeting_id=meeting.pk)
    assert reordered.fingerprint != changed.fingerprint and len(rendered) == 4  # sections reused
    pages = pdf_pages_text(reordered.content)
    assert agenda_page_numbers(pages) == case_start_pages(pages)


def test_sections_rendered_in_parallel_processes_give_the_same_pages(board, coordinator, settings):
    meeting = packet_meeting(board, coordinator, count=4)
    settings.PRINT_WORKERS = 2
    parallel = pdf_pages_text(render_meeting_packet(user=coordinator, meeting_id=meeting.pk).content)
    settings.PRINT_WORKERS, settings.PRINT_CACHE_DIR = 1, settings.PRINT_CACHE_DIR.parent / "sequential"
    sequential = pdf_pages_text(render_meeting_packet(user=coordinator, meeting_id=meeting.pk).content)
    assert len(parallel) == len(sequential)
    assert agenda_page_numbers(parallel) == case_start_pages(parallel) == case_start_pages(sequential)


def test_the_packet_costs_the_same_queries_for_thirty_cases_as_for_two(board, coordinator, django_assert_num_queries):
    small = packet_meeting(board, coordinator, count=2, long_case=-1)
    large = packet_meeting(board, coordinator, count=30, long_case=-1)
    coordinator = type(coordinator).objects.get(pk=coordinator.pk)
    render_meeting_packet(user=coordinator, meeting_id=small.pk)  # loads the user's memberships once
    with django_assert_num_queries(10) as small_queries:
        render_meeting_packet(user=coordinator, meeting_id=small.pk)
    with django_assert_num_queries(10):
        pdf = render_meeting_packet(user=coordinator, meeting_id=large.pk)
    assert len(small_queries.captured_queries) == 10
    pages = pdf_pages_text(pdf.content)
    assert len(pages) == 33  # cover, an agenda over two pages, one page per case
    assert agenda_page_numbers(pages) == case_start_pages(pages) and len(case_start_pages(pages)) == 30


def test_the_packet_shows_the_age_beside_the_birth_date(board, coordinator):
    meeting = packet_meeting(board, coordinator, count=1, long_case=-1)
    patient = meeting.agenda_items.get().case.patient
    age = patient.age_on(timezone.localtime(meeting.starts_at).date())
    text = " ".join(pdf_pages_text(render_meeting_packet(user=coordinator, meeting_id=meeting.pk).content))
    assert f"{age} years" in text and date(1990, 5, 17).strftime("%d %b %Y") in text
