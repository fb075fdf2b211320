"""The portal's print buttons: on the case page (summary, PDF/A) and on the meeting page (packet,
de-identified packet), shown to every member of the board, and following them gives the PDF."""

import io
from html.parser import HTMLParser

import pytest
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from cases import models as m
from tests import factories as f

MEMBERS = ["coordinator", "chair", "radiologist", "pathologist", "orthopaedic", "radonc"]


class PrintButtons(HTMLParser):
    """The links inside each group labelled "Print …", as {group label: {link text: (href, attributes)}}."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.groups: dict[str, dict[str, tuple[str, dict]]] = {}
        self.notes: list[str] = []
        self.depth = 0  # open elements inside the current print group
        self.group = None
        self.link = None
        self.note = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if self.group is None:
            if attrs.get("role") == "group" and (attrs.get("aria-label") or "").startswith("Print"):
                self.group, self.depth = attrs["aria-label"], 1
                self.groups[self.group] = {}
            return
        self.depth += tag not in {"br", "img", "input"}
        if tag == "a":
            self.link = [attrs.get("href"), attrs, ""]
        elif tag == "p":
            self.note = ""

    def handle_data(self, data):
        if self.link is not None:
            self.link[2] += data
        elif self.note is not None:
            self.note += data

    def handle_endtag(self, tag):
        if self.group is None:
            return
        if tag == "a" and self.link is not None:
            href, attrs, text = self.link
            self.groups[self.group][" ".join(text.split())] = (href, attrs)
            self.link = None
        elif tag == "p" and self.note is not None:
            self.notes.append(" ".join(self.note.split()))
            self.note = None
        self.depth -= 1
        if self.depth == 0:
            self.group = None


def buttons(response) -> PrintButtons:
    assert response.status_code == 200
    parser = PrintButtons()
    parser.feed(response.content.decode())
    return parser


def text_of(content: bytes) -> str:
    reader = PdfReader(io.BytesIO(content))
    return " ".join(" ".join((page.extract_text() or "").split()) for page in reader.pages)


def follow(client, href: str):
    """Follow a print button: the download it gives, checked to be a PDF attachment."""
    response = client.get(href)
    assert response.status_code == 200, href
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("attachment;")
    return response


@pytest.fixture
def named_case(board, coordinator):
    return f.CaseFactory(
        board=board, created_by=coordinator, patient__given_name="Ines", patient__family_name="Quillfeather"
    )


@pytest.fixture
def meeting(board, coordinator, named_case):
    """An unpublished agenda with the named case on it."""
    meeting = f.MeetingFactory(board=board, created_by=coordinator)
    m.AgendaItem.objects.create(meeting=meeting, case=named_case, position=1)
    return meeting


# The case page -------------------------------------------------------------------------------


@pytest.mark.parametrize("member", MEMBERS)
def test_every_member_sees_the_case_pages_print_buttons(member, request, signed_in, named_case):
    client = signed_in(request.getfixturevalue(member))
    page = buttons(client.get(reverse("case-detail", args=[named_case.pk])))
    summary = reverse("case-summary-pdf", args=[named_case.pk])
    links = page.groups["Print the case summary"]
    assert {text: href for text, (href, _) in links.items()} == {
        "Print summary": summary,
        "PDF/A for the archive": f"{summary}?pdfa=1",
        "Prepare a teaching set": reverse("teaching-new-case", args=[named_case.pk]),
    }
    # Plain links: reachable with Tab, followed with Enter, with or without JavaScript.
    assert all("tabindex" not in attrs for _, attrs in links.values())


def test_the_case_pages_buttons_give_the_summary_and_its_pdfa_variant(signed_in, coordinator, named_case):
    client = signed_in(coordinator)
    links = buttons(client.get(reverse("case-detail", args=[named_case.pk]))).groups["Print the case summary"]
    summary = follow(client, links["Print summary"][0])
    assert "QUILLFEATHER, Ines" in text_of(summary.content)
    pdfa = follow(client, links["PDF/A for the archive"][0])
    assert pdfa["Content-Disposition"].endswith('-summary-pdfa.pdf"')
    xmp = PdfReader(io.BytesIO(pdfa.content)).trailer["/Root"]["/Metadata"].get_object().get_data()
    assert b'pdfaid:part="3"' in xmp
    printed = m.AuditEvent.objects.filter(action="case.print").order_by("sequence")
    assert [(e.actor, e.changes["pdfa"]) for e in printed] == [(coordinator, False), (coordinator, True)]


def test_the_in_meeting_view_of_a_case_has_no_case_print_buttons(signed_in, chair, meeting):
    page = buttons(signed_in(chair).get(reverse("meeting-run", args=[meeting.pk])))
    assert "Print the case summary" not in page.groups


# The meeting page ----------------------------------------------------------------------------


@pytest.mark.parametrize("member", MEMBERS)
def test_every_member_sees_the_meeting_pages_print_buttons_and_the_draft_note(member, request, signed_in, meeting):
    client = signed_in(request.getfixturevalue(member))
    page = buttons(client.get(reverse("meeting-detail", args=[meeting.pk])))
    packet = reverse("meeting-packet-pdf", args=[meeting.pk])
    links = page.groups["Print the meeting packet"]
    assert {text: href for text, (href, _) in links.items()} == {
        "Print packet": packet,
        "Prepare a teaching set": reverse("teaching-new-meeting", args=[meeting.pk]),
    }
    assert page.notes == ["The agenda is not published yet: a packet printed now carries a DRAFT watermark."]


def test_the_packet_button_gives_the_draft_packet_and_no_deidentified_one_is_offered(signed_in, radiologist, meeting):
    client = signed_in(radiologist)
    page = client.get(reverse("meeting-detail", args=[meeting.pk]))
    links = buttons(page).groups["Print the meeting packet"]
    packet = text_of(follow(client, links["Print packet"][0]).content)
    assert "QUILLFEATHER, Ines" in packet and "DRAFT" in packet
    assert b"deidentify" not in page.content
    printed = m.AuditEvent.objects.filter(action="meeting.print").order_by("sequence")
    assert [(e.actor, e.changes["pdfa"]) for e in printed] == [(radiologist, False)]


def test_once_the_agenda_is_published_the_draft_note_goes_and_the_packet_is_no_draft(signed_in, coordinator, meeting):
    meeting.agenda_published_at = timezone.now()
    meeting.save()
    client = signed_in(coordinator)
    page = buttons(client.get(reverse("meeting-detail", args=[meeting.pk])))
    assert not any("DRAFT" in note for note in page.notes)
    packet = follow(client, page.groups["Print the meeting packet"]["Print packet"][0])
    assert "DRAFT" not in text_of(packet.content)


def test_an_empty_agenda_offers_no_packet_yet(signed_in, coordinator, board):
    empty = f.MeetingFactory(board=board, created_by=coordinator)
    page = buttons(signed_in(coordinator).get(reverse("meeting-detail", args=[empty.pk])))
    assert page.groups["Print the meeting packet"] == {}
    assert page.notes == ["The packet can be printed once a case is on the agenda."]
