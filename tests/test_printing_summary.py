"""The case summary PDF, read back with poppler and pypdf."""

import io

import pytest
from django.http import Http404
from pypdf import PdfReader

from cases import models as m
from cases.printing.documents import render_case_summary
from cases.services import opinions, pathology
from tests import factories as f
from tests.conftest import pdf_fonts, pdf_missing_glyphs, pdf_pages_text


@pytest.fixture
def amended_case(make_case, pathologist, radiologist):
    """A case whose first report was amended with a major discrepancy, with a key image."""
    case = make_case("pathology")
    study = case.imaging_studies.get()
    m.KeyImage.objects.create(study=study, image=f.png_upload("k.png", (400, 300)), caption="Lobulated calcification")
    first = case.pathology_reports.get()
    pathology.pathology_report_amend(
        report=first,
        by=pathologist,
        diagnosis="Tumoral calcinosis; no osteosarcoma.",
        amendment_reason="Re-examined after the board's review.",
        discrepancy="major",
    )
    return case


def text_of(pdf) -> str:
    return "\n".join(pdf_pages_text(pdf.content))


def test_the_summary_shows_the_superseded_report_marked_with_the_reason_and_the_change(amended_case, coordinator):
    pdf = render_case_summary(user=coordinator, case_id=amended_case.pk)
    text = " ".join(text_of(pdf).split())
    first, amended = amended_case.pathology_reports.order_by("id")
    assert f"SUPERSEDED BY REPORT {amended.pk}" in text
    assert f"AMENDED — REPLACES REPORT {first.pk}" in text
    assert "Re-examined after the board's review." in text
    assert "Major — diagnosis or management changes" in text
    assert "Diagnosis changed Residual osteosarcoma. → Tumoral calcinosis; no osteosarcoma." in text


def test_the_first_page_says_the_diagnosis_changed(amended_case, coordinator):
    pdf = render_case_summary(user=coordinator, case_id=amended_case.pk)
    first_page = " ".join(pdf_pages_text(pdf.content)[0].split())
    assert "PATHOLOGY AMENDED — MAJOR DISCREPANCY: WHAT CHANGED" in first_page
    assert "Tumoral calcinosis; no osteosarcoma." in first_page


def test_an_unamended_case_has_no_first_page_alert(make_case, coordinator):
    pdf = render_case_summary(user=coordinator, case_id=make_case("pathology").pk)
    assert "Pathology amended" not in pdf_pages_text(pdf.content)[0]


def test_the_summary_has_every_specialty_input_with_author_and_time(amended_case, coordinator, specialists):
    pdf = render_case_summary(user=coordinator, case_id=amended_case.pk)
    text = " ".join(text_of(pdf).split())
    for opinion in amended_case.opinions.select_related("author"):
        assert f"{opinion.get_specialty_display()} · {opinion.author.get_full_name()} ·" in text


def test_every_page_has_the_footer_and_the_metadata_names_the_board(amended_case, coordinator):
    pdf = render_case_summary(user=coordinator, case_id=amended_case.pk)
    pages = pdf_pages_text(pdf.content)
    for number, page in enumerate(pages, start=1):
        assert "Confidential — patient information" in page
        assert f"page {number} of {len(pages)}" in page
        assert pdf.fingerprint[:10] in page
    meta = PdfReader(io.BytesIO(pdf.content)).metadata
    assert meta.title == f"Case summary — Sarcoma board — case {amended_case.pk}"
    assert meta.author == "Sarcoma board"
    assert meta.creation_date is not None


def test_another_boards_member_cannot_print_the_summary(amended_case, outsider):
    with pytest.raises(Http404):
        render_case_summary(user=outsider, case_id=amended_case.pk)


def test_a_reprint_comes_from_the_cache_until_something_changes(amended_case, coordinator, chair):
    first = render_case_summary(user=coordinator, case_id=amended_case.pk)
    again = render_case_summary(user=coordinator, case_id=amended_case.pk)
    assert (first.from_cache, again.from_cache) == (False, True)
    assert again.content == first.content
    opinions.opinion_record(case=amended_case, by=chair, assessment="Chair's view: no tumour.")
    changed = render_case_summary(user=coordinator, case_id=amended_case.pk)
    assert not changed.from_cache and changed.fingerprint != first.fingerprint
    assert "Chair's view: no tumour." in text_of(changed)
    pdfa = render_case_summary(user=coordinator, case_id=amended_case.pk, pdfa=True)
    assert not pdfa.from_cache and pdfa.fingerprint != changed.fingerprint


def test_pdfa_output_declares_pdfa_3b(amended_case, coordinator):
    pdf = render_case_summary(user=coordinator, case_id=amended_case.pk, pdfa=True)
    reader = PdfReader(io.BytesIO(pdf.content))
    xmp = reader.trailer["/Root"]["/Metadata"].get_object().get_data()
    assert b'pdfaid:part="3"' in xmp and b'pdfaid:conformance="B"' in xmp
    assert "/OutputIntents" in reader.trailer["/Root"]


def test_names_in_greek_arabic_chinese_and_accented_latin_print_with_embedded_fonts(board, coordinator):
    patient = f.PatientFactory(registered_board=board, given_name="Zoë", family_name="Ångström-Łukasz")
    case = f.CaseFactory(
        board=board,
        patient=patient,
        history="Ιστορικό οστεοσαρκώματος. تاريخ مرضي سابق. 既往骨肉瘤病史。",
    )
    pdf = render_case_summary(user=coordinator, case_id=case.pk)
    text = text_of(pdf)
    for expected in ["ÅNGSTRÖM-ŁUKASZ, Zoë", "Ιστορικό οστεοσαρκώματος.", "既往骨肉瘤病史。"]:
        assert expected in text
    assert "مرضي" in text or "يضرم" in text  # poppler may give Arabic in visual order
    fonts = pdf_fonts(pdf.content)
    families = {line.split()[0].split("+")[-1] for line in fonts}
    assert families <= {"DejaVu-Sans", "DejaVu-Sans-Bold", "WenQuanYi-Micro-Hei"}, fonts
    assert "WenQuanYi-Micro-Hei" in families
    assert all(" yes yes yes " in f" {' '.join(line.split()[-5:])} " for line in fonts), fonts
    assert pdf_missing_glyphs(pdf.content) == []


def test_the_glyph_check_does_see_a_character_no_font_has(board, coordinator):
    # A private-use character: no installed font draws it (Linear B, used before, now prints with Symbola).
    case = f.CaseFactory(board=board, history="Private use: \ue000")
    pdf = render_case_summary(user=coordinator, case_id=case.pk)
    assert pdf_missing_glyphs(pdf.content) == ["\ue000"]


HOSTILE = [
    "<b>bold?</b> <script>alert(1)</script>",
    '<img src="file:///etc/passwd">',
    "<style>body { background: url(https://tumorboard.invalid/media/x.png) }</style>",
    "url(file:///etc/shadow) @import 'http://127.0.0.1:9/evil.css';",
]


def test_hostile_text_prints_as_text(board, coordinator):
    case = f.CaseFactory(board=board, clinical_question=" ".join(HOSTILE))
    pdf = render_case_summary(user=coordinator, case_id=case.pk)
    text = "".join(text_of(pdf).split())  # long words may wrap anywhere
    for fragment in HOSTILE:
        assert "".join(fragment.split()) in text


def image_boxes(content: bytes) -> list[tuple[float, float, float, float]]:
    """(left, bottom, right, top) in points of every image drawn, from the pages' content streams."""
    import pikepdf

    boxes = []
    with pikepdf.open(io.BytesIO(content)) as pdf:
        for page in pdf.pages:
            ctm, stack = pikepdf.Matrix(), []

            def walk(stream, resources, ctm=ctm, stack=stack):
                for operands, operator in pikepdf.parse_content_stream(stream):
                    op = str(operator)
                    if op == "q":
                        stack.append(ctm)
                    elif op == "Q":
                        ctm = stack.pop()
                    elif op == "cm":
                        ctm = pikepdf.Matrix(*[float(x) for x in operands]) @ ctm
                    elif op == "Do":
                        xobject = resources.XObject[operands[0]]
                        if xobject.Subtype == "/Image":
                            corners = [ctm.transform((x, y)) for x in (0, 1) for y in (0, 1)]
                            xs, ys = [c[0] for c in corners], [c[1] for c in corners]
                            boxes.append((min(xs), min(ys), max(xs), max(ys)))
                        elif xobject.Subtype == "/Form":
                            inner = pikepdf.Matrix(*[float(v) for v in xobject.get("/Matrix", [1, 0, 0, 1, 0, 0])])
                            walk(xobject, xobject.get("/Resources", resources), inner @ ctm, [])

            walk(page, page.Resources)
    return boxes


def test_key_images_are_scaled_to_stay_inside_the_page_margins(board, coordinator, radiologist):
    case = f.CaseFactory(board=board)
    study = f.ImagingStudyFactory(case=case, radiologist=radiologist)
    for order, size in enumerate([(3000, 200), (200, 3000), (2400, 2400)], start=1):
        m.KeyImage.objects.create(study=study, image=f.png_upload("k.png", size), caption=f"Image {order}", order=order)
    pdf = render_case_summary(user=coordinator, case_id=case.pk)
    boxes = image_boxes(pdf.content)
    assert len(boxes) == 3
    mm = 72 / 25.4
    for left, bottom, right, top in boxes:  # A4 with 15 mm side, 20 mm top and 18 mm bottom margins
        assert left >= 15 * mm - 0.5 and right <= (210 - 15) * mm + 0.5
        assert bottom >= 18 * mm - 0.5 and top <= (297 - 20) * mm + 0.5
        assert right - left <= 85 * mm and top - bottom <= 71 * mm


def test_a_right_to_left_override_reverses_only_its_own_text(make_case, coordinator):
    case = make_case("pathology")
    case.pathology_reports.update(specimen="Core \u202eleft femur", procedure="Excision biopsy at revision")
    text = " ".join(text_of(render_case_summary(user=coordinator, case_id=case.pk)).split())
    assert "Excision biopsy at revision" in text
    assert "noisiver ta yspoib noisicxE" not in text
