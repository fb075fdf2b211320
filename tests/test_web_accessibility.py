"""Accessibility the portal promises: a label on every field, headings in order, images with text,
and colours with enough contrast (WCAG AA, 4.5:1 for text). Keyboard use and tablet widths are
checked in the real browser (tests/test_web_browser.py)."""

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from cases import models as m
from cases.services import pathology
from tests import factories as f

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
UNLABELLED_TYPES = {"hidden", "submit", "button", "reset", "image"}


class PageAudit(HTMLParser):
    """Collects headings, form controls (and whether a label names them) and images of one page."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.headings: list[int] = []
        self.label_targets: set[str] = set()
        self.controls: list[dict] = []
        self.images_without_alt: list[str] = []
        self.lang = None
        self.open_labels = 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "html":
            self.lang = attrs.get("lang")
        if re.fullmatch(r"h[1-6]", tag):
            self.headings.append(int(tag[1]))
        if tag == "label":
            self.open_labels += 1
            if attrs.get("for"):
                self.label_targets.add(attrs["for"])
        if tag == "img" and not (attrs.get("alt") or "").strip():
            self.images_without_alt.append(attrs.get("src", "?"))
        if tag in {"input", "select", "textarea"} and attrs.get("type", "text") not in UNLABELLED_TYPES:
            self.controls.append({**attrs, "tag": tag, "in_label": self.open_labels > 0})

    def handle_endtag(self, tag):
        if tag == "label":
            self.open_labels -= 1

    def unlabelled(self) -> list[str]:
        return [
            c.get("name", c["tag"])
            for c in self.controls
            if not (
                c["in_label"] or c.get("id") in self.label_targets or c.get("aria-label") or c.get("aria-labelledby")
            )
        ]


def audit(response) -> PageAudit:
    assert response.status_code in (200, 403, 404), response.status_code
    parser = PageAudit()
    parser.feed(response.content.decode())
    return parser


@pytest.fixture
def world(make_case, coordinator, chair, pathologist, orthopaedic, quorate_meeting):
    """A case far enough along that its page shows every section, and a meeting with it on the agenda."""
    case = make_case("consensus")
    report = case.pathology_reports.get()
    pathology.pathology_report_amend(
        report=report, by=pathologist, diagnosis="Changed.", amendment_reason="Re-read.", discrepancy="major"
    )
    study = case.imaging_studies.get()
    m.KeyImage.objects.create(study=study, image=f.png_upload(), caption="Key image")
    decision = f.DecisionFactory(case=case, meeting=quorate_meeting, recorded_by=coordinator)
    follow_up = m.FollowUp.objects.create(
        case=case, kind="action", description="Review", owner=orthopaedic, due_on=timezone.localdate()
    )
    item = m.AgendaItem.objects.create(meeting=quorate_meeting, case=case, position=1)
    return {
        "case": case,
        "report": case.pathology_reports.get(status="amended"),
        "decision": decision,
        "follow_up": follow_up,
        "meeting": quorate_meeting,
        "item": item,
    }


def pages(world) -> list[tuple[str, str]]:
    case, meeting = world["case"], world["meeting"]
    return [
        ("coordinator", reverse("dashboard")),
        ("coordinator", reverse("case-list")),
        ("coordinator", reverse("case-detail", args=[case.pk])),
        ("chair", reverse("case-detail", args=[case.pk])),
        ("coordinator", reverse("patient-detail", args=[case.patient_id])),
        ("coordinator", reverse("meeting-list")),
        ("coordinator", reverse("meeting-detail", args=[meeting.pk])),
        ("chair", reverse("meeting-run", args=[meeting.pk])),
        ("coordinator", reverse("patient-new")),
        ("coordinator", reverse("case-new", args=[case.patient_id])),
        ("coordinator", reverse("referral-edit", args=[case.pk])),
        ("coordinator", reverse("case-move", args=[case.pk, "imaging"])),
        ("coordinator", reverse("decision-edit", args=[case.pk])),
        ("coordinator", reverse("surveillance-apply", args=[case.pk])),
        ("coordinator", reverse("follow-up-deviate", args=[world["follow_up"].pk])),
        ("coordinator", reverse("meeting-new")),
        ("coordinator", reverse("password_change")),
        ("radiologist", reverse("imaging-new", args=[case.pk])),
        ("pathologist", reverse("pathology-new", args=[case.pk])),
        ("pathologist", reverse("pathology-amend", args=[world["report"].pk])),
        ("orthopaedic", reverse("opinion-edit", args=[case.pk])),
        ("radiologist", reverse("decision-edit", args=[case.pk])),  # the 403 page
        ("outsider", reverse("case-detail", args=[case.pk])),  # the 404 page
    ]


def test_every_page_labels_its_fields_orders_its_headings_and_describes_its_images(
    client, world, django_user_model, specialists, outsider
):
    problems = []
    for username, url in pages(world):
        client.force_login(django_user_model.objects.get(username=username))
        page = audit(client.get(url))
        levels = page.headings
        if page.lang != "en":
            problems.append(f"{url}: no lang")
        if levels.count(1) != 1 or levels[0] != 1:
            problems.append(f"{url}: needs exactly one h1, first ({levels})")
        if any(b - a > 1 for a, b in zip(levels, levels[1:], strict=False)):
            problems.append(f"{url}: a heading level is skipped ({levels})")
        if page.unlabelled():
            problems.append(f"{url} as {username}: fields without a label {page.unlabelled()}")
        if page.images_without_alt:
            problems.append(f"{url}: images without alt {page.images_without_alt}")
    assert problems == []


def test_the_login_page_is_accessible(client, db):
    page = audit(client.get(reverse("login")))
    assert page.unlabelled() == [] and page.headings == [1] and page.lang == "en"


# Contrast ----------------------------------------------------------------------------------------

CSS = Path(settings.BASE_DIR, "static", "css", "app.css").read_text()
VARIABLES = dict(re.findall(r"--([\w-]+):\s*(#[0-9a-fA-F]{6})", CSS))


def colour(value: str) -> str:
    return VARIABLES[value[2:]] if value.startswith("--") else value


def luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(foreground: str, background: str) -> float:
    lighter, darker = sorted((luminance(colour(foreground)), luminance(colour(background))), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


# Text colour on background colour, as app.css pairs them (variables or literal colours).
PAIRS = [
    ("--ink", "--card"),
    ("--ink", "--bg"),
    ("--muted", "--card"),
    ("--muted", "--bg"),
    ("--accent", "--card"),
    ("--accent", "--accent-soft"),
    ("--accent-ink", "--accent"),
    ("--danger", "--card"),
    ("--danger", "--danger-soft"),
    ("--warn-ink", "--warn-soft"),
    ("--ok-ink", "--ok-soft"),
    ("#ffffff", "#15344d"),  # top bar, current stage
    ("#ffffff", "--danger"),  # urgent, overdue, major discrepancy badges
    ("#2c3a48", "#e8edf2"),  # grey badges
    ("#14467a", "#dcebfa"),  # imaging stage
    ("#4b2a80", "#ece3f8"),  # pathology stage
    ("#6b3a00", "#ffe7c7"),  # revised pathology stage, amended badge
    ("#0f5149", "#d8f1ee"),  # consensus stage
    ("#ffffff", "#3a4654"),  # closed stage
    ("#173f5f", "#cfe0ee"),  # stages already passed
    ("#ffffff", "#4a4f57"),  # superseded label
    ("#5a3437", "--danger-soft"),  # the superseded diagnosis in the change box
    ("--ink", "#fff2a8"),  # the new diagnosis in the change box
    ("#4a4f57", "#efefef"),  # a superseded report's struck-through text
]


@pytest.mark.parametrize(("foreground", "background"), PAIRS)
def test_text_colours_have_enough_contrast(foreground, background):
    assert contrast(foreground, background) >= 4.5, (
        f"{foreground} on {background}: {contrast(foreground, background):.2f}"
    )


def test_the_contrast_pairs_are_the_colours_the_stylesheet_uses():
    literals = {value.lower() for pair in PAIRS for value in pair if value.startswith("#")}
    assert literals <= set(re.findall(r"#[0-9a-f]{6}", CSS.lower()))
