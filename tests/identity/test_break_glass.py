"""Break-the-glass: a clinician of another board opens one patient by exact MRN, with a reason, read-only
and for a limited time; a banner on every page; the board's coordinators and the auditors review it;
it never grants a write, in the portal or the API; everyone else keeps 404."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from cases import models as m
from tests import factories as f
from tests.conftest import audit_actions
from tests.test_web_queries import queries

REASON = "Patient arrived in the emergency department with a pathological fracture; need the plan of the board."


def open_access(client, mrn, reason=REASON):
    return client.post(reverse("break-glass-new"), {"mrn": mrn, "reason": reason})


@pytest.fixture
def opened(signed_in, outsider, case):
    """The outsider (a radiologist of another board) with emergency access to the case's patient."""
    client = signed_in(outsider)
    response = open_access(client, case.patient.mrn)
    access = m.BreakGlassAccess.objects.get(user=outsider)
    assert response["Location"] == reverse("break-glass-detail", args=[access.pk])
    return client, access


def test_a_clinician_of_another_board_reads_a_case_by_exact_mrn_with_a_reason(opened, case):
    client, access = opened
    assert access.reason == REASON and access.patient == case.patient
    assert access.expires_at - access.granted_at == timedelta(minutes=60)
    detail = client.get(reverse("break-glass-detail", args=[access.pk])).content.decode()
    assert case.patient.mrn in detail and f"Case {case.pk}" in detail
    page = client.get(reverse("break-glass-case", args=[access.pk, case.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert case.clinical_question in html and "Read-only emergency access" in html
    for write in ("Edit referral", "Move to", "Add imaging", "Record my", "Record the decision", "Print summary"):
        assert write not in html
    assert audit_actions()[-3:] == ["break_glass.open", "break_glass.patient_view", "break_glass.case_view"]
    opened_event = m.AuditEvent.objects.get(action="break_glass.open")
    assert opened_event.changes["reason"] == REASON and opened_event.patient_id == case.patient_id
    assert m.AuditEvent.objects.get(action="break_glass.case_view").case_id == case.pk


def test_every_link_on_the_emergency_case_page_opens(opened, board, coordinator, chair, quorate_meeting, case):
    """The page links nothing the access does not open: no codes page, no meeting page (both 404 to it)."""
    import re

    from cases.services import decisions

    f.on_agenda(quorate_meeting, case)
    decisions.decision_record(case=case, by=coordinator, meeting=quorate_meeting, consensus_diagnosis="X.",
                              plan=[{"category": "surveillance"}])  # fmt: skip
    client, access = opened
    html = client.get(reverse("break-glass-case", args=[access.pk, case.pk])).content.decode()
    links = sorted(link for link in set(re.findall(r'href="(/[^"#]*)', html)) if not link.startswith("/static/"))
    assert reverse("case-coding", args=[case.pk]) not in links and "Diagnosis and staging codes" not in html
    assert quorate_meeting.starts_at.strftime("%-d %b %Y") in html  # the meeting is named, not linked
    anchors = set(re.findall(r'href="#([\w-]+)"', html))
    assert {anchor for anchor in anchors if f'id="{anchor}"' not in html} == set()  # every in-page link lands
    broken = {link: status for link in links if (status := client.get(link).status_code) >= 400}
    assert broken == {}, broken


def test_the_banner_shows_on_every_page_while_the_access_runs(opened):
    client, access = opened
    for url in ("/", "/cases/", "/meetings/", reverse("break-glass-detail", args=[access.pk])):
        assert b"Emergency access is open" in client.get(url).content, url


def test_the_access_length_is_a_setting(settings, signed_in, outsider, case):
    settings.BREAK_GLASS_MINUTES = 15
    open_access(signed_in(outsider), case.patient.mrn)
    access = m.BreakGlassAccess.objects.get()
    assert access.expires_at - access.granted_at == timedelta(minutes=15)


def test_an_access_ends_at_its_time(opened, case):
    client, access = opened
    m.BreakGlassAccess.objects.filter(pk=access.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    for url in (
        reverse("break-glass-detail", args=[access.pk]),
        reverse("break-glass-case", args=[access.pk, case.pk]),
    ):
        response = client.get(url)
        assert response.status_code == 403 and b"ended at" in response.content
    # The banner reads the expiry the session was given (no query per page): move it past as well.
    session = client.session
    session["_tb_break_glass"] = {str(access.pk): (timezone.now() - timedelta(seconds=1)).timestamp()}
    session.save()
    assert b"Emergency access is open" not in client.get("/").content


def test_only_an_exact_mrn_opens_anything(signed_in, outsider, case):
    client = signed_in(outsider)
    for near in (case.patient.mrn[:-1], case.patient.mrn.lower(), case.patient.mrn[:4], case.patient.family_name):
        response = open_access(client, near)
        assert response.status_code == 400 and b"No patient has exactly this medical record number" in response.content
    assert not m.BreakGlassAccess.objects.exists()
    assert audit_actions().count("access.break_glass_not_found") == 4


def test_a_reason_is_required(signed_in, outsider, case):
    response = open_access(signed_in(outsider), case.patient.mrn, reason="  ")
    assert response.status_code == 400
    assert not m.BreakGlassAccess.objects.exists()


def test_a_coordinator_is_not_a_clinician_and_cannot_break_the_glass(signed_in, other_board, case):
    stranger = f.MembershipFactory(board=other_board, role="coordinator", specialty="").user
    client = signed_in(stranger)
    assert client.get(reverse("break-glass-new")).status_code == 403
    assert open_access(client, case.patient.mrn).status_code == 403
    assert not m.BreakGlassAccess.objects.exists()


def test_a_patient_already_on_my_board_needs_no_emergency_access(signed_in, radiologist, case):
    response = open_access(signed_in(radiologist), case.patient.mrn)
    assert response["Location"] == reverse("patient-detail", args=[case.patient.pk])
    assert not m.BreakGlassAccess.objects.exists()


def test_it_never_grants_a_write_nor_the_ordinary_pages(opened, case, api, outsider):
    client, access = opened
    before = (case.version, m.ImagingStudy.objects.count(), m.Opinion.objects.count(), m.CaseEvent.objects.count())
    for url in (f"/cases/{case.pk}/", f"/patients/{case.patient_id}/", f"/cases/{case.pk}/summary.pdf"):
        assert client.get(url).status_code == 404, url
    writes = {
        f"/cases/{case.pk}/referral/": {"clinical_question": "Changed?", "version": case.version},
        f"/cases/{case.pk}/move/imaging/": {"note": "", "version": case.version},
        f"/cases/{case.pk}/input/": {"assessment": "x", "recommendation": "y"},
        f"/cases/{case.pk}/imaging/new/": {"modality": "CT", "body_site": "Knee"},
    }
    for url, data in writes.items():
        assert client.post(url, data).status_code == 404, url
    rest = api(outsider)
    assert rest.get(f"/api/v1/cases/{case.pk}/").status_code == 404
    assert rest.get(f"/api/v1/patients/{case.patient_id}/").status_code == 404
    assert rest.patch(f"/api/v1/cases/{case.pk}/", {"clinical_question": "x"}, HTTP_IF_MATCH="*").status_code == 404
    assert rest.post(f"/api/v1/cases/{case.pk}/transition/", {"to": "imaging", "note": ""}).status_code == 404
    assert rest.post("/api/v1/opinions/", {"case": case.pk, "assessment": "a", "recommendation": "b"}).status_code in (
        400,
        404,
    )
    case.refresh_from_db()
    after = (case.version, m.ImagingStudy.objects.count(), m.Opinion.objects.count(), m.CaseEvent.objects.count())
    assert before == after


def test_someone_elses_access_is_not_found(opened, signed_in, case, other_board):
    _, access = opened
    colleague = f.MembershipFactory(board=other_board, role="member", specialty="pathology").user
    from django.test import Client

    client = Client()
    client.force_login(colleague)
    assert client.get(reverse("break-glass-detail", args=[access.pk])).status_code == 404
    assert client.get(reverse("break-glass-case", args=[access.pk, case.pk])).status_code == 404


def test_a_case_of_another_patient_is_not_found_through_an_access(opened, board):
    client, access = opened
    other = f.CaseFactory(board=board)
    assert client.get(reverse("break-glass-case", args=[access.pk, other.pk])).status_code == 404


# Review --------------------------------------------------------------------------------------


def test_the_boards_coordinator_reviews_and_acknowledges_with_a_comment(opened, signed_in, coordinator):
    _, access = opened
    from django.test import Client

    client = Client()
    client.force_login(coordinator)
    queue = client.get(reverse("break-glass-review"))
    assert queue.status_code == 200 and REASON.encode() in queue.content
    assert b"Access reviews" in client.get("/").content
    response = client.post(reverse("break-glass-acknowledge", args=[access.pk]), {"comment": "Confirmed with the ED."})
    assert response.status_code == 302
    access.refresh_from_db()
    assert access.reviewed_by == coordinator and access.review_comment == "Confirmed with the ED."
    assert audit_actions()[-1] == "break_glass.acknowledge"
    again = client.post(reverse("break-glass-acknowledge", args=[access.pk]), {"comment": "again"})
    assert again.status_code == 400 and b"already acknowledged" in again.content


def test_an_auditor_sees_every_access(opened, db):
    _, access = opened
    auditor = f.UserFactory(username="auditor", is_staff=True)
    auditor.user_permissions.add(Permission.objects.get(codename="view_auditevent"))
    from django.test import Client

    client = Client()
    client.force_login(auditor)
    assert REASON.encode() in client.get(reverse("break-glass-review")).content


def test_the_review_queue_is_only_for_the_boards_coordinators_and_auditors(opened, signed_in, radiologist, other_board):
    client, access = opened
    assert client.get(reverse("break-glass-review")).status_code == 403  # the clinician who opened it
    stranger = f.MembershipFactory(board=other_board, role="coordinator", specialty="").user
    from django.test import Client

    other = Client()
    other.force_login(stranger)
    assert REASON.encode() not in other.get(reverse("break-glass-review")).content
    assert other.post(reverse("break-glass-acknowledge", args=[access.pk]), {"comment": "x"}).status_code == 404
    access.refresh_from_db()
    assert access.reviewed_at is None


def test_the_review_queue_runs_the_same_queries_for_few_and_many(
    opened, coordinator, outsider, board, django_assert_num_queries
):
    from django.test import Client

    client = Client()
    client.force_login(coordinator)
    url = reverse("break-glass-review")

    def grow():
        for _ in range(15):
            patient = f.CaseFactory(board=board).patient
            m.BreakGlassAccess.objects.create(
                user=outsider, patient=patient, reason=REASON, granted_at=timezone.now(), expires_at=timezone.now()
            )

    few = queries(client, url)
    grow()
    assert queries(client, url) == few
    with django_assert_num_queries(few):
        assert client.get(url).status_code == 200


def test_the_boards_coordinators_are_emailed_once_without_patient_details(
    signed_in, outsider, case, coordinator, mailoutbox, django_capture_on_commit_callbacks
):
    coordinator.email = "coordinator@hospital.invalid"
    coordinator.save(update_fields=["email"])
    with django_capture_on_commit_callbacks(execute=True):
        open_access(signed_in(outsider), case.patient.mrn)
    access = m.BreakGlassAccess.objects.get()
    assert [mail.to for mail in mailoutbox] == [["coordinator@hospital.invalid"]]
    body = mailoutbox[0].body
    assert "/emergency-access/review/" in body
    for secret in (case.patient.mrn, case.patient.family_name, REASON, case.clinical_question):
        assert secret not in body and secret not in mailoutbox[0].subject
    access.refresh_from_db()
    assert access.notified_at is not None
    job = m.Job.objects.get(kind="break_glass.notify")
    from cases.jobs.worker import run_inline

    run_inline(job)  # run again (a worker died before recording it): no second e-mail
    assert len(mailoutbox) == 1
