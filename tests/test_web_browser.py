"""The whole journey in a real Chromium (Debian's package) through Playwright, against a live server.

A coordinator registers a patient and a case; a radiologist adds imaging with a key image; a
pathologist adds, then amends, a report; every required specialist records input; the coordinator
schedules a meeting, builds and publishes the agenda and records attendance; the chair records and
signs the decision; the case closes; the print buttons give the case summary and the meeting packet;
an outsider can open none of it. Screenshots of the dashboard, the case page and the meeting page are
saved to test-artifacts/.

Locally the test skips, with the reason, when Chromium or Playwright is missing; in CI (CI=true)
that is a failure.
"""

import io
import os
import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone
from PIL import Image
from pypdf import PdfReader

from cases import models as m
from cases.services import decisions, meetings, pathology, workflow
from tests import factories as f

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
ARTIFACTS = Path(settings.BASE_DIR) / "test-artifacts"
PASSWORD = "correct-horse-battery"  # tests/factories.py


def browser_missing() -> str:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the Python package playwright is not installed (pip install -r requirements-dev.txt)"
    if not CHROMIUM.exists():
        return f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)"
    return ""


@pytest.fixture(scope="module")
def browser():
    reason = browser_missing()
    if reason:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI must run the browser tests: {reason}.")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop running in this thread while the browser is open;
    # the tests' own ORM calls (and the database flush after each test) are plain synchronous
    # calls, which Django would otherwise refuse in a thread with a running loop.
    with pytest.MonkeyPatch.context() as patch, sync_playwright() as playwright:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def sign_in(browser, live_server):
    """sign_in(user) -> a page in a fresh browser context, signed in as that user."""
    contexts = []

    def open_as(user, *, width: int = 1280):
        context = browser.new_context(base_url=live_server.url, viewport={"width": width, "height": 900})
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        page.goto("/login/")
        page.get_by_label("Username").fill(user.username)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(re.compile(r"/$"))
        return page

    yield open_as
    for context in contexts:
        context.close()


def png_bytes() -> bytes:
    image = Image.new("RGB", (320, 240), (30, 30, 30))
    for x in range(140, 180):
        for y in range(20, 220):
            image.putpixel((x, y), (220, 220, 220))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def loaded_width(page, image) -> int:
    """The natural width of an image once the browser has fetched and decoded it (0 if it failed)."""
    page.wait_for_function("img => img.complete", arg=image.element_handle())
    return image.evaluate("img => img.naturalWidth")


def fits_the_width(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def shoot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def move(page, stage_label: str) -> None:
    page.get_by_role("button", name=f"Move to {stage_label}").click()
    page.get_by_text(f"The case moved to {stage_label}.").wait_for()


# The journey, one step per function, each as the person who does it ----------------------------


def register_patient_and_case(page, board) -> m.Case:
    page.get_by_role("link", name="Register a patient").click()
    page.get_by_label("Medical record number").fill("E2E-000042")
    page.get_by_label("Given name").fill("Mira")
    page.get_by_label("Family name").fill("Lindqvist")
    page.get_by_label("Birth date").fill("1994-08-30")
    page.get_by_label("Sex").select_option("female")
    page.get_by_label("Comorbidities").fill("End-stage kidney disease on haemodialysis.")
    page.get_by_label("Board").select_option(label=board.name)
    page.get_by_role("button", name="Register patient").click()
    page.get_by_role("heading", name="New case for Mira Lindqvist (E2E-000042)").wait_for()
    page.get_by_label("Referring clinician").fill("Dr. Test Referrer, orthopaedic clinic")
    page.get_by_label("Clinical question").fill("New calcified masses near the nail: relapse or calcinosis?")
    page.get_by_label("History", exact=False).first.fill("Osteosarcoma of the distal femur treated 12 years ago.")
    page.get_by_label("Key labs").fill("Calcium and phosphate high; PTH high.")
    page.get_by_label("Priority").select_option("urgent")
    page.get_by_role("button", name="Register case").click()
    page.get_by_text(re.compile(r"Case [0-9]+ is registered\.")).wait_for()
    case = m.Case.objects.get(patient__mrn="E2E-000042")
    assert case.board == board
    move(page, "imaging")
    return case


def add_imaging(page, case) -> None:
    page.goto(f"/cases/{case.pk}/")
    page.get_by_role("link", name="Add imaging study").click()
    page.get_by_label("Modality").select_option("XR")
    page.get_by_label("Body site").fill("Left femur, AP view")
    page.get_by_label("Date performed").fill("2026-01-10")
    page.get_by_label("Findings").fill("Lobulated soft-tissue calcification beside a loose screw.")
    page.get_by_label("Impression").fill("Relapse or tumoral calcinosis.")
    page.set_input_files("#id_image_1", files=[{"name": "femur.png", "mimeType": "image/png", "buffer": png_bytes()}])
    page.fill("#id_caption_1", "Lobulated calcification lateral to the femur")
    page.get_by_role("button", name="Add study").click()
    page.get_by_text("The imaging study is added.").wait_for()
    thumbnail = page.get_by_role("img", name="Lobulated calcification lateral to the femur")
    thumbnail.scroll_into_view_if_needed()
    assert loaded_width(page, thumbnail) == 320
    # Enlarging works from the keyboard: Enter opens the image, Escape closes it and focus returns.
    enlarge = page.get_by_role("link", name="Enlarge key image: Lobulated calcification lateral to the femur")
    enlarge.focus()
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog")
    dialog.wait_for()
    assert loaded_width(page, dialog.get_by_role("img")) == 320
    page.keyboard.press("Escape")
    dialog.wait_for(state="detached")
    assert page.evaluate("document.activeElement.hasAttribute('data-enlarge')")
    enlarge.click()
    page.get_by_role("dialog").get_by_role("button", name="Close").click()
    page.get_by_role("dialog").wait_for(state="detached")


def add_and_amend_pathology(page, case) -> None:
    page.goto(f"/cases/{case.pk}/")
    page.get_by_role("link", name="Add pathology report").click()
    page.get_by_label("Specimen").fill("Calcified soft-tissue mass")
    page.get_by_label("Procedure").fill("Excision biopsy at nail revision")
    page.get_by_label("Collection date").fill("2026-01-20")
    page.get_by_label("Diagnosis").fill("Residual osteosarcoma.")
    page.get_by_label("Final (signed out now)").check()
    page.get_by_role("button", name="Add report").click()
    page.get_by_text("The pathology report is added.").wait_for()
    page.get_by_role("link", name="Amend this report").click()
    page.get_by_label("Amended diagnosis").fill("Callus and tumoral calcinosis; no osteosarcoma.")
    page.get_by_role("button", name="Amend report").click()
    # Refused: the reason and the discrepancy class are required, and shown beside their fields.
    page.locator("#id_amendment_reason_error").wait_for()
    assert page.locator("#id_amendment_reason").get_attribute("aria-invalid") == "true"
    page.get_by_label("Reason for the amendment").fill("Re-read with the dialysis history after the review.")
    page.get_by_label("Major — diagnosis or management changes").check()
    page.get_by_role("button", name="Amend report").click()
    page.get_by_text("The report is amended").wait_for()
    change = page.locator(".diagnosis-change")
    assert "The diagnosis changed on amendment" in change.text_content()
    assert change.locator("del").inner_text() == "Residual osteosarcoma."
    assert page.locator(".report.superseded").get_by_text("Superseded — do not use").is_visible()
    assert page.locator(".case-header").get_by_text("Revised pathology").is_visible()


def record_input(page, case, specialty: str, assessment: str) -> None:
    page.goto(f"/cases/{case.pk}/")
    page.get_by_role("link", name=f"Record my {specialty} input").click()
    page.get_by_label("Assessment").fill(assessment)
    page.get_by_label("Recommendation").fill("Discuss at the board.")
    page.get_by_role("button", name="Save input").click()
    page.get_by_text(f"Your {specialty} input is saved.").wait_for()


def schedule_and_prepare_meeting(page, case, attendees) -> m.Meeting:
    page.goto(f"/cases/{case.pk}/")
    move(page, "consensus")
    page.get_by_role("link", name="Meetings").click()
    page.get_by_role("link", name="Schedule a meeting").click()
    page.get_by_label("Board").select_option(label=case.board.name)
    # A decision is signed only at a meeting under way: this one began ten minutes ago.
    started = timezone.localtime() - timedelta(minutes=10)
    page.get_by_label("Starts at").fill(f"{started:%Y-%m-%dT%H:%M}")
    page.get_by_label("Location").fill("Conference room 4B")
    page.get_by_role("button", name="Schedule").click()
    page.get_by_text("The meeting is scheduled.").wait_for()
    page.locator("#id_case").select_option(str(case.pk))
    page.locator("#id_minutes").fill("20")
    page.get_by_role("button", name="Add to the agenda").click()
    page.get_by_text("Mira Lindqvist is on the agenda.").wait_for()
    page.get_by_role("link", name="Publish the agenda…").click()
    page.get_by_text("Please confirm.").wait_for()
    page.get_by_role("button", name="Publish the agenda").click()
    page.get_by_text("The agenda is published.").wait_for()
    for user in attendees:
        page.get_by_label(user.get_full_name(), exact=False).check()
    page.get_by_role("button", name="Record attendance").click()
    page.get_by_text("Attendance is recorded.").wait_for()
    assert "✓ Quorate" in page.locator(".quorum").text_content()
    page.get_by_role("button", name="Start the meeting").click()
    page.get_by_text("The meeting is in progress.").wait_for()
    return m.Meeting.objects.get(location="Conference room 4B")


def decide_and_sign(page, meeting) -> None:
    page.goto(f"/meetings/{meeting.pk}/")
    page.get_by_role("link", name="In-meeting mode").click()
    page.get_by_label("Consensus diagnosis").fill("Callus and tumoral calcinosis secondary to renal failure.")
    page.get_by_label("Surveillance", exact=True).check()
    page.get_by_label("Surveillance: detail").fill("Treated osteosarcoma schedule.")
    page.get_by_label("Rationale").fill("The amended pathology shows no tumour.")
    page.get_by_role("button", name="Save draft decision").click()
    page.get_by_text("The decision is saved as a draft").wait_for()
    page.get_by_role("link", name="Sign the decision…").click()
    # The confirmation page: who is recorded as present, for which specialty, before anything is signed.
    page.get_by_text("Recorded as present, for the decision").wait_for()
    assert "Radiation oncology" in page.locator(".attendance-snapshot").text_content()
    shoot(page, "sign-confirmation")
    page.get_by_role("button", name="Sign the decision").click()
    page.get_by_text("The decision is signed.").wait_for()
    page.get_by_role("button", name="Record the outcome").click()
    page.get_by_text(re.compile(r"Case [0-9]+ \(Mira Lindqvist\): discussed\.")).wait_for()


def downloaded_text(download) -> str:
    """The text of a downloaded PDF, whitespace folded, as pypdf reads it."""
    content = Path(download.path()).read_bytes()
    assert content.startswith(b"%PDF")
    return " ".join(" ".join((page.extract_text() or "").split()) for page in PdfReader(io.BytesIO(content)).pages)


def print_summary_and_packet(page, case, meeting) -> None:
    """The case page's button gives the summary (clicked); the meeting page's the packet (from the keyboard)."""
    page.goto(f"/cases/{case.pk}/")
    with page.expect_download() as summary:
        page.get_by_role("link", name="Print summary", exact=True).click()
    assert summary.value.suggested_filename == f"case-{case.pk}-summary.pdf"
    assert "LINDQVIST, Mira" in downloaded_text(summary.value)
    page.goto(f"/meetings/{meeting.pk}/")
    page.get_by_role("link", name="Print packet", exact=True).focus()
    with page.expect_download() as packet:
        page.keyboard.press("Enter")
    assert packet.value.suggested_filename.endswith("-packet.pdf")
    text = downloaded_text(packet.value)
    assert "LINDQVIST, Mira" in text and "Callus and tumoral calcinosis" in text and "DRAFT" not in text
    shoot(page, "meeting-page-after-decision")


def test_the_whole_journey_in_a_real_browser(
    sign_in, board, coordinator, chair, radiologist, pathologist, orthopaedic, radonc, outsider
):
    coordinator_page = sign_in(coordinator)
    case = register_patient_and_case(coordinator_page, board)

    add_imaging(sign_in(radiologist), case)
    coordinator_page.goto(f"/cases/{case.pk}/")
    move(coordinator_page, "pathology")

    pathologist_page = sign_in(pathologist)
    add_and_amend_pathology(pathologist_page, case)

    record_input(sign_in(radiologist), case, "radiology", "Lobulated calcification; calcinosis is likely.")
    record_input(pathologist_page, case, "pathology", "No malignant osteoid on review.")
    record_input(sign_in(orthopaedic), case, "orthopaedic oncology", "Loose screws explain the pain.")
    record_input(sign_in(radonc), case, "radiation oncology", "No indication for radiotherapy.")

    meeting = schedule_and_prepare_meeting(
        coordinator_page, case, [chair, radiologist, pathologist, orthopaedic, radonc]
    )
    shoot(coordinator_page, "meeting-page")

    decide_and_sign(sign_in(chair), meeting)

    coordinator_page.goto(f"/cases/{case.pk}/")
    move(coordinator_page, "closed")
    case.refresh_from_db()
    assert case.stage == "closed"
    assert case.decisions.get().is_signed
    assert case.follow_ups.count() == 1
    print_summary_and_packet(coordinator_page, case, meeting)
    assert [e.action for e in m.AuditEvent.objects.filter(action__endswith=".print").order_by("id")] == [
        "case.print",
        "meeting.print",
    ]
    coordinator_page.goto(f"/cases/{case.pk}/")
    shoot(coordinator_page, "case-page")
    coordinator_page.goto("/")
    shoot(coordinator_page, "dashboard")

    tablet = sign_in(coordinator, width=768)
    for url in ["/", "/cases/", f"/cases/{case.pk}/", f"/meetings/{meeting.pk}/", f"/meetings/{meeting.pk}/run/"]:
        tablet.goto(url)
        assert fits_the_width(tablet), f"{url} scrolls sideways at 768 px"
    tablet.goto(f"/cases/{case.pk}/")
    shoot(tablet, "case-page-tablet")

    outsider_page = sign_in(outsider)
    image = m.KeyImage.objects.get(study__case=case)
    for url in [
        f"/cases/{case.pk}/",
        f"/patients/{case.patient_id}/",
        f"/meetings/{meeting.pk}/",
        f"/key-images/{image.pk}/",
    ]:
        response = outsider_page.goto(url)
        assert response.status == 404, url
        assert outsider_page.get_by_role("heading", name="Not found").is_visible()
    outsider_page.goto("/cases/?q=E2E-000042")
    assert outsider_page.get_by_text("No case matches these filters.").is_visible()


pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def test_the_api_docs_render_in_chromium_under_the_csp_with_no_violation(sign_in, coordinator):
    """Issue 11: Swagger UI was blank, its inline script blocked by the app's own CSP."""
    page = sign_in(coordinator)
    console = []
    page.on("console", lambda message: console.append(f"{message.type}: {message.text}"))
    page.goto("/api/docs/")
    try:
        page.locator(".opblock").first.wait_for(timeout=90_000)  # a big bundle on a busy machine
    finally:
        shoot(page, "api-docs")
        print("\n".join(console))
    assert page.locator(".opblock").count() > 20
    shoot(page, "api-docs")
    violations = [line for line in console if "Content Security Policy" in line or "Refused to" in line]
    assert not violations, violations


# After an amendment (issue 10): re-confirming an input, and the confirmation pages ----------------


def test_an_amendment_after_the_decision_is_re_confirmed_and_confirmed_in_the_browser(
    sign_in, board, coordinator, chair, radiologist, pathologist, make_case, quorate_meeting
):
    case = make_case("consensus")
    f.on_agenda(quorate_meeting, case)
    decision = decisions.decision_record(
        case=case,
        by=coordinator,
        meeting=quorate_meeting,
        consensus_diagnosis="Recurrence.",
        plan=[{"category": "surgery", "detail": "Resection."}],
    )
    decisions.decision_sign(decision=decision, by=chair)
    workflow.case_transition(case=case, to="closed", by=coordinator)
    pathology.pathology_report_amend(
        report=case.pathology_reports.get(),
        by=pathologist,
        diagnosis="Tumoral calcinosis; no tumour.",
        amendment_reason="Interdisciplinary re-review.",
        discrepancy="major",
    )

    page = sign_in(radiologist)
    page.goto(f"/cases/{case.pk}/")
    assert "What changed in the pathology" in page.locator("#what-changed").text_content()
    assert "Needs review after an amendment" in page.locator(".case-header").text_content()
    mine = page.locator("article.opinion.stale", has_text="Given on superseded pathology").first
    mine.wait_for()
    shoot(page, "case-after-amendment")
    page.get_by_role("button", name="My input stands").click()
    page.get_by_text("Your input is re-confirmed").wait_for()
    opinion = case.opinions.get(author=radiologist)
    assert not opinion.is_stale and opinion.confirmed_at is not None
    gates = [g.code for g in workflow.unmet_gates(m.Case.objects.get(pk=case.pk), "consensus")]
    assert "input_stale:radiology" not in gates and "input_stale:pathology" in gates

    office = sign_in(coordinator)
    office.goto("/")
    office.get_by_role("heading", name="Needs review after an amendment").wait_for()
    office.goto(f"/cases/{case.pk}/")
    follow_up = office.locator("#follow-up")
    assert "Suspended: decision under review" in follow_up.text_content()
    assert follow_up.get_by_role("link", name="Done…").count() == 0

    # Mark done and cancel are confirmed on a page of their own, without JavaScript.
    planned = m.FollowUp.objects.create(
        case=case, kind="action", description="Renal clinic review", owner=coordinator, due_on=timezone.localdate()
    )
    office.goto(f"/cases/{case.pk}/")
    office.get_by_role("link", name="Done…").click()
    office.get_by_role("heading", name="Mark done: Renal clinic review").wait_for()
    shoot(office, "follow-up-done-confirmation")
    office.get_by_role("button", name="Mark as done").click()
    office.get_by_text("The follow-up is marked done.").wait_for()
    planned.refresh_from_db()
    assert planned.status == "done"

    later = f.MeetingFactory(board=board, created_by=coordinator, starts_at=timezone.now() + timedelta(days=7))
    meetings.agenda_add(meeting=later, case=f.CaseFactory(board=board), by=coordinator)
    office.goto(f"/meetings/{later.pk}/")
    office.get_by_role("link", name="Cancel the meeting…").click()
    office.get_by_role("button", name="Cancel the meeting").click()
    office.get_by_text("This field is required.").first.wait_for()
    office.get_by_label("Why the meeting is cancelled").fill("The chair is away.")
    shoot(office, "meeting-cancel-confirmation")
    office.get_by_role("button", name="Cancel the meeting").click()
    office.get_by_text("The meeting is cancelled.").wait_for()
    later.refresh_from_db()
    assert (later.status, later.cancel_reason) == ("cancelled", "The chair is away.")
    office.goto("/meetings/")
    office.get_by_role("heading", name="Cases awaiting a meeting").wait_for()


# The packet's progress page: live with JavaScript, refreshing itself without ------------------------------


def console_of(page) -> list[str]:
    lines = []
    page.on("console", lambda message: lines.append(f"{message.type}: {message.text}"))
    return lines


def test_the_packet_progress_page_follows_the_job_live_then_offers_the_download(sign_in, settings, board, coordinator):
    from cases.jobs import worker
    from tests.test_api_print import PATIENTS, agenda_meeting

    settings.JOBS_INLINE = False
    meeting = agenda_meeting(board, coordinator, PATIENTS)
    page = sign_in(coordinator)
    console = console_of(page)
    page.goto(f"/meetings/{meeting.pk}/")
    page.get_by_role("link", name="Print packet").click()
    page.get_by_text("no worker has picked the job up yet").wait_for()
    job = m.Job.objects.get()
    page.evaluate("window.sameDocument = true")  # gone if the page reloads
    m.Job.objects.filter(pk=job.pk).update(status=m.JobStatus.RUNNING, attempts=1, progress_done=1, progress_total=2)
    page.get_by_text("Rendering: 1 of 2 cases.").wait_for()
    assert page.locator("progress").evaluate("bar => [bar.value, bar.max]") == [1, 2]
    m.Job.objects.filter(pk=job.pk).update(status=m.JobStatus.QUEUED, attempts=0)
    assert worker.run_once("browser-test")  # the real render
    download = page.get_by_role("link", name="Download the packet")
    download.wait_for()
    assert page.evaluate("window.sameDocument") is True  # updated in place, never reloaded
    assert page.get_by_text("The packet is ready.").is_visible() and page.locator("progress").count() == 0
    assert download.get_attribute("href") == f"/meetings/{meeting.pk}/packet.pdf"
    with page.expect_download() as started:
        download.click()
    assert Path(started.value.path()).read_bytes().startswith(b"%PDF-")
    shoot(page, "packet-progress-done")
    violations = [line for line in console if "Content Security Policy" in line or "Refused to" in line]
    assert not violations, violations


def test_without_javascript_the_progress_page_refreshes_itself(browser, live_server, settings, board, coordinator):
    from tests.test_api_print import PATIENTS, agenda_meeting

    settings.JOBS_INLINE = False
    meeting = agenda_meeting(board, coordinator, PATIENTS)
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto("/login/")
        page.get_by_label("Username").fill(coordinator.username)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.goto(f"/meetings/{meeting.pk}/packet.pdf")
        page.get_by_text("no worker has picked the job up yet").wait_for()
        m.Job.objects.filter(kind="packet.render").update(
            status=m.JobStatus.RUNNING, attempts=1, progress_done=1, progress_total=2
        )
        page.get_by_text("Rendering: 1 of 2 cases.").wait_for(timeout=15_000)  # after its own refresh
    finally:
        context.close()
