"""The world every payload meets: a board, its people, and a case at every stage.

`world` is a fixture (tests/hostile/conftest.py offers it to this package; tests/test_audit_coverage.py
imports it from here). Each hostile request runs in a savepoint that is rolled back, so every payload
meets this same world.
"""

from dataclasses import dataclass
from datetime import timedelta

import pyotp
import pytest
from django.contrib.sessions.models import Session
from django.utils import timezone

from cases import models as m
from cases.identity.session import PENDING_SECRET_SESSION_KEY
from cases.services import teaching as teaching_services
from tests import factories as f

PASSWORD = "correct-horse-battery"  # every persona's (tests/factories.py)


@dataclass
class World:
    board: m.Board
    users: dict
    patient: m.Patient
    intake: m.Case  # complete referral, no input yet: moves, referral edits, first input, agenda candidate
    imaging: m.Case
    study: m.ImagingStudy
    pathology: m.Case
    final_report: m.PathologyReport
    prelim_report: m.PathologyReport
    opinion: m.Opinion  # the radiologist's, on `pathology`, given on pathology amended since (stale)
    consensus: m.Case
    meeting: m.Meeting  # quorate, in progress, agenda not published
    items: list  # its agenda items
    draft: m.Decision  # on `consensus`, at `meeting`
    signed_case: m.Case
    signed: m.Decision  # signed at `held`
    held: m.Meeting  # held yesterday: its attendance is frozen (corrections only)
    follow_up: m.FollowUp  # planned, owned by the chair
    template: m.FollowUpTemplate
    teaching: m.TeachingSet | None = None  # a draft prepared by the radiologist, of `imaging`
    key_image: m.KeyImage | None = None  # on `imaging`'s study
    upcoming: m.Meeting | None = None  # scheduled next week, its agenda empty: it can still be moved

    def user(self, role):
        return self.users[role]


def identity_personas() -> dict:
    """Who the identity forms need: a clinician of another board (break-the-glass), an account with an
    enrolled authenticator (the second-factor page), and one enrolling."""
    emergency = f.MembershipFactory(
        user=f.UserFactory(username="emergency"), board=f.BoardFactory(name="Emergency board"), specialty="radiology"
    ).user
    enrolled = f.UserFactory(username="enrolled")
    m.AccountSecurity.objects.create(
        user=enrolled, totp_secret=pyotp.random_base32(32), totp_confirmed_at=timezone.now(), totp_last_step=0
    )
    return {"emergency": emergency, "enrolled": enrolled, "newcomer": f.UserFactory(username="newcomer")}


def totp_now(w) -> str:
    return pyotp.TOTP(m.AccountSecurity.objects.get(user=w.user("enrolled")).totp_secret).now()


def pending_totp_now(w) -> str:
    """The code for the key the enrolment page showed the newcomer (kept in their session)."""
    for session in Session.objects.all():
        data = session.get_decoded()
        if data.get("_auth_user_id") == str(w.user("newcomer").pk) and PENDING_SECRET_SESSION_KEY in data:
            return pyotp.TOTP(data[PENDING_SECRET_SESSION_KEY]).now()
    raise AssertionError("the enrolment page kept no key")


def break_glass_access(w) -> m.BreakGlassAccess:
    now = timezone.now()
    return m.BreakGlassAccess.objects.get_or_create(
        user=w.user("emergency"),
        patient=w.patient,
        defaults={"reason": "Emergency department.", "granted_at": now, "expires_at": now + timedelta(hours=1)},
    )[0]


@pytest.fixture
def world(board, coordinator, chair, specialists, make_case, quorate_meeting) -> World:
    users = {"coordinator": coordinator, "chair": chair, **{u.username: u for u in specialists.values()}}
    users |= identity_personas()
    intake = f.CaseFactory(board=board, created_by=coordinator)
    imaging = make_case("imaging")
    pathology = make_case("pathology")
    prelim = f.PathologyReportFactory(case=pathology, status="preliminary", signed_out_at=None, pathologist=chair)
    consensus = make_case("consensus")
    signed_case = make_case("consensus")
    now = timezone.now()
    held = f.MeetingFactory(board=board, starts_at=now - timedelta(days=1), status="held")
    for user in specialists.values():
        f.AttendanceFactory(meeting=held, user=user, specialty=m.BoardMembership.objects.get(user=user).specialty)
    signed = f.DecisionFactory(
        case=signed_case, meeting=held, recorded_by=chair, status="signed", signed_by=chair, signed_at=now
    )
    m.Opinion.objects.filter(case=pathology, author=users["radiologist"]).update(stale_since=now)
    items = [
        m.AgendaItem.objects.create(meeting=quorate_meeting, case=case, position=n)
        for n, case in enumerate([consensus, pathology], start=1)
    ]
    m.BoardMembership.objects.filter(user=chair, board=board).update(reviews_teaching=True)
    study = imaging.imaging_studies.get()
    key_image = m.KeyImage.objects.create(study=study, image=f.png_upload(), caption="Axial")
    teaching = teaching_services.teaching_set_create(by=users["radiologist"], cases=[imaging])
    upcoming = f.MeetingFactory(board=board, starts_at=now + timedelta(days=7), status="scheduled")
    return World(
        upcoming=upcoming,
        teaching=teaching,
        key_image=key_image,
        board=board,
        users=users,
        patient=intake.patient,
        intake=intake,
        imaging=imaging,
        study=imaging.imaging_studies.get(),
        pathology=pathology,
        final_report=pathology.pathology_reports.get(status="final"),
        prelim_report=prelim,
        opinion=pathology.opinions.get(author=users["radiologist"]),
        consensus=consensus,
        meeting=quorate_meeting,
        items=items,
        draft=f.DecisionFactory(case=consensus, meeting=quorate_meeting, recorded_by=chair),
        signed_case=signed_case,
        signed=signed,
        held=held,
        follow_up=m.FollowUp.objects.create(
            case=signed_case,
            decision=signed,
            kind="action",
            category="surveillance",
            description="Review at clinic",
            owner=chair,
            due_on=timezone.localdate() + timedelta(days=28),
        ),
        template=m.FollowUpTemplate.objects.first(),
    )
