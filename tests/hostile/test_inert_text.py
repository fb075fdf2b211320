"""Stored hostile text is shown as inert text: on the case page (no element or attribute it adds), in
the API (JSON strings) and in the case summary PDF (printed literally, fetching nothing)."""

import html.parser
import re
import subprocess
import unicodedata
from collections import Counter

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from cases import models as m
from tests import factories as f
from tests.hostile import payloads as hc
from tests.hostile.harness import TALLY


def tagged(tag: str, value: str, max_length: int | None = None) -> str:
    """The payload behind a tag naming its field, so each field can be found on each surface."""
    text = f"[{tag}] {value}"
    return text[:max_length] if max_length else text


def case_full_of(text, board, users, meeting) -> m.Case:
    """A case whose every free-text field a person can fill holds `text(tag, max_length)`."""
    chair, radiologist, pathologist = users["chair"], users["radiologist"], users["pathologist"]
    patient = f.PatientFactory(
        registered_board=board,
        given_name=text("gn", 100),
        family_name=text("fn", 100),
        mrn=text("mrn", 32),
        comorbidities=text("co"),
    )
    case = f.CaseFactory(
        board=board,
        patient=patient,
        stage="consensus",
        referring_clinician=text("rc", 200),
        clinical_question=text("cq"),
        history=text("hx"),
        key_labs=text("kl"),
        no_pathology_reason=text("np"),
    )
    study = f.ImagingStudyFactory(
        case=case,
        radiologist=radiologist,
        body_site=text("bs", 200),
        accession_number=text("acc", 64),
        findings=text("fi"),
        impression=text("im"),
    )
    m.KeyImage.objects.create(study=study, image=f.png_upload(), caption=text("cap", 300))
    report = f.PathologyReportFactory(
        case=case, pathologist=pathologist, specimen=text("sp", 300), procedure=text("pr", 300), diagnosis=text("dx")
    )
    m.PathologyReport.objects.create(
        case=case,
        supersedes=report,
        status="amended",
        discrepancy="major",
        diagnosis=text("ad"),
        amendment_reason=text("ar"),
        specimen=report.specimen,
        procedure=report.procedure,
        collected_on=report.collected_on,
        pathologist=pathologist,
        signed_out_at=timezone.now(),
    )
    f.OpinionFactory(
        case=case, specialty="radiology", author=radiologist, assessment=text("as"), recommendation=text("re")
    )
    decision = f.DecisionFactory(
        case=case,
        meeting=meeting,
        recorded_by=chair,
        consensus_diagnosis=text("cd"),
        rationale=text("ra"),
        dissent=text("di"),
        plan=[{"category": "surveillance", "detail": text("pl", 2000)}],
        status="signed",
        signed_by=chair,
        signed_at=timezone.now(),
    )
    m.FollowUp.objects.create(
        case=case,
        decision=decision,
        kind="action",
        category="surveillance",
        description=text("fu", 500),
        owner=chair,
        due_on=timezone.localdate(),
        status="deviated",
        deviation_code="other",
        deviation_reason=text("dv"),
        completed_at=timezone.now(),
    )
    m.CaseEvent.objects.create(
        case=case, kind="transition", from_stage="pathology", to_stage="consensus", summary="Moved", note=text("tn")
    )
    m.AgendaItem.objects.create(meeting=meeting, case=case, position=1, outcome="deferred", deferral_reason=text("dr"))
    return case


class PageParser(html.parser.HTMLParser):
    """The elements and attributes of a page, and its text as a browser would show it."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.elements, self.attributes, self.chunks = Counter(), Counter(), []

    def handle_starttag(self, tag, attrs):
        self.elements[tag] += 1
        self.attributes.update(f"{tag}[{name}]" for name, _ in attrs)
        for name, value in attrs:
            if (
                value
                and name in ("src", "href", "style")
                and re.search(r"file:|javascript:|tumorboard\.invalid", value)
            ):
                self.chunks.append(f"\0LIVE {tag}[{name}]={value}\0")

    def handle_data(self, data):
        self.chunks.append(data)

    @property
    def text(self) -> str:
        return "".join(self.chunks)


def parsed(content: bytes) -> PageParser:
    parser = PageParser()
    parser.feed(content.decode())
    parser.close()
    return parser


def pdf_text_in_reading_order(content: bytes) -> str:
    """pdftotext -raw: the order WeasyPrint drew the text in (-layout interleaves the lines of table cells)."""
    result = subprocess.run(["pdftotext", "-raw", "-enc", "UTF-8", "-", "-"], input=content, capture_output=True)
    assert result.returncode == 0, result.stderr
    return result.stdout.decode()


def squeezed(text: str) -> str:
    """Without spaces, line breaks or invisible format characters (pdftotext drops them), in one case."""
    return "".join(c for c in text if not c.isspace() and unicodedata.category(c) != "Cf").casefold()


def json_strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from json_strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from json_strings(item)


# Where each field must appear (tags of case_full_of). The page and the PDF show the same record.
SHOWN = {"gn", "fn", "mrn", "co", "rc", "cq", "hx", "kl", "np", "bs", "acc", "fi", "im", "cap", "sp", "pr", "dx"}
SHOWN |= {"ad", "ar", "as", "re", "cd", "ra", "di", "pl", "fu", "dv", "tn", "dr"}
IN_API = SHOWN - {"co", "tn"}  # the patient summary of a case leaves out comorbidities; the timeline is its own
IN_PDF = SHOWN - {"tn", "dr", "np"}  # the summary prints the record: no timeline, agenda or reason for no pathology


@pytest.mark.parametrize("payload", hc.TEXT_PAYLOADS, ids=lambda p: p.name)
def test_stored_hostile_text_is_shown_as_inert_text_on_the_page_in_the_api_and_in_the_pdf(
    payload, board, coordinator, chair, specialists, quorate_meeting
):
    users = {"chair": chair, **{u.username: u for u in specialists.values()}}
    baseline = case_full_of(lambda tag, limit=None: tagged(tag, "plain words", limit), board, users, quorate_meeting)
    case = case_full_of(lambda tag, limit=None: tagged(tag, payload.value, limit), board, users, quorate_meeting)
    values = {tag: tagged(tag, payload.value, limit) for tag, limit in TAG_LIMITS.items()}
    client = Client()
    client.force_login(chair)

    plain, page = (parsed(client.get(reverse("case-detail", args=[c.pk])).content) for c in (baseline, case))
    assert "\0LIVE" not in page.text, [c for c in page.chunks if c.startswith("\0LIVE")]
    assert page.elements == plain.elements, "the text added elements to the page"
    assert page.attributes == plain.attributes, "the text added attributes to the page"
    shown = {tag for tag, value in values.items() if value in page.text}
    assert shown >= SHOWN, f"not shown as text on the case page: {sorted(SHOWN - shown)}"

    api = APIClient()
    api.force_login(chair)
    response = api.get(f"/api/v1/cases/{case.pk}/")
    assert response["Content-Type"] == "application/json"
    strings = set(json_strings(response.json()))
    assert {tag for tag, value in values.items() if value in strings} >= IN_API

    pdf = client.get(reverse("case-summary-pdf", args=[case.pk]))
    assert pdf.status_code == 200
    text = squeezed(pdf_text_in_reading_order(pdf.content))
    if "\u202e" in payload.value:
        # The override reverses its own text only: the paper isolates it (cases/printing/context.py).
        assert text.count(squeezed(payload.value[::-1])) >= len(IN_PDF)
    else:
        printed = {tag for tag, value in values.items() if squeezed(value) in text}
        assert printed >= IN_PDF, f"not printed literally: {sorted(IN_PDF - printed)}"
    assert "root:x:0:0" not in text  # <img src=file:///etc/passwd> fetched nothing
    TALLY["display"] += 1


TAG_LIMITS = {
    "gn": 100, "fn": 100, "mrn": 32, "co": None, "rc": 200, "cq": None, "hx": None, "kl": None, "np": None,
    "bs": 200, "acc": 64, "fi": None, "im": None, "cap": 300, "sp": 300, "pr": 300, "dx": None, "ad": None,
    "ar": None, "as": None, "re": None, "cd": None, "ra": None, "di": None, "pl": 2000, "fu": 500, "dv": None,
    "tn": None, "dr": None,
}  # fmt: skip
