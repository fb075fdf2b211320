"""Printing from the portal and the command line: access control, audit, and the demo's own papers."""

import subprocess
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from cases import models as m
from cases.demo import SEED_MRN, DemoBuilder
from tests import factories as f
from tests.conftest import audit_actions, pdf_pages_text

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


@pytest.fixture
def listed_meeting(board, coordinator, make_case):
    meeting = f.MeetingFactory(board=board, created_by=coordinator)
    for position in (1, 2):
        m.AgendaItem.objects.create(meeting=meeting, case=make_case("imaging"), position=position)
    return meeting


def test_a_member_downloads_the_case_summary_and_the_print_is_audited(client, case, radiologist):
    client.force_login(radiologist)
    response = client.get(reverse("case-summary-pdf", args=[case.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == f'attachment; filename="case-{case.pk}-summary.pdf"'
    assert "no-store" in response["Cache-Control"]
    assert response.content.startswith(b"%PDF")
    event = m.AuditEvent.objects.get(action="case.print")
    assert (event.actor, event.case_id, event.changes["pdfa"]) == (radiologist, case.pk, False)


def test_the_deidentified_packet_is_gone_and_points_to_teaching_sets(client, listed_meeting, coordinator):
    client.force_login(coordinator)
    response = client.get(reverse("meeting-packet-pdf", args=[listed_meeting.pk]), {"deidentify": "1"})
    assert response.status_code == 410
    assert b"teaching set" in response.content and response["Content-Type"].startswith("text/html")
    assert reverse("teaching-list").encode() in response.content and b"try again" not in response.content
    assert not m.AuditEvent.objects.filter(action="meeting.print").exists()
    with pytest.raises(CommandError, match="teaching set"):
        call_command("print_packet", listed_meeting.pk, "--as", "coordinator", "--out", "/dev/null", "--deidentify")


def test_another_board_gets_not_found_and_nothing_is_audited(client, case, listed_meeting, outsider):
    client.force_login(outsider)
    assert client.get(reverse("case-summary-pdf", args=[case.pk])).status_code == 404
    assert client.get(reverse("meeting-packet-pdf", args=[listed_meeting.pk])).status_code == 404
    assert audit_actions(action__endswith=".print") == []


def test_a_bad_flag_is_refused_and_anonymous_users_are_sent_to_log_in(client, case, coordinator):
    assert client.get(reverse("case-summary-pdf", args=[case.pk])).status_code == 302
    client.force_login(coordinator)
    response = client.get(reverse("case-summary-pdf", args=[case.pk]), {"pdfa": "maybe"})
    assert response.status_code == 400 and b"pdfa must be 0 or 1" in response.content


def test_the_commands_print_as_the_named_user_and_are_audited(tmp_path, case, listed_meeting, coordinator):
    call_command("print_case", case.pk, "--as", "coordinator", "--out", tmp_path / "case.pdf", "--pdfa")
    call_command("print_packet", listed_meeting.pk, "--as", "coordinator", "--out", tmp_path / "p.pdf")
    assert (tmp_path / "case.pdf").read_bytes().startswith(b"%PDF")
    assert len(pdf_pages_text((tmp_path / "p.pdf").read_bytes())) >= 4
    events = list(m.AuditEvent.objects.filter(action__endswith=".print").order_by("id"))
    assert [(e.action, e.actor, e.changes["via"]) for e in events] == [
        ("case.print", coordinator, "command"),
        ("meeting.print", coordinator, "command"),
    ]
    assert events[0].changes["pdfa"] is True and events[1].changes["pdfa"] is False


def test_the_commands_refuse_an_unknown_user_and_an_invisible_case(tmp_path, case, outsider):
    with pytest.raises(CommandError, match="No active user"):
        call_command("print_case", case.pk, "--as", "nobody", "--out", tmp_path / "x.pdf")
    with pytest.raises(CommandError, match="not visible to outsider"):
        call_command("print_case", case.pk, "--as", "outsider", "--out", tmp_path / "x.pdf")
    assert not (tmp_path / "x.pdf").exists()


def test_the_demo_seed_case_and_meetings_print_from_the_web_and_the_command_line(db, client, tmp_path):
    DemoBuilder().build()
    seed = m.Case.objects.get(patient__mrn=SEED_MRN)
    sarcoma, breast = m.Meeting.objects.filter(status="scheduled").order_by("board__name").reverse()
    coordinator = m.Patient.objects.get(mrn=SEED_MRN).created_by
    client.force_login(coordinator)
    summary = client.get(reverse("case-summary-pdf", args=[seed.pk]))
    assert summary.status_code == 200
    text = " ".join(" ".join(pdf_pages_text(summary.content)).split())
    assert "VOSS, Elena" in text and "SUPERSEDED BY REPORT" in text and "Diagnosis changed" in text
    call_command("print_packet", sarcoma.pk, "--as", "coordinator", "--out", tmp_path / "sarcoma.pdf")
    call_command("print_packet", breast.pk, "--as", "coordinator", "--out", tmp_path / "breast.pdf")
    assert sarcoma.is_published and not breast.is_published
    # A page to look at: the demo packet's cover, kept as a test artifact.
    ARTIFACTS.mkdir(exist_ok=True)
    for name in ("sarcoma", "breast"):
        subprocess.run(
            [
                "pdftoppm",
                "-png",
                "-r",
                "60",
                "-f",
                "1",
                "-l",
                "1",
                "-singlefile",
                tmp_path / f"{name}.pdf",
                ARTIFACTS / f"demo-{name}-packet-page1",
            ],
            check=True,
        )
        assert (ARTIFACTS / f"demo-{name}-packet-page1.png").stat().st_size > 10_000


def test_a_meeting_with_an_empty_agenda_prints_from_the_portal_too(db, board, coordinator):
    from django.test import Client

    from tests import factories as f

    empty = f.MeetingFactory(board=board, created_by=coordinator)
    client = Client()
    client.force_login(coordinator)
    response = client.get(f"/meetings/{empty.pk}/packet.pdf")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
