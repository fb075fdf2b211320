"""Personas and case builders shared by the suite.

The personas sit on one board (the "Sarcoma board" of PRODUCT.md); `outsider` belongs to
another board only and must see nothing of this one.
"""

import os

import pytest
from django.db import connection
from django.utils import timezone

from cases import models as m
from tests import factories as f


@pytest.fixture(autouse=True)
def _test_settings(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    # Test users log in many times; a slow hasher would only slow the suite; settings.py keeps the production hasher.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def board(db):
    return f.BoardFactory(name="Sarcoma board")


@pytest.fixture
def other_board(db):
    return f.BoardFactory(name="Breast board", required_specialties=["radiology"], quorum_specialties=["radiology"])


def _member(board, username, role, specialty=""):
    return f.MembershipFactory(user=f.UserFactory(username=username), board=board, role=role, specialty=specialty).user


@pytest.fixture
def coordinator(board):
    return _member(board, "coordinator", m.Role.COORDINATOR)


@pytest.fixture
def chair(board):
    return _member(board, "chair", m.Role.CHAIR, "medical_oncology")


@pytest.fixture
def radiologist(board):
    return _member(board, "radiologist", m.Role.MEMBER, "radiology")


@pytest.fixture
def pathologist(board):
    return _member(board, "pathologist", m.Role.MEMBER, "pathology")


@pytest.fixture
def orthopaedic(board):
    return _member(board, "orthopaedic", m.Role.MEMBER, "orthopaedic_oncology")


@pytest.fixture
def radonc(board):
    return _member(board, "radonc", m.Role.MEMBER, "radiation_oncology")


@pytest.fixture
def outsider(other_board):
    return _member(other_board, "outsider", m.Role.CHAIR, "radiology")


@pytest.fixture
def specialists(radiologist, pathologist, orthopaedic, radonc):
    return {
        "radiology": radiologist,
        "pathology": pathologist,
        "orthopaedic_oncology": orthopaedic,
        "radiation_oncology": radonc,
    }


@pytest.fixture
def case(board, coordinator):
    return f.CaseFactory(board=board, created_by=coordinator)


def build_case(board, *, stage, specialists=None, report_status=m.ReportStatus.FINAL):
    """A case in `stage` whose data satisfies the gates of every move out of that stage (but closing)."""
    case = f.CaseFactory(board=board, stage=stage)
    order = list(m.Stage.values)
    if order.index(stage) >= order.index("imaging"):
        f.ImagingStudyFactory(case=case)
    if order.index(stage) >= order.index("pathology"):
        f.PathologyReportFactory(
            case=case, status=report_status, signed_out_at=None if report_status == "preliminary" else timezone.now()
        )
    if order.index(stage) >= order.index("pathology") and specialists:
        for specialty, user in specialists.items():
            f.OpinionFactory(case=case, specialty=specialty, author=user)
    return case


@pytest.fixture
def make_case(board, specialists):
    def make(stage, **kwargs):
        return build_case(board, stage=stage, specialists=specialists, **kwargs)

    return make


@pytest.fixture
def quorate_meeting(board, coordinator, specialists):
    meeting = f.MeetingFactory(board=board, created_by=coordinator)
    for specialty, user in specialists.items():
        f.AttendanceFactory(meeting=meeting, user=user, specialty=specialty)
    return meeting


@pytest.fixture
def postgres_only():
    """Skip on SQLite, with the reason; in CI (CI=true) the skip is a failure, so nothing goes untested."""
    if connection.vendor != "postgresql":
        message = "needs PostgreSQL: SQLite has no row locks (SELECT … FOR UPDATE) or concurrent writers"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI must run this test: {message}. Set DATABASE_URL to a PostgreSQL database.")
        pytest.skip(message)


def audit_actions(**filters):
    return list(m.AuditEvent.objects.filter(**filters).order_by("sequence").values_list("action", flat=True))


# API (cases/api/) --------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _api_fresh_throttles():
    """Throttle counters live in the cache: every test starts with none, so throttling is deterministic."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def api():
    """api(user) → a DRF test client signed in as `user` through a session; api() → anonymous."""
    from rest_framework.test import APIClient

    def client_for(user=None):
        client = APIClient()
        if user is not None:
            client.force_login(user)
        return client

    return client_for
