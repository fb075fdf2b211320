"""Paper after an amendment (issue 10): what changed on page 1, the review header in place of SIGNED,
stale inputs marked, the current report first, preliminary never current, warnings that survive
greyscale, and two identifiers on every page of a clinical packet. Read back with pdftotext."""

import io
import re
import shutil
import subprocess
import tempfile
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from PIL import Image

from cases import models as m
from cases.printing.documents import render_case_summary, render_meeting_packet
from cases.services import decisions, pathology, workflow
from tests import factories as f
from tests.conftest import pdf_pages_text

PLAN = [{"category": "surveillance", "detail": "Osteosarcoma schedule."}]


def amend(report, by, **fields):
    defaults = {"amendment_reason": "Re-review.", "discrepancy": "major", "diagnosis": report.diagnosis}
    return pathology.pathology_report_amend(report=report, by=by, **{**defaults, **fields})


@pytest.fixture
def chain_case(make_case, coordinator, chair, pathologist, quorate_meeting):
    """Signed on a final osteosarcoma report; amended to calcinosis, then amended again for laterality only."""
    case = make_case("consensus")
    first = case.pathology_reports.get()
    m.PathologyReport.objects.filter(pk=first.pk).update(
        diagnosis="High-grade osteosarcoma, residual.", specimen="Left distal femur, biopsy"
    )
    decision = decisions.decision_record(
        case=case, by=coordinator, meeting=quorate_meeting, consensus_diagnosis="Recurrent osteosarcoma.", plan=PLAN
    )
    decisions.decision_sign(decision=decision, by=chair)
    workflow.case_transition(case=case, to="closed", by=coordinator)
    first.refresh_from_db()
    second = amend(
        first,
        pathologist,
        diagnosis="Tumoral calcinosis; devitalised bone, no tumour.",
        amendment_reason="Interdisciplinary re-review.",
    )
    amend(
        second,
        pathologist,
        specimen="Right distal femur, biopsy",
        discrepancy="minor",
        amendment_reason="Laterality corrected.",
    )
    return case


def test_the_three_report_chain_is_on_page_one_field_by_field(chain_case, coordinator):
    pages = pdf_pages_text(render_case_summary(user=coordinator, case_id=chain_case.pk).content)
    first = " ".join(pages[0].split())
    assert "PATHOLOGY AMENDED — MAJOR DISCREPANCY: WHAT CHANGED" in first
    assert "High-grade osteosarcoma" in first and "Tumoral calcinosis; devitalised bone" in first
    assert "Left distal femur" in first and "Right distal femur" in first
    assert "Interdisciplinary re-review." in first and "Laterality corrected." in first
    assert "Minor discrepancy" in first and "changed: Specimen Reason" in first


def test_a_decision_on_superseded_pathology_prints_under_the_review_header_not_signed(chain_case, coordinator):
    pages = pdf_pages_text(render_case_summary(user=coordinator, case_id=chain_case.pk).content)
    first = " ".join(pages[0].split())
    assert "BASED ON SUPERSEDED PATHOLOGY: REVIEW" in first
    assert "needs the board's review" in first
    text = " ".join(" ".join(pages).split())
    assert "SIGNED ON SUPERSEDED PATHOLOGY" in text
    assert not re.search(r"\bSIGNED\b(?! ON SUPERSEDED)", text)
    assert "GIVEN ON SUPERSEDED PATHOLOGY" in text
    assert "Present when signed" in text


def test_the_current_report_comes_first_and_the_superseded_follow_labelled(chain_case, coordinator):
    reports = list(chain_case.pathology_reports.order_by("pk"))
    text = " ".join(
        " ".join(pdf_pages_text(render_case_summary(user=coordinator, case_id=chain_case.pk).content)).split()
    )
    section = text[text.index("CURRENT Report") :]
    order = [int(n) for n in re.findall(r"Report (\d+) · (?:Final|Amended)", section)]
    assert order == [reports[2].pk, reports[0].pk, reports[1].pk]
    assert section.count("NOT VALID FOR DECISIONS") == 2


def test_a_preliminary_report_is_never_stamped_current(make_case, coordinator):
    case = make_case("pathology", report_status="preliminary")
    text = " ".join(" ".join(pdf_pages_text(render_case_summary(user=coordinator, case_id=case.pk).content)).split())
    assert "PRELIMINARY: NOT FINAL" in text
    assert "CURRENT" not in text


def test_every_page_of_a_clinical_packet_carries_name_and_mrn(board, coordinator, chain_case):
    meeting = f.MeetingFactory(board=board, starts_at=timezone.now() + timedelta(days=2))
    chain_case.history = "Treated osteosarcoma; arthrodesis, allograft and nail. " * 120
    chain_case.save()
    m.AgendaItem.objects.create(meeting=meeting, case=chain_case, position=1)
    pages = pdf_pages_text(render_meeting_packet(user=coordinator, meeting_id=meeting.pk).content)
    patient = chain_case.patient
    name = f"{patient.family_name.upper()}, {patient.given_name}"
    section_pages = [page for page in pages if "Case summary" not in page][2:]
    assert len(section_pages) >= 3
    for page in section_pages:
        assert name in page and patient.mrn in page, page[:400]
    agenda = " ".join(pages[1].split())
    assert "REVIEW: SUPERSEDED PATHOLOGY" in agenda
    assert "WHAT CHANGED" in " ".join(section_pages[0].split())


def dark_bands(pdf: bytes) -> int:
    """Rows of page 1, in greyscale at 60 dpi, that are dark over at least half the page's width."""
    with tempfile.TemporaryDirectory() as folder:
        subprocess.run(
            ["pdftoppm", "-gray", "-png", "-r", "60", "-f", "1", "-l", "1", "-", f"{folder}/page"],
            input=pdf,
            check=True,
        )
        (png,) = list(Path(folder).iterdir())
        image = Image.open(io.BytesIO(png.read_bytes())).convert("L")
    width, height = image.size
    pixels = image.load()
    rows = 0
    for y in range(height):
        dark = sum(1 for x in range(width) if pixels[x, y] < 90)
        rows += dark >= width // 2
    return rows


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="needs poppler's pdftoppm")
def test_the_warnings_survive_greyscale_as_borders_and_bands(chain_case, make_case, coordinator):
    plain = make_case("consensus")
    assert dark_bands(render_case_summary(user=coordinator, case_id=plain.pk).content) == 0
    assert dark_bands(render_case_summary(user=coordinator, case_id=chain_case.pk).content) >= 4
