"""A teaching set in a real Chromium: prepare from the case page, include and edit a field, approve as the
chair, print. Screenshots of the preview and the approved set go to test-artifacts/."""

import io
from pathlib import Path

import pytest
from pypdf import PdfReader

from cases import models as m
from tests import factories as f
from tests.test_web_browser import ARTIFACTS, browser, sign_in  # noqa: F401 (fixtures)

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_teaching_set_from_the_case_page_to_the_printed_copy(sign_in, board, coordinator, radiologist, chair):  # noqa: F811
    m.BoardMembership.objects.filter(user=chair).update(reviews_teaching=True)
    patient = f.PatientFactory(given_name="Rose", family_name="Mass", mrn="TB-7712004", registered_board=board)
    case = f.CaseFactory(board=board, patient=patient, created_by=coordinator,
                         history="Rose Mass (TB-7712004), seen with her husband Aldo on 4 March 2024. "
                                 "The mass is 4 cm in size.")  # fmt: skip
    f.PathologyReportFactory(case=case, diagnosis="Tumoral calcinosis.")
    ARTIFACTS.mkdir(exist_ok=True)

    page = sign_in(radiologist)
    page.goto(f"/cases/{case.pk}/")
    page.get_by_role("link", name="Prepare a teaching set").click()
    page.get_by_label("Other names or numbers to look for").fill("Aldo")
    page.get_by_role("button", name="Prepare").click()
    page.get_by_text("Teaching set prepared").wait_for()
    history = page.locator(".teaching-field", has_text="History")
    history.get_by_role("button", name="Include (scrubbed)").click()
    history = page.locator(".teaching-field", has_text="History")
    box = history.locator("textarea")
    assert (
        box.input_value()
        == "[name] ([record number]), seen with her husband [name] on [date]. The mass is 4 cm in size."
    )
    box.fill("A woman in her forties, seen with her husband. The mass is 4 cm in size.")
    history.get_by_role("button", name="Save my text").click()
    page.get_by_text("Saved.").wait_for()
    page.screenshot(path=str(ARTIFACTS / "teaching-preview.png"), full_page=True)
    assert page.get_by_role("button", name="Approve this version for teaching").count() == 0

    review = sign_in(chair)
    review.goto(page.url.split("#")[0])
    review.get_by_role("button", name="Approve this version for teaching").click()
    review.get_by_text("Approved: the teaching copy can be printed.").wait_for()
    review.screenshot(path=str(ARTIFACTS / "teaching-approved.png"), full_page=True)
    with review.expect_download() as download:
        review.get_by_role("link", name="Print the teaching copy").click()
    data = Path(download.value.path()).read_bytes()
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages)
    assert "A woman in her forties" in text and "Mass" not in text.replace("mass", "")
    assert "DE-IDENTIFIED TEACHING COPY" in text
    assert download.value.suggested_filename == "teaching-sarcoma-board.pdf"
