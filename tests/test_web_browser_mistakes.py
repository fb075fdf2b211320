"""Mistakes a coordinator makes on a busy day, in a real Chromium: a double submit and a Back-and-resubmit
make one case, a duplicate case is withdrawn, a patient registered twice is merged, a patient is found
without accents, an imaging study is amended, in-meeting mode moves on to the next case, and no main page
scrolls sideways at 390 px (a phone). Screenshots go to test-artifacts/.

Skips locally when Chromium or Playwright is missing; in CI (CI=true) that is a failure.
"""

import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.utils import timezone

from cases import models as m
from cases.services import imaging
from tests import factories as f
from tests.test_web_browser import browser, fits_the_width, shoot, sign_in  # noqa: F401 (fixtures)

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

PHONE = 390


def register_with_a_double_click_then_back_and_resubmit(page, board) -> m.Case:
    page.goto("/patients/new/")
    page.get_by_label("Medical record number").fill("E2E-DBL-1")
    page.get_by_label("Given name").fill("Zoë")
    page.get_by_label("Family name").fill("Åström")
    page.get_by_label("Birth date").fill("1991-02-03")
    page.get_by_label("Sex").select_option("female")
    page.get_by_label("Board").select_option(label=board.name)
    page.get_by_role("button", name="Register patient").click()
    page.get_by_role("heading", name=re.compile("New case for Zoë Åström")).wait_for()
    page.get_by_label("Clinical question").fill("Relapse or calcinosis?")
    page.get_by_label("Priority").select_option("routine")
    # A double click on a slow network: two submits of one form, at once. (SQLite's in-memory test database
    # refuses two writers at once outright, so there the second submit comes from Back-and-resubmit below.)
    button = page.get_by_role("button", name="Register case")
    button.dblclick() if connection.vendor == "postgresql" else button.click()
    page.wait_for_url(re.compile(r"/cases/[0-9]+/$"))
    page.wait_for_load_state()
    assert m.Case.objects.filter(patient__mrn="E2E-DBL-1").count() == 1
    # Back, and send the form again. The form page is never cached (patient data), so Back fetches a fresh
    # form with a new token while Chromium refills the fields: the open case stops it, with a link to it.
    page.go_back()
    page.get_by_role("button", name="Register case").click()
    page.get_by_text("This patient already has an open case.").wait_for()
    case = m.Case.objects.get(patient__mrn="E2E-DBL-1")
    shoot(page, "mistakes-back-and-resubmit-warns")
    page.get_by_role("link", name=f"Case {case.pk}", exact=True).click()
    page.wait_for_url(re.compile(rf"/cases/{case.pk}/$"))
    assert m.Case.objects.filter(patient__mrn="E2E-DBL-1").count() == 1
    return case


def find_the_patient_without_accents(page, case) -> None:
    page.goto("/")
    page.get_by_role("link", name="Patients", exact=True).click()
    page.get_by_label("Medical record number, name or birth date").fill("zoe astrom")
    page.get_by_role("button", name="Find").click()
    page.get_by_role("heading", name="1 patient found").wait_for()
    shoot(page, "mistakes-patient-search")
    page.get_by_role("link", name="Zoë Åström").click()
    page.get_by_role("heading", name="Zoë Åström").wait_for()


def withdraw_a_duplicate_case(page, case) -> None:
    page.goto(f"/cases/{case.pk}/")
    page.get_by_role("link", name="Withdraw this case").click()
    page.get_by_label("Why the case is withdrawn").fill(f"Duplicate of case {case.pk - 1}")
    page.get_by_role("button", name="Withdraw the case").click()
    page.get_by_text(f"Case {case.pk} is withdrawn.").wait_for()
    assert page.locator(".withdrawn-alert").is_visible()
    shoot(page, "mistakes-withdrawn-case")


def merge_a_patient_registered_twice(page, duplicate, keep) -> None:
    page.goto(f"/patients/{duplicate.pk}/")
    page.get_by_role("link", name="Registered twice? Merge into another record").click()
    page.get_by_label("Medical record number of the record to keep").fill(keep.mrn)
    page.get_by_role("button", name="Show what moves").click()
    page.get_by_role("heading", name="What the merge does").wait_for()
    shoot(page, "mistakes-merge-preview")
    page.get_by_role("button", name=f"Merge {duplicate.mrn} into {keep.mrn}").click()
    page.get_by_text(f"{duplicate.mrn} is merged into {keep.mrn}").wait_for()
    page.goto(f"/patients/{duplicate.pk}/")
    page.get_by_text("This record was merged").wait_for()
    shoot(page, "mistakes-merged-record")


def amend_an_imaging_study(page, study) -> None:
    page.goto(f"/cases/{study.case_id}/#imaging")
    page.get_by_role("link", name="Amend (wrong site, date or impression)").click()
    page.get_by_label("Body site").fill("Left distal femur")
    page.get_by_label("What was wrong").fill("Wrong side: the left femur.")
    page.get_by_role("button", name="Amend the study").click()
    page.get_by_text("The study is amended").wait_for()
    assert page.get_by_text("Superseded — kept as reported").is_visible()
    assert page.get_by_text("What was wrong: Wrong side: the left femur.").is_visible()
    page.locator("#imaging").screenshot(path=str(shoot_path("mistakes-imaging-amendment")))


def shoot_path(name: str):
    from tests.test_web_browser import ARTIFACTS

    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS / f"{name}.png"


def run_the_meeting_and_move_on(page, meeting, first, second) -> None:
    page.goto(f"/meetings/{meeting.pk}/run/")
    page.get_by_role("heading", name=first.patient.full_name, exact=True).wait_for()
    page.get_by_label("Discussed").check()
    page.get_by_role("button", name="Record the outcome").click()
    page.get_by_text(f"Case {first.pk} ({first.patient.full_name}): discussed.").wait_for()
    page.get_by_role("heading", name=second.patient.full_name, exact=True).wait_for()
    shoot(page, "mistakes-in-meeting-next-case")
    page.get_by_role("link", name="← Previous case").click()
    page.get_by_role("heading", name=first.patient.full_name, exact=True).wait_for()


OVERFLOWING = """() => [...document.querySelectorAll('body *')]
  .filter(el => el.getBoundingClientRect().right > window.innerWidth + 1 && el.children.length === 0)
  .slice(0, 3)
  .map(el => el.tagName.toLowerCase() + '.' + el.className + ' “' + el.textContent.trim().slice(0, 40) + '”')"""


def overflowing(page) -> list[str]:
    """The innermost elements that stick out on the right: what to fix."""
    return page.evaluate(OVERFLOWING)


def test_mistakes_are_prevented_or_mended_in_a_real_browser(
    sign_in,  # noqa: F811
    board,
    coordinator,
    radiologist,
    pathologist,
):
    page = sign_in(coordinator)
    case = register_with_a_double_click_then_back_and_resubmit(page, board)
    find_the_patient_without_accents(page, case)

    duplicate_case = f.CaseFactory(board=board, patient=case.patient)
    withdraw_a_duplicate_case(page, duplicate_case)

    twice = f.PatientFactory(registered_board=board, mrn="E2E-DUP-9", given_name="Zoe", family_name="Astrom")
    f.CaseFactory(board=board, patient=twice)
    merge_a_patient_registered_twice(page, twice, case.patient)
    assert m.Case.objects.filter(patient=case.patient).count() == 3

    study = f.ImagingStudyFactory(case=case, body_site="Right distal femur", radiologist=radiologist)
    imaging.key_image_add(study=study, by=radiologist, upload=f.png_upload(size=(800, 600)), caption="Lobules")
    amend_an_imaging_study(sign_in(radiologist), study)

    meeting = f.MeetingFactory(board=board, starts_at=timezone.now() - timedelta(minutes=5), status="in_progress")
    second = f.CaseFactory(board=board)
    m.AgendaItem.objects.create(meeting=meeting, case=case, position=1)
    m.AgendaItem.objects.create(meeting=meeting, case=second, position=2)
    run_the_meeting_and_move_on(page, meeting, case, second)

    # The case page with the widest warnings: a major discrepancy on amended pathology.
    original = f.PathologyReportFactory(case=case, status="final", diagnosis="Residual osteosarcoma.")
    f.PathologyReportFactory(
        case=case, status="amended", supersedes=original, discrepancy="major", amendment_reason="Re-review",
        diagnosis="No tumour: callus and tumoral calcinosis (discordant with the first report).",
        signed_out_at=timezone.now(),
    )  # fmt: skip
    # A follow-up with its actions, and a staging history: the case and coding pages' widest tables.
    m.FollowUp.objects.create(
        case=case, kind="action", description="Review the post-operative MRI of the distal femur with the surgeon",
        owner=coordinator, due_on=timezone.localdate() + timedelta(days=30),
    )  # fmt: skip
    m.TnmStaging.objects.create(
        case=case, kind="pathological", after_therapy=True, t="T1b", n="N0", m="M0", stage_group="IIA",
        edition="ajcc-8", staged_on=timezone.localdate(), note="After neoadjuvant chemotherapy; margins clear.",
        recorded_by=coordinator,
    )  # fmt: skip
    auditor = f.UserFactory(username="auditor", is_staff=True)
    auditor.user_permissions.add(Permission.objects.get(codename="view_auditevent"))
    phones = {user: sign_in(user, width=PHONE) for user in (coordinator, radiologist, pathologist, auditor)}
    pages = {
        "dashboard": (coordinator, "/"),
        "patients": (coordinator, "/patients/"),
        "patient": (coordinator, f"/patients/{case.patient_id}/"),
        "patient-new": (coordinator, "/patients/new/"),
        "case-new": (coordinator, f"/patients/{case.patient_id}/cases/new/"),
        "cases": (coordinator, "/cases/"),
        "case": (coordinator, f"/cases/{case.pk}/"),
        "coding": (coordinator, f"/cases/{case.pk}/coding/"),
        "withdrawn-case": (coordinator, f"/cases/{duplicate_case.pk}/"),
        "meetings": (coordinator, "/meetings/"),
        "meeting": (coordinator, f"/meetings/{meeting.pk}/"),
        "meeting-run": (coordinator, f"/meetings/{meeting.pk}/run/"),
        "merge": (coordinator, f"/patients/{twice.pk}/merge/?keep={case.patient.mrn}"),
        "imaging-new": (radiologist, f"/cases/{case.pk}/imaging/new/"),
        "referral": (coordinator, f"/cases/{case.pk}/referral/"),
        "decision-form": (coordinator, f"/cases/{case.pk}/decision/"),
        "inbox": (coordinator, "/inbox/"),
        "analytics": (coordinator, "/analytics/"),
        "opinion-form": (radiologist, f"/cases/{case.pk}/input/"),
        "pathology-form": (pathologist, f"/cases/{case.pk}/pathology/new/"),
        "audit-log": (auditor, "/audit/"),
        "not-found": (coordinator, "/no-such-page/"),
    }
    wide = []
    for name, (user, url) in pages.items():
        phone = phones[user]
        response = phone.goto(url)
        assert response.status == (404 if name == "not-found" else 200), f"{name} ({url}): {response.status}"
        if not fits_the_width(phone):
            width = phone.evaluate("document.documentElement.scrollWidth")
            wide.append(f"{name} ({url}): {width} px, {overflowing(phone)}")
        if name in ("case", "meeting-run", "patients", "dashboard", "audit-log", "analytics", "decision-form"):
            shoot(phone, f"mistakes-phone-{name}")
    assert not wide, "scrolls sideways at 390 px: " + "; ".join(wide)

    in_meeting_on_a_projector(sign_in(coordinator), meeting, case)


def in_meeting_on_a_projector(page, meeting, case) -> None:
    """1920×1080: nothing sticks out, and the key image is shown large (at least half the screen's height)."""
    page.set_viewport_size({"width": 1920, "height": 1080})
    page.goto(f"/meetings/{meeting.pk}/run/{meeting.agenda_items.get(case=case).pk}/")
    page.get_by_role("heading", name=case.patient.full_name, exact=True).wait_for()
    image = page.locator(".run-image img").first
    image.scroll_into_view_if_needed()
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=image.element_handle())
    assert fits_the_width(page) and not overflowing(page), overflowing(page)
    box = image.bounding_box()
    assert box["height"] >= 1080 / 2 and box["width"] >= 1920 / 3, box
    page.screenshot(path=str(shoot_path("mistakes-projector-meeting-run")))
    shoot(page, "mistakes-projector-meeting-run-full")
