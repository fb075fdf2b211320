"""Mistakes a busy coordinator makes are stopped before they happen, or mended afterwards with a record."""

import urllib.parse

from django.urls import reverse
from django.utils import timezone

from cases import models as m
from tests import factories as f


def messages_of(response) -> list[str]:
    from django.contrib.messages import get_messages

    return [str(message) for message in get_messages(response.wsgi_request)]


# A second case for a patient with an open one --------------------------------------------------


def test_the_case_form_warns_of_an_open_case_and_links_to_it(signed_in, board, coordinator):
    open_case = f.CaseFactory(board=board)
    page = signed_in(coordinator).get(reverse("case-new", args=[open_case.patient_id])).content.decode()
    assert "This patient already has an open case." in page
    assert f'href="{reverse("case-detail", args=[open_case.pk])}"' in page


def test_a_second_open_case_on_the_same_board_needs_a_confirmation(signed_in, board, coordinator):
    open_case = f.CaseFactory(board=board)
    url = reverse("case-new", args=[open_case.patient_id])
    data = {"board": board.pk, "priority": "routine", "clinical_question": "Again?"}
    refused = signed_in(coordinator).post(url, data)
    assert refused.status_code == 400
    assert f"Case {open_case.pk} of this patient is still open on {board.name}" in refused.content.decode()
    assert m.Case.objects.count() == 1
    confirmed = signed_in(coordinator).post(url, data | {"confirm_second_case": "on"})
    assert confirmed.status_code == 302
    assert m.Case.objects.count() == 2


def test_a_closed_case_does_not_stop_a_new_referral(signed_in, board, coordinator):
    closed = f.CaseFactory(board=board, stage="closed")
    url = reverse("case-new", args=[closed.patient_id])
    response = signed_in(coordinator).post(url, {"board": board.pk, "priority": "routine"})
    assert response.status_code == 302
    assert m.Case.objects.count() == 2


def test_dashboard_rows_carry_case_numbers(signed_in, board, coordinator):
    first, second = f.CaseFactory(board=board), f.CaseFactory(board=board)
    page = signed_in(coordinator).get(reverse("dashboard")).content.decode()
    assert f"Case {first.pk}:" in page and f"Case {second.pk}:" in page


# Withdrawing a case ----------------------------------------------------------------------------


def test_withdrawing_a_case_keeps_it_readable_and_takes_it_off_worklists_and_agendas(
    signed_in, board, coordinator, radiologist
):
    case = f.CaseFactory(board=board, stage="imaging")
    meeting = f.MeetingFactory(board=board)
    m.AgendaItem.objects.create(meeting=meeting, case=case, position=1)
    client = signed_in(coordinator)
    response = client.post(
        reverse("case-withdraw", args=[case.pk]), {"reason": "Duplicate of case 1.", "version": case.version}
    )
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.is_withdrawn and case.withdrawal_reason == "Duplicate of case 1." and case.withdrawn_by == coordinator
    assert not m.AgendaItem.objects.filter(case=case).exists()
    event = m.AuditEvent.objects.get(action="case.withdraw")
    assert event.case_id == case.pk and event.changes["reason"] == "Duplicate of case 1."
    page = client.get(reverse("case-detail", args=[case.pk])).content.decode()
    assert "Withdrawn" in page and "Duplicate of case 1. The record" in page and ".." not in page
    assert "Move to" not in page
    assert case.events.filter(kind="withdrawn").exists()
    listed = client.get(reverse("case-list")).context["page"].object_list
    assert case not in list(listed)
    assert case not in list(signed_in(radiologist).get(reverse("dashboard")).context["awaiting"])


def test_a_withdrawn_case_leaves_the_review_and_awaiting_a_meeting_worklists_and_its_reminders(board, coordinator):
    from cases import selectors
    from cases.services import records
    from cases.services.notify import notify_follow_ups_due

    deferred, stale = f.CaseFactory(board=board, stage="consensus"), f.CaseFactory(board=board, stage="consensus")
    held = f.MeetingFactory(board=board, status="held")
    m.AgendaItem.objects.create(meeting=held, case=deferred, position=1, outcome="deferred", deferral_reason="Scan.")
    f.OpinionFactory(case=stale, stale_since=timezone.now())
    assert [item.case for item in selectors.awaiting_a_meeting(user=coordinator)] == [deferred]
    assert list(selectors.cases_needing_review(user=coordinator)) == [stale]
    for case in (deferred, stale):
        records.case_withdraw(case=case, by=coordinator, reason=f"Duplicate of case {case.pk + 10}")
    assert list(selectors.awaiting_a_meeting(user=coordinator)) == []
    assert list(selectors.cases_needing_review(user=coordinator)) == []
    # Its planned follow-up no longer reminds its owner.
    due = timezone.localdate() + timezone.timedelta(days=3)
    m.FollowUp.objects.create(case=deferred, kind="action", description="Clinic.", owner=coordinator, due_on=due)
    assert notify_follow_ups_due(today=timezone.localdate()) == []


def test_withdrawing_needs_a_reason_and_changes_nothing_without_one(signed_in, board, coordinator):
    case = f.CaseFactory(board=board)
    response = signed_in(coordinator).post(reverse("case-withdraw", args=[case.pk]), {"reason": " "})
    assert response.status_code == 400
    case.refresh_from_db()
    assert not case.is_withdrawn
    assert not m.AuditEvent.objects.filter(action="case.withdraw").exists()


def test_only_a_coordinator_withdraws_and_a_withdrawn_case_cannot_move(signed_in, board, coordinator, chair):
    from cases.services import records, workflow
    from cases.services.errors import Conflict

    case = f.CaseFactory(board=board)
    assert signed_in(chair).post(reverse("case-withdraw", args=[case.pk]), {"reason": "x"}).status_code == 403
    records.case_withdraw(case=case, by=coordinator, reason="Wrong patient")
    try:
        workflow.case_transition(case=case, to="imaging", by=coordinator)
    except Conflict as error:
        assert error.code == "case_withdrawn"
    else:
        raise AssertionError("a withdrawn case moved")


def test_an_outsider_cannot_withdraw(signed_in, board, outsider):
    case = f.CaseFactory(board=board)
    assert signed_in(outsider).post(reverse("case-withdraw", args=[case.pk]), {"reason": "x"}).status_code == 404


# Merging duplicate patients --------------------------------------------------------------------


def test_the_merge_preview_shows_what_moves_and_changes_nothing(signed_in, board, coordinator):
    duplicate = f.PatientFactory(registered_board=board, mrn="SYN-DUP-2", given_name="Mira")
    f.PatientFactory(registered_board=board, mrn="SYN-KEEP-1", given_name="Mirá")
    moving = f.CaseFactory(board=board, patient=duplicate)
    response = signed_in(coordinator).get(reverse("patient-merge", args=[duplicate.pk]), {"keep": "syn-keep-1"})
    page = response.content.decode()
    assert response.status_code == 200
    assert f"Case {moving.pk}" in page and "Merge SYN-DUP-2 into SYN-KEEP-1" in page
    assert "Mirá" in page  # the detail that differs
    moving.refresh_from_db()
    assert moving.patient == duplicate


def test_merging_moves_the_cases_and_keeps_the_duplicate_readable_as_merged(signed_in, board, coordinator):
    duplicate = f.PatientFactory(registered_board=board, mrn="SYN-DUP-2")
    keep = f.PatientFactory(registered_board=board, mrn="SYN-KEEP-1")
    moving = f.CaseFactory(board=board, patient=duplicate)
    client = signed_in(coordinator)
    response = client.post(reverse("patient-merge", args=[duplicate.pk]), {"keep": "SYN-KEEP-1", "once": "t" * 20})
    assert response.status_code == 302 and response["Location"] == reverse("patient-detail", args=[keep.pk])
    moving.refresh_from_db()
    duplicate.refresh_from_db()
    assert moving.patient == keep
    assert duplicate.merged_into == keep and duplicate.merged_by == coordinator
    assert m.AuditEvent.objects.get(action="patient.merge").changes["cases_moved"] == [moving.pk]
    page = client.get(reverse("patient-detail", args=[duplicate.pk])).content.decode()
    assert "This record was merged" in page and "SYN-KEEP-1" in page
    # A second press of the button points to the kept record again; nothing merges twice.
    again = client.post(reverse("patient-merge", args=[duplicate.pk]), {"keep": "SYN-KEEP-1", "once": "t" * 20})
    assert again["Location"] == reverse("patient-detail", args=[keep.pk])
    assert m.AuditEvent.objects.filter(action="patient.merge").count() == 1


def test_a_merge_reaching_another_boards_case_is_refused(signed_in, board, other_board, coordinator):
    duplicate = f.PatientFactory(registered_board=board, mrn="SYN-DUP-2")
    keep = f.PatientFactory(registered_board=board, mrn="SYN-KEEP-1")
    elsewhere = f.CaseFactory(board=other_board, patient=duplicate)
    response = signed_in(coordinator).post(reverse("patient-merge", args=[duplicate.pk]), {"keep": keep.mrn})
    assert response.status_code == 400
    assert "board you do not coordinate" in response.content.decode()
    elsewhere.refresh_from_db()
    assert elsewhere.patient == duplicate and not m.AuditEvent.objects.filter(action="patient.merge").exists()


def test_a_merged_record_takes_no_new_case(signed_in, board, coordinator):
    from cases.services import records

    duplicate = f.PatientFactory(registered_board=board)
    keep = f.PatientFactory(registered_board=board)
    records.patient_merge(duplicate=duplicate, keep=keep, by=coordinator)
    response = signed_in(coordinator).post(
        reverse("case-new", args=[duplicate.pk]), {"board": board.pk, "priority": "routine"}
    )
    assert response.status_code == 400 and "was merged into" in response.content.decode()


# Finding patients ------------------------------------------------------------------------------


def search(client, term):
    return client.post(reverse("patient-list"), {"q": term}).context["results"]


def test_patients_are_found_by_exact_mrn_by_name_without_accents_and_by_birth_date(signed_in, board, coordinator):
    from datetime import date

    zoe = f.PatientFactory(registered_board=board, mrn="SYN-0042", given_name="Zoë", family_name="Łukasik")
    other = f.PatientFactory(registered_board=board, mrn="SYN-00421", birth_date=date(1970, 1, 2))
    client = signed_in(coordinator)
    assert search(client, "syn-0042") == [zoe]
    assert search(client, "zoe lukasik") == [zoe]
    assert search(client, "ŁUKASIK") == [zoe]
    assert search(client, "1970-01-02") == [other]
    assert search(client, "02.01.1970") == [other]
    assert search(client, "nobody") == []
    assert m.AuditEvent.objects.filter(action="patient.search").count() == 6


def test_a_patient_without_a_case_is_listed_and_another_boards_patient_is_not(
    signed_in, board, other_board, coordinator
):
    mine = f.PatientFactory(registered_board=board)
    theirs = f.PatientFactory(registered_board=other_board, family_name=mine.family_name)
    client = signed_in(coordinator)
    assert list(client.get(reverse("patient-list")).context["page"].object_list) == [mine]
    assert theirs not in search(client, mine.family_name)


def test_already_registered_links_to_the_record(signed_in, board, coordinator):
    existing = f.PatientFactory(registered_board=board, mrn="SYN-EXISTS")
    response = signed_in(coordinator).post(
        reverse("patient-new"),
        {
            "board": board.pk,
            "mrn": "SYN-EXISTS",
            "given_name": "A",
            "family_name": "B",
            "birth_date": "1980-01-01",
            "sex": "male",
        },
    )
    assert response.status_code == 400
    assert f'href="{reverse("patient-detail", args=[existing.pk])}"' in response.content.decode()


def test_the_patient_list_runs_a_fixed_number_of_queries(signed_in, board, coordinator, django_assert_num_queries):
    client = signed_in(coordinator)
    client.get(reverse("patient-list"))
    counts = []
    for n in (2, 12):
        for _ in range(n - m.Patient.objects.count()):
            f.CaseFactory(board=board)
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as queries:
            client.get(reverse("patient-list"))
            client.post(reverse("patient-list"), {"q": "TEST"})
        counts.append(len(queries))
    assert counts[0] == counts[1]


def test_the_patient_search_answers_every_hostile_term_and_changes_nothing(signed_in, board, coordinator):
    from tests.hostile import payloads as hc

    f.PatientFactory(registered_board=board)
    client = signed_in(coordinator)
    before = m.Patient.objects.count(), m.Case.objects.count()
    for payload in hc.PAYLOADS:
        if not payload.web:
            continue
        value = payload.value if isinstance(payload.value, str) else str(payload.value)
        body = urllib.parse.urlencode({"q": value}, errors="surrogatepass").encode("utf-8", "surrogatepass")
        response = client.post(reverse("patient-list"), body, content_type="application/x-www-form-urlencoded")
        assert response.status_code in (200, 400), (payload.name, response.status_code)
    assert (m.Patient.objects.count(), m.Case.objects.count()) == before


# Correcting imaging ----------------------------------------------------------------------------


def test_amending_a_study_keeps_the_original_read_only_and_shows_both(signed_in, board, radiologist):
    case = f.CaseFactory(board=board, stage="imaging")
    original = f.ImagingStudyFactory(case=case, body_site="Right knee", impression="Lobular calcification.")
    client = signed_in(radiologist)
    data = {
        "modality": original.modality,
        "body_site": "Left knee",
        "performed_on": original.performed_on.isoformat(),
        "impression": "Lobular calcification.",
        "amendment_reason": "Wrong side: the left knee.",
    }
    response = client.post(reverse("imaging-amend", args=[original.pk]), data)
    assert response.status_code == 302
    amended = m.ImagingStudy.objects.get(supersedes=original)
    original.refresh_from_db()
    assert (original.body_site, amended.body_site) == ("Right knee", "Left knee")
    assert amended.amendment_reason == "Wrong side: the left knee."
    audit = m.AuditEvent.objects.get(action="imaging.amend")
    assert audit.changes["body_site"] == ["Right knee", "Left knee"] and audit.changes["supersedes"] == original.pk
    page = client.get(reverse("case-detail", args=[case.pk])).content.decode()
    assert "Right knee" in page and "Left knee" in page and "Superseded — kept as reported" in page
    assert "Wrong side: the left knee." in page
    # The original is frozen, and amending it again is refused.
    again = client.post(reverse("imaging-amend", args=[original.pk]), data)
    assert again.status_code == 400 and "already been amended" in again.content.decode()
    original.body_site = "Elsewhere"
    try:
        original.save()
    except m.FrozenRecordError:
        pass
    else:
        raise AssertionError("a superseded study changed")


def test_an_amendment_that_changes_nothing_is_refused(signed_in, board, radiologist):
    study = f.ImagingStudyFactory(case=f.CaseFactory(board=board), body_site="Right knee", impression="Callus.")
    same = {
        "modality": study.modality,
        "body_site": study.body_site,
        "performed_on": study.performed_on.isoformat(),
        "findings": study.findings,
        "impression": study.impression,
        "accession_number": study.accession_number,
        "amendment_reason": "Checked again.",
    }
    response = signed_in(radiologist).post(reverse("imaging-amend", args=[study.pk]), same)
    assert response.status_code == 400 and "The amendment changes nothing" in response.content.decode()
    assert not m.ImagingStudy.objects.filter(supersedes=study).exists()
    assert not m.AuditEvent.objects.filter(action="imaging.amend").exists()


def test_an_amendment_needs_a_reason(signed_in, board, radiologist):
    study = f.ImagingStudyFactory(case=f.CaseFactory(board=board))
    response = signed_in(radiologist).post(
        reverse("imaging-amend", args=[study.pk]),
        {"modality": study.modality, "body_site": "X", "performed_on": study.performed_on.isoformat()},
    )
    assert response.status_code == 400
    assert not m.ImagingStudy.objects.filter(supersedes=study).exists()


def test_an_addendum_is_added_below_the_report_and_audited(signed_in, board, radiologist, coordinator):
    study = f.ImagingStudyFactory(case=f.CaseFactory(board=board), impression="Callus.")
    response = signed_in(radiologist).post(
        reverse("imaging-addendum", args=[study.pk]), {"text": "Compared with 2014: unchanged."}
    )
    assert response.status_code == 302
    study.refresh_from_db()
    assert study.impression == "Callus." and study.addenda.get().text == "Compared with 2014: unchanged."
    assert m.AuditEvent.objects.filter(action="imaging.addendum", case_id=study.case_id).exists()
    assert signed_in(coordinator).post(reverse("imaging-addendum", args=[study.pk]), {"text": "x"}).status_code == 403


# No silent defaults, and implausible input refused -----------------------------------------------


def test_sex_board_agenda_case_and_pathology_status_start_unchosen(signed_in, board, other_board, coordinator):
    from cases.web.forms import AgendaAddForm, PathologyReportForm, PatientForm

    f.MembershipFactory(user=coordinator, board=other_board, role=m.Role.COORDINATOR, specialty="")
    patient_form = signed_in(coordinator).get(reverse("patient-new")).context["form"]
    assert patient_form.fields["sex"].choices[0] == ("", "Choose…")
    assert patient_form.fields["board"].choices[0] == ("", "Choose…")
    assert not PathologyReportForm().fields["status"].initial
    assert AgendaAddForm(candidates=[], members=[]).fields["case"].choices[0] == ("", "Choose…")
    refused = PatientForm(
        {"mrn": "X", "given_name": "A", "family_name": "B", "birth_date": "1980-01-01"}, memberships=[]
    )
    assert {"sex", "board"} <= set(refused.errors)


def test_a_birth_date_in_the_future_or_over_120_years_ago_is_refused(signed_in, board, coordinator):
    client = signed_in(coordinator)
    base = {"board": board.pk, "mrn": "SYN-PL-1", "given_name": "A", "family_name": "B", "sex": "male"}
    future = client.post(reverse("patient-new"), base | {"birth_date": "2031-01-01"})
    assert future.status_code == 400 and "The birth date is in the future" in future.content.decode()
    ancient = client.post(reverse("patient-new"), base | {"birth_date": "1901-01-01"})
    assert ancient.status_code == 400 and "more than 120 years ago" in ancient.content.decode()
    assert not m.Patient.objects.exists()


def test_study_and_collection_dates_are_not_in_the_future_nor_before_birth(signed_in, board, radiologist, pathologist):
    case = f.CaseFactory(board=board)  # born 1990
    study = {"modality": "XR", "body_site": "Knee", "impression": "x"}
    future = signed_in(radiologist).post(reverse("imaging-new", args=[case.pk]), study | {"performed_on": "2099-01-01"})
    assert future.status_code == 400 and "The study date is in the future" in future.content.decode()
    early = signed_in(radiologist).post(reverse("imaging-new", args=[case.pk]), study | {"performed_on": "1980-01-01"})
    assert early.status_code == 400 and "before the patient" in early.content.decode()
    report = {"specimen": "Bone", "procedure": "Biopsy", "diagnosis": "x", "status": "final"}
    response = signed_in(pathologist).post(
        reverse("pathology-new", args=[case.pk]), report | {"collected_on": "2099-01-01"}
    )
    assert response.status_code == 400 and "The collection date is in the future" in response.content.decode()
    assert not m.ImagingStudy.objects.exists() and not m.PathologyReport.objects.exists()


def test_an_icdo3_code_must_look_like_one(signed_in, board, pathologist):
    case = f.CaseFactory(board=board)
    report = {
        "specimen": "Bone",
        "procedure": "Biopsy",
        "diagnosis": "x",
        "status": "final",
        "collected_on": "2020-01-01",
    }
    client = signed_in(pathologist)
    banana = client.post(reverse("pathology-new", args=[case.pk]), report | {"icdo3_code": "banana"})
    assert banana.status_code == 400 and "This is not an ICD-O-3 code" in banana.content.decode()
    assert client.post(reverse("pathology-new", args=[case.pk]), report | {"icdo3_code": "9180/3"}).status_code == 302


def test_a_new_meeting_starts_in_the_future_and_needs_a_place(signed_in, board, coordinator):
    client = signed_in(coordinator)
    past = client.post(reverse("meeting-new"), {"board": board.pk, "starts_at": "2020-01-01T14:00", "location": "4B"})
    assert past.status_code == 400 and "is in the past" in past.content.decode()
    nowhere = client.post(reverse("meeting-new"), {"board": board.pk, "starts_at": "2099-01-01T14:00"})
    page = nowhere.content.decode()
    assert nowhere.status_code == 400 and "Give the meeting a room or a video link" in page
    assert "Constraint" not in page and "violated" not in page
    assert not m.Meeting.objects.exists()


# The agenda ------------------------------------------------------------------------------------


def test_an_empty_agenda_is_not_published(signed_in, board, coordinator):
    meeting = f.MeetingFactory(board=board)
    response = signed_in(coordinator).post(
        reverse("agenda-publish", args=[meeting.pk]), {"confirmed": "yes"}, follow=True
    )
    assert "An empty agenda is not published" in response.content.decode()
    meeting.refresh_from_db()
    assert not meeting.is_published


def test_a_published_agenda_goes_back_to_draft_before_the_meeting(signed_in, board, coordinator):
    from django.utils import timezone

    draft = f.MeetingFactory(board=board)
    m.AgendaItem.objects.create(meeting=draft, case=f.CaseFactory(board=board), position=1)
    client = signed_in(coordinator)
    # The confirmation says how to take it back, not that it cannot be undone.
    confirm = " ".join(client.get(reverse("agenda-publish", args=[draft.pk])).content.decode().split())
    assert "Back to draft on the meeting page takes the agenda back" in confirm and "cannot be undone" not in confirm
    meeting = f.MeetingFactory(board=board, agenda_published_at=timezone.now())
    assert "Back to draft" in client.get(reverse("meeting-detail", args=[meeting.pk])).content.decode()
    client.post(reverse("agenda-unpublish", args=[meeting.pk]))
    meeting.refresh_from_db()
    assert not meeting.is_published
    assert m.AuditEvent.objects.filter(action="agenda.unpublish", object_id=str(meeting.pk)).exists()


def test_a_started_meeting_keeps_its_published_agenda(signed_in, board, coordinator):
    from datetime import timedelta

    from django.utils import timezone

    meeting = f.MeetingFactory(
        board=board, starts_at=timezone.now() - timedelta(minutes=5), agenda_published_at=timezone.now()
    )
    response = signed_in(coordinator).post(reverse("agenda-unpublish", args=[meeting.pk]), follow=True)
    assert "only before its meeting starts" in response.content.decode()
    meeting.refresh_from_db()
    assert meeting.is_published


def test_a_case_on_two_upcoming_agendas_is_flagged(signed_in, board, coordinator):
    from datetime import timedelta

    from django.utils import timezone

    case = f.CaseFactory(board=board)
    first = f.MeetingFactory(board=board, starts_at=timezone.now() + timedelta(days=3))
    second = f.MeetingFactory(board=board, starts_at=timezone.now() + timedelta(days=10))
    for meeting in (first, second):
        m.AgendaItem.objects.create(meeting=meeting, case=case, position=1)
    page = signed_in(coordinator).get(reverse("meeting-detail", args=[first.pk])).content.decode()
    assert f"Also on {timezone.localtime(second.starts_at):%-d %b}" in page


def test_deferring_says_which_meeting_the_case_went_to(signed_in, board, coordinator):
    from datetime import timedelta

    from django.utils import timezone

    case = f.CaseFactory(board=board)
    today = f.MeetingFactory(board=board, starts_at=timezone.now(), status="in_progress")
    following = f.MeetingFactory(board=board, starts_at=timezone.now() + timedelta(days=14))
    item = m.AgendaItem.objects.create(meeting=today, case=case, position=1)
    other = m.AgendaItem.objects.create(meeting=today, case=f.CaseFactory(board=board), position=2)
    response = signed_in(coordinator).post(
        reverse("agenda-outcome", args=[item.pk]), {"outcome": "deferred", "deferral_reason": "Awaiting MR."}
    )
    when = timezone.localtime(following.starts_at)
    assert f"is deferred to the meeting of {when:%A %d %B %Y, %H:%M}" in messages_of(response)[0]
    # In-meeting mode moves on to the next case still waiting for its outcome.
    assert response["Location"] == reverse("meeting-run", args=[today.pk])
    page = signed_in(coordinator).get(response["Location"])
    assert page.context["current"] == other


def test_cancelled_meetings_have_their_own_group(signed_in, board, coordinator):
    from datetime import timedelta

    from django.utils import timezone

    cancelled = f.MeetingFactory(board=board, starts_at=timezone.now() + timedelta(days=5), status="cancelled")
    held = f.MeetingFactory(board=board, starts_at=timezone.now() - timedelta(days=5), status="held")
    context = signed_in(coordinator).get(reverse("meeting-list")).context
    assert list(context["cancelled"]) == [cancelled]
    assert cancelled not in list(context["past"]) and held in list(context["past"])


# Broken pages ----------------------------------------------------------------------------------


def test_with_debug_on_not_found_is_the_products_own_page(signed_in, settings, coordinator):
    settings.DEBUG = True
    client = signed_in(coordinator)
    for url in ("/no-such-page/", reverse("case-detail", args=[999999])):
        response = client.get(url)
        page = response.content.decode()
        assert response.status_code == 404
        assert "There is nothing here" in page and "URLconf" not in page, url


def test_the_audit_export_exports_exactly_what_the_page_shows(client, board, coordinator):
    import csv
    import io
    import re

    from django.contrib.auth.models import Permission

    auditor = f.UserFactory(username="auditor", is_staff=True)
    auditor.user_permissions.add(Permission.objects.get(codename="view_auditevent"))
    shown, other = f.CaseFactory(board=board), f.CaseFactory(board=board)
    client.force_login(coordinator)
    for case in (shown, shown, other):
        client.get(reverse("case-detail", args=[case.pk]))
    client.force_login(auditor)
    page = client.get(reverse("audit-log"), {"mrn": shown.patient.mrn})
    link = re.search(r'href="([^"]*format=csv[^"]*)"', page.content.decode()).group(1).replace("&amp;", "&")
    assert link.startswith("?") and not link.startswith("??")
    export = client.get(reverse("audit-log") + link)
    rows = list(csv.DictReader(io.StringIO(b"".join(export.streaming_content).decode())))
    assert len(rows) == page.context["page"].paginator.count > 0
    assert {row["patient_id"] for row in rows} == {str(shown.patient_id)}
    unfiltered = client.get(reverse("audit-log") + re.sub(r"mrn=[^&]*&?", "", link))
    assert len(list(csv.DictReader(io.StringIO(b"".join(unfiltered.streaming_content).decode())))) > len(rows)


def test_the_audit_changes_column_reads_before_and_after(client, board, coordinator):
    from django.contrib.auth.models import Permission

    from cases.services import cases as case_services

    auditor = f.UserFactory(username="auditor", is_staff=True)
    auditor.user_permissions.add(Permission.objects.get(codename="view_auditevent"))
    case = f.CaseFactory(board=board)
    case_services.case_update(case=case, by=coordinator, key_labs="Ca 3.1")
    client.force_login(auditor)
    page = client.get(reverse("audit-log"), {"action": "case.update"}).content.decode()
    assert "Key labs: Calcium high. → Ca 3.1" in page
    assert "{&#x27;" not in page and "[&#x27;" not in page


def test_the_timeline_names_fields_by_their_labels_and_who_viewed_names_people(signed_in, board, coordinator):
    from cases.services import cases as case_services

    coordinator.first_name, coordinator.last_name = "Ada", "Coordin"
    coordinator.save()
    case = f.CaseFactory(board=board)
    case_services.case_update(case=case, by=coordinator, referring_clinician="Dr. B", referring_email="b@x.invalid")
    page = signed_in(coordinator).get(reverse("case-detail", args=[case.pk])).content.decode()
    assert "Referral updated: referring clinician, referring email" in page
    assert "referring_clinician" not in page
    viewers = page.split('id="viewers-h"')[1]
    assert "Ada Coordin" in viewers and ">coordinator —" not in viewers


def test_a_stale_edit_says_what_changed_and_offers_to_reload(signed_in, board, coordinator):
    case = f.CaseFactory(board=board)
    data = {"version": case.version, "clinical_question": "Mine", "priority": "routine"}
    data |= {"referring_clinician": case.referring_clinician, "history": case.history, "key_labs": case.key_labs}
    m.Case.objects.filter(pk=case.pk).update(version=case.version + 1, clinical_question="Theirs")
    response = signed_in(coordinator).post(reverse("referral-edit", args=[case.pk]), data)
    page = response.content.decode()
    assert response.status_code == 400
    assert "These fields now differ from what you sent" in page
    assert "Theirs" in page and "Mine" in page and "Reload with the saved values" in page
    assert "version 1" not in page
    assert response.context["stale"] == [("Clinical question", "Theirs", "Mine")]


# Context where decisions are made --------------------------------------------------------------


def test_the_opinion_form_shows_the_question_imaging_pathology_and_other_inputs(
    signed_in, board, radiologist, orthopaedic
):
    from django.utils import timezone

    case = f.CaseFactory(board=board, clinical_question="Relapse or tumoral calcinosis?")
    f.ImagingStudyFactory(case=case, impression="Lobular calcifications near the nail.")
    original = f.PathologyReportFactory(case=case, status="final", diagnosis="Residual osteosarcoma.")
    f.PathologyReportFactory(
        case=case, status="amended", supersedes=original, diagnosis="No tumour: callus and calcinosis.",
        amendment_reason="Re-review", discrepancy="major", signed_out_at=timezone.now(),
    )  # fmt: skip
    f.OpinionFactory(case=case, specialty="orthopaedic_oncology", author=orthopaedic, assessment="Hardware loose.")
    page = signed_in(radiologist).get(reverse("opinion-edit", args=[case.pk])).content.decode()
    for text in (
        "Relapse or tumoral calcinosis?",
        "Lobular calcifications near the nail.",
        "No tumour: callus and calcinosis.",
        "Diagnosis changed on amendment",
        "Hardware loose.",
    ):
        assert text in page, text


def test_a_follow_up_is_reassigned_and_redated_with_an_audit_row(signed_in, board, coordinator, chair, orthopaedic):
    from datetime import date

    case = f.CaseFactory(board=board)
    follow_up = m.FollowUp.objects.create(
        case=case, kind="action", category="surgery", description="Revision", owner=chair, due_on=date(2027, 1, 4)
    )
    client = signed_in(coordinator)
    assert "Reassign…" in client.get(reverse("case-detail", args=[case.pk])).content.decode()
    response = client.post(
        reverse("follow-up-change", args=[follow_up.pk]),
        {"owner": orthopaedic.pk, "due_on": "2027-02-01", "version": follow_up.version},
    )
    assert response.status_code == 302
    follow_up.refresh_from_db()
    assert (follow_up.owner, follow_up.due_on) == (orthopaedic, date(2027, 2, 1))
    audit = m.AuditEvent.objects.get(action="follow_up.update")
    assert audit.changes == {"owner": [chair.pk, orthopaedic.pk], "due_on": ["2027-01-04", "2027-02-01"]}


def test_plan_items_go_to_the_member_whose_specialty_fits(board, chair, orthopaedic, radonc, quorate_meeting):
    from cases.services.followups import plan_owners

    owners = plan_owners(
        board_id=board.pk, categories=["surgery", "radiotherapy", "supportive_care"], participants=[], fallback=chair
    )
    assert owners == {"surgery": orthopaedic, "radiotherapy": radonc, "supportive_care": chair}


def test_in_meeting_mode_shows_the_key_images_large_with_a_link_to_the_full_image(signed_in, board, coordinator):
    from cases.services import imaging

    case = f.CaseFactory(board=board)
    study = f.ImagingStudyFactory(case=case)
    image = imaging.key_image_add(
        study=study, by=f.MembershipFactory(board=board).user, upload=f.png_upload(), caption="Lobular calcification"
    )
    meeting = f.MeetingFactory(board=board)
    m.AgendaItem.objects.create(meeting=meeting, case=case, position=1)
    page = signed_in(coordinator).get(reverse("meeting-run", args=[meeting.pk])).content.decode()
    section = page.split('id="images-h"')[1]
    assert f'href="{reverse("key-image", args=[image.pk])}"' in section and "Lobular calcification" in section
