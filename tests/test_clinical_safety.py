"""Clinical safety under change (issue 10): who really attended, when a decision may be signed,
and what a pathology amendment invalidates. Each scenario of the issue is one test here."""

from datetime import timedelta

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.utils import timezone

from cases import models as m
from cases import selectors
from cases.services import decisions, followups, meetings, opinions, pathology, workflow
from cases.services.errors import Conflict, GatesUnmet
from tests import factories as f
from tests.conftest import audit_actions

PLAN = [{"category": "surveillance", "detail": "Osteosarcoma schedule."}, {"category": "biopsy", "detail": ""}]


@pytest.fixture
def nephrologist(board):
    return f.MembershipFactory(
        user=f.UserFactory(username="nephrologist"), board=board, role=m.Role.MEMBER, specialty="nephrology"
    ).user


@pytest.fixture
def next_week(board, coordinator):
    return f.MeetingFactory(board=board, created_by=coordinator, starts_at=timezone.now() + timedelta(days=7))


def record(case, by, meeting, **overrides):
    fields = {"consensus_diagnosis": "Tumoral calcinosis.", "plan": PLAN}
    f.on_agenda(meeting, case)
    return decisions.decision_record(case=case, by=by, meeting=meeting, **{**fields, **overrides})


def amend(report, by, **overrides):
    fields = {
        "diagnosis": "Tumoral calcinosis secondary to renal disease; no osteosarcoma.",
        "amendment_reason": "Re-review at the interdisciplinary meeting.",
        "discrepancy": "major",
    }
    return pathology.pathology_report_amend(report=report, by=by, **{**fields, **overrides})


# Meeting governance -------------------------------------------------------------------------


def test_the_forged_quorum_through_the_api_is_refused(
    api, board, coordinator, chair, radiologist, nephrologist, make_case, next_week
):
    case = make_case("consensus")
    office = api(coordinator)
    draft = office.post(
        "/api/v1/decisions/",
        {"case": case.pk, "meeting": next_week.pk, "consensus_diagnosis": "Calcinosis.", "plan": PLAN},
    )
    assert draft.status_code == 201
    url = f"/api/v1/meetings/{next_week.pk}/attendance/"
    forged = [
        (coordinator, "radiology"),
        (chair, "pathology"),
        (nephrologist, "orthopaedic_oncology"),
        (radiologist, "radiation_oncology"),
    ]
    for user, specialty in forged:
        refused = office.post(url, {"user": user.pk, "specialty": specialty})
        assert refused.status_code == 400
        assert "attends for" in refused.json()["specialty"][0]
    assert not m.Attendance.objects.exists()
    # Without a specialty, each attends for the one their membership holds: no quorum of the four needed.
    for user, _ in forged:
        assert office.post(url, {"user": user.pk}).json()["specialty"] == (
            m.BoardMembership.objects.get(user=user, board=board).specialty
        )
    quorum = office.get(f"/api/v1/meetings/{next_week.pk}/").json()["quorum"]
    assert quorum["is_met"] is False and "pathology" in quorum["missing"]
    signed = api(chair).post(f"/api/v1/decisions/{draft.json()['id']}/sign/")
    assert signed.status_code == 409
    codes = [gate["code"] for gate in signed.json()["unmet"]]
    assert {"meeting_not_in_progress", "meeting_not_started", "quorum_not_met:pathology"} <= set(codes)


def test_a_decision_is_not_signed_at_a_scheduled_future_meeting_even_when_quorate(
    make_case, coordinator, chair, specialists, next_week
):
    for specialty, user in specialists.items():
        f.AttendanceFactory(meeting=next_week, user=user, specialty=specialty)
    decision = record(make_case("consensus"), coordinator, next_week)
    with pytest.raises(GatesUnmet) as refused:
        decisions.decision_sign(decision=decision, by=chair)
    assert refused.value.codes == ["meeting_not_in_progress", "meeting_not_started"]
    decision.refresh_from_db()
    assert decision.status == "draft" and not m.FollowUp.objects.exists()


def test_a_decision_is_not_signed_at_a_cancelled_meeting(make_case, coordinator, chair, quorate_meeting):
    decision = record(make_case("consensus"), coordinator, quorate_meeting)
    m.Meeting.objects.filter(pk=quorate_meeting.pk).update(status="cancelled")
    with pytest.raises(GatesUnmet) as refused:
        decisions.decision_sign(decision=decision, by=chair)
    assert refused.value.codes == ["meeting_cancelled"]


def test_a_decision_is_signed_only_at_a_meeting_that_had_the_case_before_it(
    make_case, board, coordinator, chair, specialists
):
    """A quorate meeting held months ago, whose agenda never listed the case, is no place to sign it."""
    held = f.MeetingFactory(board=board, starts_at=timezone.now() - timedelta(days=90), status="held")
    for specialty, user in specialists.items():
        f.AttendanceFactory(meeting=held, user=user, specialty=specialty)
    case = make_case("consensus")
    decision = decisions.decision_record(case=case, by=coordinator, meeting=held, consensus_diagnosis="X.", plan=PLAN)
    with pytest.raises(GatesUnmet) as refused:
        decisions.decision_sign(decision=decision, by=chair)
    assert refused.value.codes == ["case_not_on_agenda"]
    assert "That meeting is over and its agenda never listed the case" in str(refused.value)
    # Deferred from that meeting: it did not decide the case either.
    item = m.AgendaItem.objects.create(
        meeting=held, case=case, position=1, outcome="deferred", deferral_reason="Awaiting the MRI."
    )
    with pytest.raises(GatesUnmet) as deferred:
        decisions.decision_sign(decision=decision, by=chair)
    assert deferred.value.codes == [
        "case_not_on_agenda"
    ] and "sign the decision at the meeting it was deferred to" in str(deferred.value)
    assert m.Decision.objects.get(pk=decision.pk).status == "draft"
    m.AgendaItem.objects.filter(pk=item.pk).update(outcome="discussed")
    assert decisions.decision_sign(decision=decision, by=chair).status == "signed"


def test_a_correction_at_the_meeting_of_the_decision_it_corrects_needs_no_agenda_row(
    make_case, board, coordinator, chair, specialists
):
    """A decision signed before the agenda rule may rest on a meeting that never listed the case: its correction
    is signed at that same meeting."""
    held = f.MeetingFactory(board=board, starts_at=timezone.now() - timedelta(days=30), status="held")
    for specialty, user in specialists.items():
        f.AttendanceFactory(meeting=held, user=user, specialty=specialty)
    case = make_case("consensus")
    legacy = m.Decision.objects.create(
        case=case, meeting=held, consensus_diagnosis="X.", plan=PLAN, recorded_by=coordinator, status="signed",
        signed_by=chair, signed_at=timezone.now(),
    )  # fmt: skip
    correction = decisions.decision_correct(
        decision=legacy, by=chair, reason="Typo in the plan.", consensus_diagnosis="X.", plan=PLAN
    )
    assert correction.meeting_id == held.pk
    assert decisions.decision_sign(decision=correction, by=chair).status == "signed"


def test_a_meeting_starts_at_most_an_hour_early_then_ends_held(board, coordinator, next_week):
    with pytest.raises(GatesUnmet) as refused:
        meetings.meeting_start(meeting=next_week, by=coordinator)
    assert refused.value.codes == ["meeting_not_due"]
    m.Meeting.objects.filter(pk=next_week.pk).update(starts_at=timezone.now() + timedelta(minutes=30))
    meetings.meeting_start(meeting=next_week, by=coordinator)
    with pytest.raises(Conflict) as again:
        meetings.meeting_start(meeting=next_week, by=coordinator)
    assert again.value.code == "meeting_status_not_allowed"
    held = meetings.meeting_end(meeting=next_week, by=coordinator)
    assert held.status == "held"
    assert audit_actions(action="meeting.status") == ["meeting.status", "meeting.status"]


def test_participants_are_who_was_present_when_signed(make_case, board, coordinator, chair, specialists, nephrologist):
    meeting = f.MeetingFactory(board=board, starts_at=timezone.now() - timedelta(minutes=5), status="in_progress")
    for user in specialists.values():
        meetings.attendance_record(meeting=meeting, by=coordinator, user=user)
    decision = record(make_case("consensus"), coordinator, meeting, participants=[chair])
    # Marked present after the draft was saved: must be on the signed decision all the same.
    meetings.attendance_record(meeting=meeting, by=coordinator, user=nephrologist)
    meetings.attendance_record(meeting=meeting, by=coordinator, user=chair, present=False)
    decision = decisions.decision_sign(decision=decision, by=chair)
    present = {row["user"]: row["specialty"] for row in decision.attendance_snapshot}
    assert present == {
        **{user.pk: specialty for specialty, user in specialists.items()},
        nephrologist.pk: "nephrology",
    }
    assert set(decision.participants.values_list("pk", flat=True)) == set(present)
    assert m.AuditEvent.objects.get(action="decision.sign").changes["attendance"] == decision.attendance_snapshot


def test_the_api_and_the_portal_show_who_was_present_when_signed_and_a_correction_leaves_it(
    api, signed_in, make_case, coordinator, chair, quorate_meeting, specialists
):
    from django.utils.html import escape

    case = make_case("consensus")
    decision = decisions.decision_sign(decision=record(case, coordinator, quorate_meeting), by=chair)
    meetings.attendance_correct(
        meeting=quorate_meeting, by=coordinator, user=specialists["radiology"], present=False, reason="Left early."
    )
    expected = [
        {"user": user.pk, "name": user.get_full_name(), "specialty": specialty}
        for specialty, user in sorted(specialists.items())
    ]
    body = api(coordinator).get(f"/api/v1/decisions/{decision.pk}/").json()
    assert body["attendance_snapshot"] == expected
    page = " ".join(signed_in(coordinator).get(f"/cases/{case.pk}/").content.decode().split())
    shown = page[page.index("Present when signed") :]
    for specialty, user in specialists.items():
        assert f"<li>{escape(user.get_full_name())} — {m.Specialty(specialty).label}</li>" in shown


def test_attendance_is_frozen_once_a_decision_is_signed_and_a_correction_never_changes_it(
    make_case, coordinator, chair, quorate_meeting, radiologist
):
    decision = decisions.decision_sign(decision=record(make_case("consensus"), coordinator, quorate_meeting), by=chair)
    with pytest.raises(Conflict) as frozen:
        meetings.attendance_record(meeting=quorate_meeting, by=coordinator, user=radiologist, present=False)
    assert frozen.value.code == "attendance_frozen"
    assert quorate_meeting.attendance.get(user=radiologist).present is True
    with pytest.raises(ValidationError):
        meetings.attendance_correct(meeting=quorate_meeting, by=coordinator, user=radiologist, present=False, reason="")
    row = meetings.attendance_correct(
        meeting=quorate_meeting, by=coordinator, user=radiologist, present=False, reason="Left before the case."
    )
    assert (row.present, row.correction_reason) == (False, "Left before the case.")
    event = m.AuditEvent.objects.get(action="attendance.correct")
    assert event.changes["present"] == [True, False] and event.changes["reason"] == "Left before the case."
    decision.refresh_from_db()
    assert radiologist.pk in [r["user"] for r in decision.attendance_snapshot]
    assert radiologist in decision.participants.all()


def test_attendance_is_frozen_once_the_meeting_is_held(coordinator, quorate_meeting, radiologist):
    meetings.meeting_end(meeting=quorate_meeting, by=coordinator)
    with pytest.raises(Conflict) as frozen:
        meetings.attendance_record(meeting=quorate_meeting, by=coordinator, user=radiologist, present=False)
    assert frozen.value.code == "attendance_frozen"


def test_attendance_correction_through_the_api(api, coordinator, quorate_meeting, radiologist):
    office = api(coordinator)
    url = f"/api/v1/meetings/{quorate_meeting.pk}/attendance/correct/"
    assert office.post(url, {"user": radiologist.pk, "present": False, "reason": "x"}).json()["code"] == (
        "attendance_open"
    )
    meetings.meeting_end(meeting=quorate_meeting, by=coordinator)
    assert (
        office.post(f"/api/v1/meetings/{quorate_meeting.pk}/attendance/", {"user": radiologist.pk}).status_code == 409
    )
    done = office.post(url, {"user": radiologist.pk, "present": False, "reason": "Recorded by mistake."})
    assert done.status_code == 200 and done.json()["correction_reason"] == "Recorded by mistake."


def test_a_presenter_presents_for_a_specialty_of_the_board(board, coordinator, radiologist, case, next_week):
    case = f.CaseFactory(board=board)
    with pytest.raises(ValidationError) as refused:
        meetings.agenda_add(meeting=next_week, case=case, by=coordinator, presenter=coordinator)
    assert "presenter" in refused.value.message_dict
    assert meetings.agenda_add(meeting=next_week, case=case, by=coordinator, presenter=radiologist).presenter == (
        radiologist
    )


def test_cancelling_needs_a_reason_and_releases_the_agenda(board, coordinator, next_week):
    case = f.CaseFactory(board=board)
    meetings.agenda_add(meeting=next_week, case=case, by=coordinator)
    with pytest.raises(GatesUnmet) as refused:
        meetings.meeting_cancel(meeting=next_week, by=coordinator, reason=" ")
    assert refused.value.codes == ["reason_required"]
    meetings.meeting_cancel(meeting=next_week, by=coordinator, reason="Chair unavailable.")
    next_week.refresh_from_db()
    assert (next_week.status, next_week.cancel_reason) == ("cancelled", "Chair unavailable.")
    item = next_week.agenda_items.get()
    assert item.outcome == "deferred" and "Chair unavailable." in item.deferral_reason
    assert [i.case_id for i in selectors.awaiting_a_meeting(user=coordinator)] == [case.pk]
    with pytest.raises(Conflict):
        meetings.attendance_record(meeting=next_week, by=coordinator, user=coordinator)
    later = meetings.meeting_schedule(
        board=board, by=coordinator, starts_at=timezone.now() + timedelta(days=14), location="Room 2"
    )
    assert [i.case_id for i in later.agenda_items.all()] == [case.pk]
    assert not selectors.awaiting_a_meeting(user=coordinator).exists()


def test_cancelling_can_roll_the_agenda_to_the_next_meeting(board, coordinator, next_week):
    case = f.CaseFactory(board=board)
    meetings.agenda_add(meeting=next_week, case=case, by=coordinator)
    following = f.MeetingFactory(board=board, starts_at=next_week.starts_at + timedelta(days=7))
    meetings.meeting_cancel(meeting=next_week, by=coordinator, reason="Public holiday.", agenda="roll")
    assert [i.case_id for i in following.agenda_items.all()] == [case.pk]


def test_a_meeting_with_a_signed_decision_is_not_cancelled(make_case, coordinator, chair, quorate_meeting):
    decisions.decision_sign(decision=record(make_case("consensus"), coordinator, quorate_meeting), by=chair)
    with pytest.raises(GatesUnmet) as refused:
        meetings.meeting_cancel(meeting=quorate_meeting, by=coordinator, reason="Oops.")
    assert refused.value.codes == ["meeting_has_signed_decision"]


# What an amendment invalidates ---------------------------------------------------------------


@pytest.fixture
def closed_case(make_case, coordinator, chair, quorate_meeting, specialists):
    """The seed story after its first decision: signed on the first report, the case closed."""
    for user in specialists.values():
        user.email = f"{user.username}@example.org"
        user.save()
    case = make_case("consensus")
    case.referring_email = "referrer@example.org"
    case.save()
    decisions.decision_sign(decision=record(case, coordinator, quorate_meeting), by=chair)
    workflow.case_transition(case=case, to="closed", by=coordinator)
    mail.outbox.clear()
    return case


def test_an_amendment_after_a_signed_decision_invalidates_inputs_decision_and_follow_up(
    closed_case, coordinator, pathologist, specialists, django_capture_on_commit_callbacks
):
    case = closed_case
    decision = case.decisions.get()
    with django_capture_on_commit_callbacks(execute=True):
        amend(case.pathology_reports.get(), pathologist)
    case.refresh_from_db()
    assert case.stage == "revised_pathology"
    # Every input was written on the superseded report: none counts for the consensus gate.
    assert all(o.is_stale for o in case.opinions.all())
    with pytest.raises(GatesUnmet) as refused:
        workflow.case_transition(case=case, to="consensus", by=coordinator)
    assert sorted(refused.value.codes) == sorted(f"input_stale:{code}" for code in specialists)
    assert specialists["radiology"].get_full_name() in str(refused.value)
    # The decision is flagged, its planned follow-up suspended and not completable.
    decision.refresh_from_db()
    assert decision.needs_review
    follow_up = case.follow_ups.first()
    assert {fu.status for fu in case.follow_ups.all()} == {"suspended"}
    with pytest.raises(Conflict) as suspended:
        followups.follow_up_complete(follow_up=follow_up, by=coordinator)
    assert suspended.value.code == "follow_up_suspended"
    # The referrer and every stale author are told: a reference and a link, no clinical text.
    recipients = sorted(address for message in mail.outbox for address in message.to)
    assert recipients == sorted(["referrer@example.org", *(f"{u.username}@example.org" for u in specialists.values())])
    for message in mail.outbox:
        assert f"/cases/{case.pk}/" in message.body
        assert "calcinosis" not in message.body.lower() and case.patient.family_name not in message.body
    assert "pathology.basis_superseded" in audit_actions(case_id=case.pk)
    assert [c.pk for c in selectors.cases_needing_review(user=coordinator)] == [case.pk]
    # The referrer's message is recorded as what it is, not as a signed decision.
    told = m.Notification.objects.filter(case_id=case.pk, email="referrer@example.org").order_by("id")
    assert [(n.kind, n.subject) for n in told][-1] == (
        "pathology_amended",
        f"Tumor board case {case.pk}: pathology amended",
    )
    assert [n.kind for n in told][0] == "decision_signed"  # the signing, told before the amendment


def test_my_input_stands_or_a_revision_counts_again(closed_case, coordinator, pathologist, specialists):
    case = closed_case
    amended = amend(case.pathology_reports.get(), pathologist)
    radiology = case.opinions.get(specialty="radiology")
    with pytest.raises(Exception):  # noqa: B017 - only the author re-confirms (PermissionDenied)
        opinions.opinion_confirm(opinion=radiology, by=specialists["pathology"])
    confirmed = opinions.opinion_confirm(opinion=radiology, by=specialists["radiology"])
    assert (confirmed.is_stale, confirmed.basis) == (False, [amended.pk])
    assert confirmed.confirmed_at is not None
    assert m.AuditEvent.objects.filter(action="opinion.confirm", object_id=str(radiology.pk)).count() == 1
    with pytest.raises(Conflict) as twice:
        opinions.opinion_confirm(opinion=confirmed, by=specialists["radiology"])
    assert twice.value.code == "opinion_not_stale"
    revised = opinions.opinion_update(
        opinion=case.opinions.get(specialty="pathology"), by=specialists["pathology"], assessment="Calcinosis."
    )
    assert (revised.is_stale, revised.basis) == (False, [amended.pk])
    case = m.Case.objects.get(pk=case.pk)
    codes = [g.code for g in workflow.unmet_gates(case, "consensus")]
    assert codes == ["input_stale:orthopaedic_oncology", "input_stale:radiation_oncology"]


def test_the_next_signed_decision_closes_or_carries_over_the_suspended_follow_up(
    closed_case, coordinator, chair, pathologist, specialists, quorate_meeting
):
    case = closed_case
    old = case.decisions.get()
    amend(case.pathology_reports.get(), pathologist)
    for specialty, user in specialists.items():
        opinions.opinion_confirm(opinion=case.opinions.get(specialty=specialty), by=user)
    workflow.case_transition(case=case, to="consensus", by=coordinator)
    correction = decisions.decision_correct(
        decision=old, by=chair, reason="Pathology amended.", consensus_diagnosis="Calcinosis.", plan=PLAN
    )
    with pytest.raises(GatesUnmet) as refused:
        decisions.decision_sign(decision=correction, by=chair)
    assert refused.value.codes == ["suspended_follow_ups_choice"]
    suspended = list(case.follow_ups.values_list("pk", flat=True))
    signed = decisions.decision_sign(decision=correction, by=chair, suspended_follow_ups="carry")
    carried = m.FollowUp.objects.filter(pk__in=suspended)
    assert {(fu.status, fu.decision_id) for fu in carried} == {("planned", signed.pk)}
    assert signed.basis == [r.pk for r in workflow.current_pathology_reports(case)]
    assert not signed.needs_review


def test_a_surveillance_schedule_applied_after_signing_is_suspended_with_the_decision(
    closed_case, coordinator, pathologist
):
    """The visits a schedule template plans follow from the signed plan: an amendment puts them on hold too, and
    they cannot be ticked done while the board reviews its decision."""
    case = closed_case
    decision = case.decisions.get()
    template = m.FollowUpTemplate.objects.first()
    visits = followups.follow_up_apply_template(
        case=case, template=template, by=coordinator, start_on=timezone.localdate()
    )
    assert {visit.decision_id for visit in visits} == {decision.pk}
    amend(case.pathology_reports.get(), pathologist)
    assert set(m.FollowUp.objects.filter(template=template).values_list("status", flat=True)) == {"suspended"}
    with pytest.raises(Conflict):
        followups.follow_up_complete(follow_up=m.FollowUp.objects.filter(template=template).first(), by=coordinator)
    # Applying the schedule again does not plan fresh visits around the suspension.
    with pytest.raises(Conflict) as again:
        followups.follow_up_apply_template(case=case, template=template, by=coordinator, start_on=timezone.localdate())
    assert again.value.code == "template_applied"
    assert m.FollowUp.objects.filter(template=template, status="planned").count() == 0


def test_no_schedule_is_planned_on_a_decision_under_review(closed_case, coordinator, pathologist):
    case = closed_case
    amend(case.pathology_reports.get(), pathologist)
    template = m.FollowUpTemplate.objects.first()
    with pytest.raises(Conflict) as refused:
        followups.follow_up_apply_template(case=case, template=template, by=coordinator, start_on=timezone.localdate())
    assert refused.value.code == "decision_under_review"
    assert not m.FollowUp.objects.filter(template=template).exists()


def test_closing_the_suspended_follow_up_as_superseded(closed_case, coordinator, chair, pathologist, specialists):
    case = closed_case
    amend(case.pathology_reports.get(), pathologist)
    for specialty, user in specialists.items():
        opinions.opinion_confirm(opinion=case.opinions.get(specialty=specialty), by=user)
    workflow.case_transition(case=case, to="consensus", by=coordinator)
    correction = decisions.decision_correct(
        decision=case.decisions.get(), by=chair, reason="Amended.", consensus_diagnosis="Calcinosis.", plan=PLAN
    )
    decisions.decision_sign(decision=correction, by=chair, suspended_follow_ups="close")
    old = case.decisions.get(pk=correction.supersedes_id)
    assert {fu.status for fu in old.follow_ups.all()} == {"superseded"}


def test_inputs_and_decisions_record_their_basis(make_case, coordinator, chair, quorate_meeting, board):
    case = make_case("consensus")
    report = case.pathology_reports.get()
    nurse = f.MembershipFactory(board=board, role=m.Role.MEMBER, specialty="nursing").user
    opinion = opinions.opinion_record(case=case, by=nurse, assessment="Wound care.")
    assert opinion.basis == [report.pk]
    decision = record(case, coordinator, quorate_meeting)
    assert decision.basis == [report.pk]


def test_what_changed_covers_the_whole_chain_field_by_field(make_case, pathologist):
    case = make_case("consensus")
    first = case.pathology_reports.get()
    m.PathologyReport.objects.filter(pk=first.pk).update(
        diagnosis="High-grade osteosarcoma.", specimen="Left distal femur, biopsy"
    )
    first.refresh_from_db()
    second = amend(first, pathologist, diagnosis="Tumoral calcinosis.")
    third = amend(
        second,
        pathologist,
        diagnosis="Tumoral calcinosis.",
        specimen="Right distal femur, biopsy",
        discrepancy="minor",
        amendment_reason="Laterality corrected.",
    )
    case = selectors.case_detail(user=pathologist, pk=case.pk)
    (chain,) = selectors.pathology_changes(case)
    assert [r.pk for r in chain["reports"]] == [first.pk, second.pk, third.pk]
    overall = {c["field"]: (c["before"], c["after"]) for c in chain["overall"]}
    assert overall == {
        "diagnosis": ("High-grade osteosarcoma.", "Tumoral calcinosis."),
        "specimen": ("Left distal femur, biopsy", "Right distal femur, biopsy"),
    }
    assert [[c["field"] for c in step["fields"]] for step in chain["steps"]] == [["diagnosis"], ["specimen"]]
    assert chain["steps"][1]["report"].amendment_reason == "Laterality corrected."


@pytest.fixture
def coded_case(make_case):
    """A final report coded left, osteosarcoma, on the site's (synthetic) morphology list."""
    for code, display in (("9180/3", "Osteosarcoma, not otherwise specified"), ("9186/3", "Central osteosarcoma")):
        m.CodeConcept.objects.create(list_name="icd-o-3-morphology", code=code, display=display)
    case = make_case("consensus")
    m.PathologyReport.objects.filter(case=case).update(
        laterality="left", morphology="9180/3", morphology_display="Osteosarcoma, not otherwise specified"
    )
    return case


def what_changed(html: str) -> str:
    start = html.index('id="what-changed"')
    return " ".join(html[start : html.index("</section>", start)].split())


@pytest.mark.parametrize(
    ("change", "label", "before", "after"),
    [
        ({"laterality": "right"}, "Laterality", "Left", "Right"),
        (
            {"morphology": "9186/3"},
            "ICD-O-3 morphology",
            "9180/3 Osteosarcoma, not otherwise specified",
            "9186/3 Central osteosarcoma",
        ),
    ],
)
def test_an_amendment_of_one_coded_field_shows_in_what_changed_on_screen_and_page_one(
    coded_case, pathologist, coordinator, signed_in, change, label, before, after
):
    from cases.printing.documents import render_case_summary
    from tests.conftest import pdf_pages_text

    amend(
        coded_case.pathology_reports.get(),
        pathologist,
        diagnosis=coded_case.pathology_reports.get().diagnosis,
        **change,
    )
    page = what_changed(signed_in(coordinator).get(f"/cases/{coded_case.pk}/").content.decode())
    assert f'<th scope="row">{label}</th><td><del>{before}</del></td><td><strong>{after}</strong></td>' in page
    assert f"Changed: {label}</div>" in page
    first = " ".join(pdf_pages_text(render_case_summary(user=coordinator, case_id=coded_case.pk).content)[0].split())
    block = first[first.index("WHAT CHANGED") : first.index("Clinical question")]
    # The table's cells wrap, so each value is found word by word within the block.
    for value in (label, before, after):
        assert all(word in block for word in value.split()), value
    assert f"changed: {label} Reason" in block


def test_a_morphology_code_typed_as_free_text_beside_another_coded_one_is_refused_not_dropped(coded_case, pathologist):
    report = coded_case.pathology_reports.get()
    with pytest.raises(ValidationError) as refused:
        amend(report, pathologist, icdo3_code="9186/3", morphology="9180/3")
    assert "9186/3" in refused.value.message_dict["icdo3_code"][0]
    assert coded_case.pathology_reports.count() == 1
    # The same code in both fields is one code, kept once.
    same = amend(report, pathologist, icdo3_code="9180/3", morphology="9180/3")
    assert (same.morphology, same.icdo3_code) == ("9180/3", "")
