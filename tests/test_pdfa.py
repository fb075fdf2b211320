"""PDF/A-3b, structurally (veraPDF is not obtainable from the package registries here: no Debian
package, and the PyPI/npm wrappers all need its Java distribution). Each test checks one clause:
the associated FHIR file, no interpolated images, every glyph drawn, unique font subset tags,
the variant in the section cache, and the XMP pdfaid, output intent, embedded fonts and no encryption.
"""

import io
import json
import logging
import re

import pikepdf
import pytest
from django.utils import timezone

from cases import models as m
from cases.demo import SEED_MRN, DemoBuilder
from cases.printing import engine
from cases.printing.documents import MissingGlyphs, render_case_summary, render_meeting_packet
from tests import factories as f
from tests.conftest import pdf_missing_glyphs


@pytest.fixture
def seed(db):
    DemoBuilder().build()
    case = m.Case.objects.get(patient__mrn=SEED_MRN)
    return case, m.BoardMembership.objects.get(board=case.board, role="chair").user


def open_pdf(content: bytes) -> pikepdf.Pdf:
    return pikepdf.open(io.BytesIO(content))


def assert_pdfa_3b(content: bytes) -> None:
    """The clauses every PDF/A-3b file of ours must meet."""
    with open_pdf(content) as pdf:
        assert not pdf.is_encrypted and "/Encrypt" not in pdf.trailer
        xmp = pdf.Root.Metadata.read_bytes().decode()
        assert re.search(r'pdfaid:part="3"|<pdfaid:part>3<', xmp)
        assert re.search(r'pdfaid:conformance="B"|<pdfaid:conformance>B<', xmp)
        [intent] = pdf.Root.OutputIntents
        assert intent.S == "/GTS_PDFA1" and "/DestOutputProfile" in intent
        tags: dict[str, bytes] = {}
        for obj in pdf.objects:
            if isinstance(obj, pikepdf.Stream) and obj.get("/Subtype") == "/Image":
                assert obj.get("/Interpolate", False) is not True, "an image asks to be interpolated"
            if not isinstance(obj, pikepdf.Dictionary):
                continue
            if obj.get("/Subtype") == "/Image":
                assert obj.get("/Interpolate", False) is not True, "an image asks to be interpolated"
            if obj.get("/Type") == "/Font" and obj.get("/Subtype") != "/Type3":
                target = obj.DescendantFonts[0] if "/DescendantFonts" in obj else obj
                descriptor = target.FontDescriptor
                program = next(descriptor[k] for k in ("/FontFile2", "/FontFile3", "/FontFile") if k in descriptor)
                name = str(obj.BaseFont)
                assert tags.setdefault(name, program.read_raw_bytes()) == program.read_raw_bytes(), (
                    f"two different font subsets are both named {name}"
                )
        assert tags, "no embedded fonts"


def test_the_summary_embeds_the_case_bundle_byte_for_byte_as_the_api_answers(api, seed):
    case, chair = seed
    pdf = render_case_summary(user=chair, case_id=case.pk, pdfa=True)
    assert_pdfa_3b(pdf.content)
    with open_pdf(pdf.content) as document:
        [spec] = document.Root.AF
        assert spec.AFRelationship == "/Data"
        assert str(spec.UF) == f"case-{case.pk}.fhir.json"
        stream = spec.EF.F
        assert stream.Subtype == pikepdf.Name("/application/fhir+json")
        embedded = stream.read_bytes()
        names = document.Root.Names.EmbeddedFiles.Names
        assert str(names[0]) == f"case-{case.pk}.fhir.json"
    assert embedded == api(chair).get(f"/api/v1/cases/{case.pk}/fhir/").content
    assert json.loads(embedded)["resourceType"] == "Bundle"


def test_a_plain_summary_carries_no_bundle(seed):
    case, chair = seed
    with open_pdf(render_case_summary(user=chair, case_id=case.pk).content) as document:
        assert "/AF" not in document.Root


def test_a_change_only_the_bundle_shows_prints_the_summary_again(seed):
    case, chair = seed
    first = render_case_summary(user=chair, case_id=case.pk, pdfa=True)
    m.TnmStaging.objects.create(
        case=case, kind="clinical", t="T2", edition="ajcc-8", staged_on=timezone.localdate(), recorded_by=chair
    )
    again = render_case_summary(user=chair, case_id=case.pk, pdfa=True)
    assert not again.from_cache and again.fingerprint != first.fingerprint


def test_key_images_are_not_interpolated(board, coordinator, radiologist):
    case = f.CaseFactory(board=board)
    study = f.ImagingStudyFactory(case=case, radiologist=radiologist)
    m.KeyImage.objects.create(study=study, image=f.png_upload("k.png", (80, 60)), caption="Axial")
    content = render_case_summary(user=coordinator, case_id=case.pk, pdfa=True).content
    with open_pdf(content) as document:
        images = [o for o in document.objects if isinstance(o, pikepdf.Stream) and o.get("/Subtype") == "/Image"]
        assert images and all(image.get("/Interpolate") is False for image in images)


def test_scripts_symbols_and_emoji_print_with_the_noto_fallbacks(board, coordinator):
    case = f.CaseFactory(board=board, history="Ελληνικά, עברית, हिन्दी, ≥ ✓ ☎ 🙂")
    content = render_case_summary(user=coordinator, case_id=case.pk, pdfa=True).content
    assert pdf_missing_glyphs(content) == []
    assert_pdfa_3b(content)


def test_a_pdfa_print_that_would_miss_a_glyph_is_refused_naming_the_text(api, board, coordinator):
    case = f.CaseFactory(board=board, history="Marker \ue000 in a private-use character")
    with pytest.raises(MissingGlyphs, match=r"U\+E000 in “.*Marker .* in a private-use"):
        render_case_summary(user=coordinator, case_id=case.pk, pdfa=True)
    response = api(coordinator).get(f"/api/v1/cases/{case.pk}/summary.pdf?pdfa=1")
    assert response.status_code == 409 and response.json()["code"] == "missing_glyphs"
    assert render_case_summary(user=coordinator, case_id=case.pk).content  # the plain PDF still prints


def test_packet_sections_keep_unique_font_subsets_and_are_cached_by_variant(board, coordinator, specialists):
    meeting = f.MeetingFactory(board=board, created_by=coordinator)
    texts = ["Plain Latin text only.", "Ελληνικά και עברית", "Symbols ≥ ✓ ☎", "हिन्दी पाठ"]
    for position, history in enumerate(texts, start=1):
        case = f.CaseFactory(board=board, history=history)
        m.AgendaItem.objects.create(meeting=meeting, case=case, position=position)
    plain = render_meeting_packet(user=coordinator, meeting_id=meeting.pk)
    archived = render_meeting_packet(user=coordinator, meeting_id=meeting.pk, pdfa=True)
    assert not archived.from_cache and archived.fingerprint != plain.fingerprint
    assert_pdfa_3b(archived.content)
    with open_pdf(archived.content) as document:
        names = [str(o.BaseFont) for o in document.objects if isinstance(o, pikepdf.Dictionary) and "/BaseFont" in o]
    assert any("+" in name for name in names)


def test_retagging_names_two_different_subsets_apart():
    def one_font_pdf(text: str) -> bytes:
        return engine.render(f"<p style='font-family: DejaVu Sans'>{text}</p>", fetcher=engine.AppURLFetcher())

    frame = one_font_pdf("frame")
    section = one_font_pdf("another subset entirely")
    with open_pdf(frame) as a, open_pdf(section) as b:
        tag_a = [str(o.BaseFont) for o in a.objects if isinstance(o, pikepdf.Dictionary) and "/BaseFont" in o][0]
        tag_b = [str(o.BaseFont) for o in b.objects if isinstance(o, pikepdf.Dictionary) and "/BaseFont" in o][0]
    assert tag_a.split("+")[0] == tag_b.split("+")[0]  # WeasyPrint tags each render's subsets alike
    merged = engine.overlay(frame, [(0, section)])
    with open_pdf(merged) as document:
        fonts = {
            str(o.BaseFont)
            for o in document.objects
            if isinstance(o, pikepdf.Dictionary) and o.get("/Type") == "/Font" and "/BaseFont" in o
        }
    assert len(fonts) == 2


def test_worker_warnings_reach_the_log(caplog):
    """A worker process's own log goes nowhere: WeasyPrint's warnings (a font lacking a glyph, a refused
    resource) come back with the PDF and are logged by the process that asked, naming the document."""
    job = engine.Job(
        key="w", html="<p style='font-family: NoSuchFontAnywhere'>x</p><img src='https://elsewhere.example/x.png'>",
        resources={},
    )  # fmt: skip
    limits = engine.Limits(seconds=60, memory_bytes=1536 * 2**20)
    with caplog.at_level(logging.WARNING, logger="cases.printing.engine"):
        pdf = engine.render_jobs([job], workers=1, limits=limits)["w"]
    assert pdf.startswith(b"%PDF")
    logged = [r.getMessage() for r in caplog.records if r.name == "cases.printing.engine"]
    assert any(message.startswith("print worker (w):") and "elsewhere.example" in message for message in logged)
