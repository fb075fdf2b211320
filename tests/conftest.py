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
    settings.SECURE_SSL_REDIRECT = False


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
        message = "needs PostgreSQL: SQLite has no row locks, concurrent writers, triggers or killable connections"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI must run this test: {message}. Set DATABASE_URL to a PostgreSQL database.")
        pytest.skip(message)


def audit_actions(**filters):
    return list(m.AuditEvent.objects.filter(**filters).order_by("sequence").values_list("action", flat=True))


# Printing (tests/test_printing_*.py) --------------------------------------------------------

import subprocess  # noqa: E402


@pytest.fixture(autouse=True)
def _print_settings(settings, tmp_path):
    # Each test starts with an empty PDF cache; sections render in the test's own process.
    settings.PRINT_CACHE_DIR = tmp_path / "print-cache"
    settings.PRINT_WORKERS = 1
    # A print that needs a background job runs it at once, in the test's process (tests/test_jobs.py and
    # tests/test_print_jobs.py run real workers instead).
    settings.JOBS_INLINE = True


def pdf_pages_text(content: bytes) -> list[str]:
    """The text of each page, as poppler's pdftotext reads it."""
    result = subprocess.run(
        ["pdftotext", "-layout", "-enc", "UTF-8", "-", "-"], input=content, capture_output=True, check=True
    )
    pages = result.stdout.decode().split("\f")
    return pages[:-1] if pages and not pages[-1].strip() else pages


def pdf_fonts(content: bytes) -> list[str]:
    """Lines of poppler's pdffonts: name, type, encoding, embedded, subset, unicode."""
    result = subprocess.run(["pdffonts", "-"], input=content, capture_output=True, check=False)
    if result.returncode:
        # Older poppler cannot read standard input: go through a file.
        import tempfile

        with tempfile.NamedTemporaryFile(suffix=".pdf") as handle:
            handle.write(content)
            handle.flush()
            result = subprocess.run(["pdffonts", handle.name], capture_output=True, check=True)
    return result.stdout.decode().splitlines()[2:]


def pdf_missing_glyphs(content: bytes) -> list[str]:
    """Characters drawn with no glyph ("tofu"): poppler still extracts them, so look in the fonts.

    WeasyPrint embeds each font as CID TrueType whose codes are the font's glyph ids and whose
    ToUnicode map says which character each code draws. A code past the embedded font's glyphs,
    or a glyph without an outline, is a character no installed font could draw.
    """
    import io
    import re

    import pikepdf
    from fontTools.ttLib import TTFont

    missing = []
    with pikepdf.open(io.BytesIO(content)) as pdf:
        for page in pdf.pages:
            for font in page.Resources.get("/Font", {}).values():
                descendant = font.DescendantFonts[0]
                program = TTFont(io.BytesIO(descendant.FontDescriptor.FontFile2.read_bytes()))
                order, glyf = program.getGlyphOrder(), program["glyf"]
                cmap = font.ToUnicode.read_bytes().decode("latin-1")
                for code, text in re.findall(r"<([0-9a-fA-F]{4})>\s*<([0-9a-fA-F]+)>", cmap):
                    char = bytes.fromhex(text).decode("utf-16-be")
                    gid = int(code, 16)
                    drawn = gid < len(order) and glyf[order[gid]].numberOfContours != 0
                    if not drawn and not char.isspace() and char != "\uffff":  # U+FFFF: WeasyPrint's .notdef entry
                        missing.append(char)
    return sorted(set(missing))


# Web portal (tests/test_web_*.py) ------------------------------------------------------------


@pytest.fixture
def signed_in(client):
    """signed_in(user) -> the test client with that user's session."""

    def sign_in(user):
        client.force_login(user)
        return client

    return sign_in


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
