"""Notifications: inbox and e-mail, sent by background jobs over a real SMTP server (aiosmtpd on loopback),
with preferences (at once or in a daily digest), an ICS invitation for agendas, and never a patient's name
or clinical text in any subject or body."""

import email
import email.policy
import socket
from datetime import timedelta

import icalendar
import pytest
from aiosmtpd.controller import Controller
from django.urls import reverse
from django.utils import timezone

from cases import models as m
from cases.jobs import worker
from cases.services import meetings
from cases.services.notify import notification_preferences_set, notify_follow_ups_due
from tests import factories as f

pytestmark = pytest.mark.django_db


class Inbox:
    def __init__(self):
        self.messages = []
        self.refuse = False
        self.sessions = []  # (over TLS, signed in as) of each message

    async def handle_DATA(self, server, session, envelope):
        if self.refuse:
            return "451 Try again later"
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        self.sessions.append((session.ssl is not None, session.auth_data and session.auth_data.login.decode()))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtp(settings):
    """A real SMTP server on loopback; Django's SMTP backend sends to it."""
    handler = Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", controller.port
    settings.PORTAL_URL = "https://tumorboard.hospital.example"
    settings.JOBS_INLINE = False
    yield handler
    controller.stop()


def run_jobs() -> int:
    count = 0
    while worker.run_once("test-worker"):
        count += 1
    return count


@pytest.fixture
def published(board, coordinator, specialists, make_case, django_capture_on_commit_callbacks):
    for user in [coordinator, *specialists.values()]:
        user.email = f"{user.username}@example.org"
        user.save()
    meeting = f.MeetingFactory(board=board, created_by=coordinator)
    case = make_case("consensus")
    case.opinions.filter(specialty="pathology").delete()  # pathology's input is missing
    meetings.agenda_add(meeting=meeting, case=case, by=coordinator, presenter=specialists["radiology"])
    with django_capture_on_commit_callbacks(execute=True):
        meetings.agenda_publish(meeting=meeting, by=coordinator)
    return meeting, case


def identifiers(case) -> list[str]:
    return [case.patient.given_name, case.patient.family_name, case.patient.mrn, case.clinical_question[:30]]


def test_publishing_an_agenda_emails_every_member_an_invitation_with_their_slot(smtp, published, radiologist):
    meeting, case = published
    assert run_jobs() >= 5
    to = sorted(message["To"] for message in smtp.messages if "agenda published" in message["Subject"])
    assert to == sorted(
        f"{name}@example.org" for name in ["coordinator", "radiologist", "pathologist", "orthopaedic", "radonc"]
    )
    mine = next(msg for msg in smtp.messages if msg["To"] == "radiologist@example.org" and "agenda" in msg["Subject"])
    assert f"https://tumorboard.hospital.example/meetings/{meeting.pk}/" in mine.get_body().get_content()
    (attachment,) = [part for part in mine.iter_attachments() if part.get_content_type() == "text/calendar"]
    calendar = icalendar.Calendar.from_ical(attachment.get_content())
    assert attachment["Content-Type"].lower().count("charset") == 1 and attachment.get_param("method") == "PUBLISH"
    (event,) = calendar.walk("VEVENT")
    assert f"You present case {case.pk}," in event["DESCRIPTION"]
    assert m.AuditEvent.objects.filter(action="notification.sent").count() == len(smtp.messages)


def test_the_missing_specialty_is_asked_for_its_input(smtp, published, pathologist):
    meeting, case = published
    run_jobs()
    asked = [msg for msg in smtp.messages if msg["Subject"].startswith("Input needed")]
    assert [msg["To"] for msg in asked] == ["pathologist@example.org"]
    assert f"case {case.pk}" in asked[0]["Subject"]
    assert m.Notification.objects.get(kind="input_requested").user == pathologist


def test_no_email_names_a_patient_or_carries_clinical_text(smtp, published):
    meeting, case = published
    run_jobs()
    assert smtp.messages
    for message in smtp.messages:
        text = message["Subject"] + message.get_body().get_content()
        for secret in identifiers(case):
            assert secret not in text, (secret, message["Subject"])


def test_the_inbox_lists_them_with_the_unread_count(signed_in, smtp, published, pathologist):
    portal = signed_in(pathologist)
    page = portal.get(reverse("inbox")).content.decode()
    assert "2 unread" in page and "Input needed on case" in page
    portal.post(reverse("inbox-read"), {"all": "1"})
    assert "0 unread" in portal.get(reverse("inbox")).content.decode()


@pytest.fixture
def digest_waiting(smtp, board, coordinator, radiologist, make_case, django_capture_on_commit_callbacks):
    """The radiologist keeps agenda news for the digest; an agenda is published: one notification waits."""
    radiologist.email = "radiologist@example.org"
    radiologist.save()
    notification_preferences_set(user=radiologist, deliveries={"agenda": "digest"})
    meeting = f.MeetingFactory(board=board, created_by=coordinator)
    meetings.agenda_add(meeting=meeting, case=make_case("consensus"), by=coordinator)
    with django_capture_on_commit_callbacks(execute=True):
        meetings.agenda_publish(meeting=meeting, by=coordinator)
    run_jobs()
    return radiologist


def test_a_digest_preference_holds_the_email_for_the_daily_digest(smtp, digest_waiting):
    radiologist = digest_waiting
    assert [msg["To"] for msg in smtp.messages] == []
    from django.core.management import call_command

    call_command("notify_daily")
    run_jobs()
    (digest,) = smtp.messages
    assert digest["Subject"] == "Tumor board: your daily digest (1)"
    assert m.AuditEvent.objects.filter(action="notification.preferences", actor=radiologist).exists()


def test_the_worker_queues_the_daily_round_itself_once_a_day(
    smtp, digest_waiting, settings, django_capture_on_commit_callbacks
):
    """No cron needed (make run has none): past TUMORBOARD_DAILY_AT a worker queues the day's round, keyed by the
    day, so two workers queue one job; the round sends the digest as the command does."""
    from datetime import datetime

    from cases.jobs.worker import daily_round_due, queue_daily_round

    settings.TUMORBOARD_DAILY_AT = "07:00"
    early = timezone.make_aware(datetime(2026, 12, 8, 6, 59))
    late = timezone.make_aware(datetime(2026, 12, 8, 7, 0))
    assert daily_round_due(early) is None and queue_daily_round(early) is None
    assert daily_round_due(late) == "2026-12-08"
    first, second = queue_daily_round(late), queue_daily_round(late)  # two workers
    assert first.pk == second.pk and m.Job.objects.filter(kind="notify.daily").count() == 1
    with django_capture_on_commit_callbacks(execute=True):
        run_jobs()
    run_jobs()
    first.refresh_from_db()
    assert first.status == m.JobStatus.DONE and first.result["digests"] == 1
    assert [msg["Subject"] for msg in smtp.messages] == ["Tumor board: your daily digest (1)"]
    settings.TUMORBOARD_DAILY_AT = ""
    assert daily_round_due(late) is None


def test_a_round_queued_before_midnight_and_run_after_it_keeps_its_own_day(smtp, digest_waiting, settings):
    """Its digest key is the day it was queued for: the next day's round still sends that day's digest."""
    from datetime import datetime
    from unittest import mock

    from cases.jobs.worker import queue_daily_round

    settings.TUMORBOARD_DAILY_AT = "07:00"
    queue_daily_round(timezone.make_aware(datetime(2026, 12, 8, 23, 59)))
    after_midnight = timezone.make_aware(datetime(2026, 12, 9, 0, 1))
    with mock.patch("django.utils.timezone.now", return_value=after_midnight):
        run_jobs()
    assert m.Job.objects.filter(kind="notify.digest", key__endswith=":2026-12-08").count() == 1
    assert not m.Job.objects.filter(key__endswith=":2026-12-09").exists()


def test_a_failing_mail_server_never_blocks_the_action_and_the_send_is_retried(smtp, published, settings):
    meeting, case = published
    assert m.Meeting.objects.get(pk=meeting.pk).is_published  # the action happened
    smtp.refuse = True
    run_jobs()
    failed = m.Job.objects.filter(kind="notify.email", status=m.JobStatus.QUEUED, attempts=1)
    assert failed.count() == m.Job.objects.filter(kind="notify.email").count() > 0
    assert "451" in failed.first().error
    smtp.refuse = False
    failed.update(run_after=timezone.now())
    run_jobs()
    assert m.Job.objects.filter(kind="notify.email", status=m.JobStatus.DONE).count() == len(smtp.messages)
    assert not m.Notification.objects.filter(email_status="pending").exclude(email="").exists()


def test_a_job_run_twice_sends_the_email_once(smtp, published):
    run_jobs()
    sent = len(smtp.messages)
    job = m.Job.objects.filter(kind="notify.email").first()
    from cases.jobs.tasks import notify_email

    notify_email(job, progress=None, **job.args)
    assert len(smtp.messages) == sent


def test_follow_up_owners_hear_once_when_due_and_once_when_overdue(smtp, board, case, chair):
    chair.email = "chair@example.org"
    chair.save()
    follow_up = m.FollowUp.objects.create(
        case=case,
        kind=m.FollowUpKind.ACTION,
        description="Review at clinic",
        owner=chair,
        due_on=timezone.localdate() + timedelta(days=3),
    )
    today = timezone.localdate()
    assert len(notify_follow_ups_due(today=today)) == 1
    assert notify_follow_ups_due(today=today) == []
    assert len(notify_follow_ups_due(today=follow_up.due_on + timedelta(days=1))) == 1
    subjects = list(m.Notification.objects.values_list("subject", flat=True).order_by("id"))
    assert subjects[0].endswith(f"is due ({follow_up.due_on:%d %b %Y})") and "overdue" in subjects[1]


def test_the_notification_settings_page_saves_each_kind(signed_in, coordinator):
    portal = signed_in(coordinator)
    data = dict.fromkeys(m.NotificationKind.values, "immediate") | {"follow_up_due": "digest"}
    assert portal.post(reverse("notification-preferences"), data).status_code == 302
    assert m.NotificationPreference.objects.get(user=coordinator, kind="follow_up_due").delivery == "digest"
    refused = portal.post(reverse("notification-preferences"), {**data, "agenda": "hourly"})
    assert refused.status_code == 400
    # Messages to referrers go to an address, never to a user: the page offers no setting for them.
    page = portal.get(reverse("notification-preferences")).content.decode()
    assert 'name="agenda"' in page and 'name="decision_signed"' not in page and 'name="pathology_amended"' not in page


# The agenda changes after publication: members are told, and the invitation replaces the one they hold -----


def invitation(message) -> icalendar.Calendar:
    (part,) = [part for part in message.iter_attachments() if part.get_content_type() == "text/calendar"]
    return icalendar.Calendar.from_ical(part.get_content())


def event_of(message) -> icalendar.Event:
    (event,) = invitation(message).walk("VEVENT")
    return event


def to_radiologist(smtp, subject_part: str):
    return [msg for msg in smtp.messages if msg["To"] == "radiologist@example.org" and subject_part in msg["Subject"]]


@pytest.fixture
def told(smtp, published):
    """The published agenda's invitations are out; the test then changes the meeting and reads what follows."""
    meeting, case = published
    run_jobs()
    (first,) = to_radiologist(smtp, "agenda published")
    smtp.messages.clear()
    return meeting, case, event_of(first)


def assert_replaces(message, before: icalendar.Event) -> icalendar.Event:
    event = event_of(message)
    assert str(event["UID"]) == str(before["UID"])
    assert int(event["SEQUENCE"]) > int(before["SEQUENCE"])
    return event


def assert_no_patient(smtp, case, *also: str) -> None:
    for message in smtp.messages:
        text = message["Subject"] + message.get_body().get_content()
        for secret in [*identifiers(case), *also]:
            assert secret not in text, (secret, message["Subject"])


def test_removing_a_case_after_publication_tells_every_member(
    smtp, told, coordinator, django_capture_on_commit_callbacks
):
    meeting, case, before = told
    with django_capture_on_commit_callbacks(execute=True):
        meetings.agenda_remove(item=meeting.agenda_items.get(), by=coordinator)
    run_jobs()
    changed = [msg for msg in smtp.messages if "agenda changed" in msg["Subject"]]
    assert len(changed) == 5
    (mine,) = to_radiologist(smtp, "agenda changed")
    assert f"case {case.pk} was removed" in mine.get_body().get_content()
    event = assert_replaces(mine, before)
    assert "You present" not in event["DESCRIPTION"]
    assert_no_patient(smtp, case)


def test_reordering_or_changing_a_presenter_after_publication_updates_the_invitation(
    smtp, told, coordinator, orthopaedic, make_case, django_capture_on_commit_callbacks
):
    meeting, case, before = told
    with django_capture_on_commit_callbacks(execute=True):
        late = meetings.agenda_add(meeting=meeting, case=make_case("consensus"), by=coordinator)
    run_jobs()
    (added,) = to_radiologist(smtp, "agenda changed")
    assert f"case {late.case_id} was added" in added.get_body().get_content()
    smtp.messages.clear()
    first = meeting.agenda_items.get(case=case)
    with django_capture_on_commit_callbacks(execute=True):
        meetings.agenda_reorder(meeting=meeting, by=coordinator, item_ids=[late.pk, first.pk])
    run_jobs()
    (reordered,) = to_radiologist(smtp, "agenda changed")
    assert "new order" in reordered.get_body().get_content()
    moved = assert_replaces(reordered, before)
    assert int(moved["SEQUENCE"]) > int(event_of(added)["SEQUENCE"])
    smtp.messages.clear()
    with django_capture_on_commit_callbacks(execute=True):
        meetings.agenda_item_update(item=first, by=coordinator, presenter=orthopaedic, minutes=20)
    run_jobs()
    (theirs,) = [msg for msg in smtp.messages if msg["To"] == "orthopaedic@example.org"]
    assert f"presenter or time of case {case.pk} changed" in theirs.get_body().get_content()
    assert f"You present case {case.pk}," in assert_replaces(theirs, before)["DESCRIPTION"]
    assert_no_patient(smtp, case)


def test_the_same_order_again_tells_no_one(smtp, told, coordinator, django_capture_on_commit_callbacks):
    meeting, case, before = told
    with django_capture_on_commit_callbacks(execute=True):
        meetings.agenda_reorder(meeting=meeting, by=coordinator, item_ids=[meeting.agenda_items.get().pk])
    run_jobs()
    assert smtp.messages == []


def test_moving_the_meeting_after_publication_sends_the_new_time_and_place(
    smtp, told, coordinator, django_capture_on_commit_callbacks
):
    meeting, case, before = told
    was = timezone.localtime(meeting.starts_at)
    later = (meeting.starts_at + timedelta(days=1, hours=2)).replace(microsecond=0)
    with django_capture_on_commit_callbacks(execute=True):
        meetings.meeting_reschedule(meeting=meeting, by=coordinator, starts_at=later, location="Seminar room 4")
    run_jobs()
    moved = [msg for msg in smtp.messages if "moves to" in msg["Subject"]]
    assert len(moved) == 5
    (mine,) = to_radiologist(smtp, "moves to")
    assert mine["Subject"] == (
        f"{meeting.board.name}: the meeting of {was:%d %b %Y %H:%M} moves to {timezone.localtime(later):%d %b %Y %H:%M}"
    )
    assert "Seminar room 4" in mine.get_body().get_content()
    event = assert_replaces(mine, before)
    assert event.decoded("DTSTART") == later and str(event["LOCATION"]) == "Seminar room 4"
    assert_no_patient(smtp, case)


def test_cancelling_a_published_meeting_sends_a_cancellation_without_the_reason(
    smtp, told, coordinator, django_capture_on_commit_callbacks
):
    meeting, case, before = told
    reason = "The chair is away at a congress"
    with django_capture_on_commit_callbacks(execute=True):
        meetings.meeting_cancel(meeting=meeting, by=coordinator, reason=reason)
    run_jobs()
    cancelled = [msg for msg in smtp.messages if msg["Subject"].endswith("is cancelled")]
    assert len(cancelled) == 5
    (mine,) = to_radiologist(smtp, "is cancelled")
    assert invitation(mine)["METHOD"] == "CANCEL"
    (part,) = [part for part in mine.iter_attachments() if part.get_content_type() == "text/calendar"]
    assert part.get_param("method") == "CANCEL"
    event = assert_replaces(mine, before)
    assert str(event["STATUS"]) == "CANCELLED"
    assert_no_patient(smtp, case, reason)


def test_changes_before_publication_tell_no_one(
    smtp, board, coordinator, radiologist, make_case, django_capture_on_commit_callbacks
):
    radiologist.email = "radiologist@example.org"
    radiologist.save()
    meeting = f.MeetingFactory(board=board, created_by=coordinator)
    with django_capture_on_commit_callbacks(execute=True):
        item = meetings.agenda_add(meeting=meeting, case=make_case("consensus"), by=coordinator)
        meetings.agenda_item_update(item=item, by=coordinator, presenter=radiologist)
        meetings.meeting_reschedule(meeting=meeting, by=coordinator, location="Seminar room 4")
        meetings.agenda_remove(item=item, by=coordinator)
        meetings.meeting_cancel(meeting=meeting, by=coordinator, reason="Nothing to discuss")
    run_jobs()
    assert smtp.messages == [] and not m.Notification.objects.exists()


def daily(capture) -> None:
    """The cron job: its e-mail jobs are queued once its writes commit."""
    from django.core.management import call_command

    with capture(execute=True):
        call_command("notify_daily")


def test_the_specialty_still_missing_is_reminded_once_before_the_cut_off(
    smtp, told, settings, pathologist, django_capture_on_commit_callbacks
):
    meeting, case, _ = told
    settings.INPUT_REMINDER_HOURS = 24
    daily(django_capture_on_commit_callbacks)  # three days ahead: not yet
    run_jobs()
    assert smtp.messages == []
    m.Meeting.objects.filter(pk=meeting.pk).update(starts_at=timezone.now() + timedelta(hours=20))
    meeting.refresh_from_db()
    daily(django_capture_on_commit_callbacks)
    daily(django_capture_on_commit_callbacks)  # cron ran twice: still one reminder
    run_jobs()
    (reminder,) = smtp.messages
    assert reminder["To"] == "pathologist@example.org"
    when = f"{timezone.localtime(meeting.starts_at):%d %b %Y %H:%M}"
    assert reminder["Subject"] == f"Reminder: input needed on case {case.pk} before the meeting of {when}"
    assert f"https://tumorboard.hospital.example/cases/{case.pk}/" in reminder.get_body().get_content()
    assert m.Notification.objects.get(kind="input_reminder").user == pathologist
    assert_no_patient(smtp, case)


def test_no_reminder_once_the_input_is_given(smtp, told, pathologist, django_capture_on_commit_callbacks):
    meeting, case, _ = told
    f.OpinionFactory(case=case, specialty="pathology", author=pathologist)
    m.Meeting.objects.filter(pk=meeting.pk).update(starts_at=timezone.now() + timedelta(hours=20))
    daily(django_capture_on_commit_callbacks)
    run_jobs()
    assert smtp.messages == [] and not m.Notification.objects.filter(kind="input_reminder").exists()


# Break-the-glass on a board's patient: its coordinators hear of it like of anything else ----------------


def test_break_the_glass_reaches_the_coordinators_inbox_and_mail_without_patient_details(
    smtp, board, case, coordinator, outsider, django_capture_on_commit_callbacks
):
    from cases.identity.services import break_glass_open

    coordinator.email = "coordinator@example.org"
    coordinator.save(update_fields=["email"])
    reason = "Seen in the emergency department with a fracture of the femur"
    with django_capture_on_commit_callbacks(execute=True):
        break_glass_open(user=outsider, patient=case.patient, reason=reason)
    with django_capture_on_commit_callbacks(execute=True):
        run_jobs()  # the break-glass job notifies; its commit queues the e-mail
    run_jobs()
    (notice,) = m.Notification.objects.filter(kind=m.NotificationKind.BREAK_GLASS)
    assert notice.user == coordinator and notice.link == reverse("break-glass-review")
    (mail,) = smtp.messages
    assert mail["To"] == "coordinator@example.org"
    assert mail["Subject"] == "Tumor board: an emergency access to review"
    assert "https://tumorboard.hospital.example/emergency-access/review/" in mail.get_body().get_content()
    assert_no_patient(smtp, case, reason)
    assert m.AuditEvent.objects.filter(action="notification.sent", object_id=str(notice.pk)).exists()


def test_a_coordinator_may_keep_break_the_glass_notices_for_the_digest(
    smtp, board, case, coordinator, outsider, django_capture_on_commit_callbacks
):
    from cases.identity.services import break_glass_open

    coordinator.email = "coordinator@example.org"
    coordinator.save(update_fields=["email"])
    notification_preferences_set(user=coordinator, deliveries={"break_glass": "digest"})
    with django_capture_on_commit_callbacks(execute=True):
        break_glass_open(user=outsider, patient=case.patient, reason="Emergency department")
    with django_capture_on_commit_callbacks(execute=True):
        run_jobs()
    run_jobs()
    assert smtp.messages == []
    assert m.Notification.objects.get(kind="break_glass").email_status == m.EmailStatus.DIGEST


# The hospital's mail relay: STARTTLS and a sign-in (DJANGO_EMAIL_USE_TLS, _HOST_USER, _HOST_PASSWORD) -------


def self_signed_certificate(folder) -> tuple[str, str]:
    """A certificate for 127.0.0.1 made for this test run (the hospital's own CA, in miniature)."""
    import ipaddress
    from datetime import UTC, datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "mail relay of the test hospital")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert, key_file = folder / "relay.pem", folder / "relay.key"
    cert.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return str(cert), str(key_file)


RELAY_USER, RELAY_PASSWORD = "tumorboard", "relay-secret-for-tests"


@pytest.fixture
def relay(settings, tmp_path, monkeypatch):
    """A real SMTP relay on loopback that takes mail only after STARTTLS and a sign-in. The app trusts its
    certificate as a hospital trusts its own CA: through the system's store (SSL_CERT_FILE here)."""
    import ssl

    from aiosmtpd.smtp import AuthResult

    cert, key = self_signed_certificate(tmp_path)
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(cert, key)

    def authenticate(server, session, envelope, mechanism, auth_data):
        ok = auth_data.login.decode() == RELAY_USER and auth_data.password.decode() == RELAY_PASSWORD
        return AuthResult(success=ok, handled=False, auth_data=auth_data)  # the server answers 235 or 535

    handler = Inbox()
    controller = Controller(
        handler,
        hostname="127.0.0.1",
        port=free_port(),
        tls_context=tls,
        require_starttls=True,
        auth_required=True,
        authenticator=authenticate,
    )
    controller.start()
    monkeypatch.setenv("SSL_CERT_FILE", cert)
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", controller.port
    settings.EMAIL_USE_TLS, settings.EMAIL_HOST_USER, settings.EMAIL_HOST_PASSWORD = True, RELAY_USER, RELAY_PASSWORD
    settings.PORTAL_URL = "https://tumorboard.hospital.example"
    settings.JOBS_INLINE = False
    yield handler
    controller.stop()


def test_mail_goes_through_a_relay_that_requires_starttls_and_a_sign_in(relay, published):
    meeting, case = published
    assert run_jobs() >= 5
    assert len(relay.messages) == m.Notification.objects.exclude(email="").count() > 0
    assert set(relay.sessions) == {(True, RELAY_USER)}  # every message over TLS, signed in
    assert m.AuditEvent.objects.filter(action="notification.sent").count() == len(relay.messages)


def test_without_starttls_the_relay_offers_no_sign_in_and_the_send_waits_for_a_retry(relay, published, settings):
    settings.EMAIL_USE_TLS = False
    run_jobs()
    assert relay.messages == []
    job = m.Job.objects.filter(kind="notify.email").first()
    assert job.status == m.JobStatus.QUEUED and "SMTP AUTH extension not supported" in job.error


def test_a_wrong_password_fails_the_send_visibly_and_never_the_action(relay, published, settings):
    meeting, case = published
    settings.EMAIL_HOST_PASSWORD = "not-the-password"
    assert m.Meeting.objects.get(pk=meeting.pk).is_published  # the action happened
    run_jobs()
    sends = m.Job.objects.filter(kind="notify.email")
    assert sends.count() > 0 and relay.messages == []
    assert set(sends.values_list("status", "attempts")) == {(m.JobStatus.QUEUED, 1)}  # retried later
    assert all("SMTPAuthenticationError" in job.error and "535" in job.error for job in sends)
    sends.update(attempts=4, run_after=timezone.now())  # the last of its five attempts
    run_jobs()
    assert set(sends.values_list("status", flat=True)) == {m.JobStatus.FAILED}
    assert all("SMTPAuthenticationError" in job.error for job in sends)  # kept for the administrator
    assert set(m.Notification.objects.exclude(email="").values_list("email_status", flat=True)) == {"pending"}
    settings.EMAIL_HOST_PASSWORD = RELAY_PASSWORD  # the administrator fixes it and retries from the admin
    from cases.services.jobs import job_retry

    for job in sends:
        job_retry(job=job, by=None)
    run_jobs()
    assert len(relay.messages) == sends.count()
