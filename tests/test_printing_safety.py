"""Paper after an amendment (issue 10): what changed on page 1, the review header in place of SIGNED,
stale inputs marked, the current report first, preliminary never current, warnings that survive
greyscale, and two identifiers on every page of a clinical packet. Read back with pdftotext."""

import html
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
    f.on_agenda(quorate_meeting, case)
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
    # Each amendment says when it was signed out and by whom, inside the what-changed block.
    block = first[first.index("WHAT CHANGED") : first.index("Clinical question")]
    for report in chain_case.pathology_reports.exclude(supersedes=None):
        when = timezone.localtime(report.signed_out_at).strftime("%d %b %Y %H:%M")
        assert f"Report {report.pk} replaces {report.supersedes_id} · " in block
        assert f"discrepancy · {when} · {report.pathologist.get_full_name()} · changed:" in block


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
    first = " ".join(section_pages[0].split())
    assert "WHAT CHANGED" in first
    # A reader may stop at the section's first page: the signed decision's review is said there.
    assert "BASED ON SUPERSEDED PATHOLOGY: REVIEW" in first and "needs the board's review" in first


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


ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "greyscale"
DPI = 100


def greyscale_page_one(pdf: bytes, name: str) -> tuple[Image.Image, list[tuple[str, float, float, float, float]]]:
    """Page 1 as a greyscale PNG (kept in test-artifacts/greyscale/ to look at), and its words with their
    boxes in pixels: (word, left, top, right, bottom)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    target = ARTIFACTS / name
    subprocess.run(
        ["pdftoppm", "-gray", "-png", "-r", str(DPI), "-f", "1", "-l", "1", "-singlefile", "-", str(target)],
        input=pdf,
        check=True,
    )
    layout = subprocess.run(
        ["pdftotext", "-bbox", "-f", "1", "-l", "1", "-", "-"], input=pdf, capture_output=True, check=True
    ).stdout.decode()
    scale = DPI / 72
    words = [
        (html.unescape(text), *(float(value) * scale for value in box))
        for *box, text in re.findall(
            r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>', layout
        )
    ]
    return Image.open(f"{target}.png").convert("L"), words


def framed(image: Image.Image, words, phrase: str) -> bool:
    """Whether the (last) line that starts with `phrase` runs inside a frame: at the right edge of the text
    column, beside the line and 2 mm above and below it, a column of pixels prints dark (below 50% grey) over
    a quarter of that height at least, as a solid or a dashed border does. The pale patient header has
    its bar on the left only."""
    texts, wanted = [w[0] for w in words], phrase.split()
    at = [i for i in range(len(texts)) if texts[i : i + len(wanted)] == wanted][-1]
    margin = int(2 / 25.4 * DPI)
    rows = range(int(words[at][2]) - margin, int(words[at][4]) + margin)
    right, pixels = int(max(w[3] for w in words)), image.load()
    return any(
        sum(1 for y in rows if pixels[x, y] < 128) >= len(rows) / 4
        for x in range(right - margin, min(image.width, right + margin))
    )


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="needs poppler's pdftoppm")
def test_the_warnings_survive_greyscale_as_borders_and_bands(chain_case, make_case, coordinator):
    plain = make_case("consensus")
    assert dark_bands(render_case_summary(user=coordinator, case_id=plain.pk).content) == 0
    warned = render_case_summary(user=coordinator, case_id=chain_case.pk).content
    assert dark_bands(warned) >= 4
    image, words = greyscale_page_one(warned, "summary-after-amendment")
    patient = chain_case.patient.family_name.upper() + ","
    preliminary = make_case("pathology", report_status="preliminary")
    prelim_image, prelim_words = greyscale_page_one(
        render_case_summary(user=coordinator, case_id=preliminary.pk).content, "summary-preliminary"
    )
    frames = {
        "patient header": framed(image, words, patient),
        "preliminary's patient header": framed(
            prelim_image, prelim_words, preliminary.patient.family_name.upper() + ","
        ),
        "review": framed(image, words, "BASED ON SUPERSEDED PATHOLOGY: REVIEW"),
        "stale input": framed(image, words, "SPECIALTY INPUT TO RE-CONFIRM:"),
        "what changed": framed(image, words, "PATHOLOGY AMENDED"),
        "preliminary": framed(
            prelim_image, prelim_words, f"Report {preliminary.pathology_reports.get().pk} · Preliminary"
        ),
    }
    # In greyscale every warning is a framed box, and the pale patient header is not: none reads as another.
    assert frames == {name: not name.endswith("patient header") for name in frames}
