"""Test data built straight into the database; the behaviour under test goes through the services."""

import io
from datetime import date, timedelta

import factory
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image

from cases import models as m


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    password = factory.django.Password("correct-horse-battery")


class BoardFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.Board

    name = factory.Sequence(lambda n: f"Board {n}")
    tumour_site = "Bone and soft tissue"
    required_specialties = factory.LazyFunction(
        lambda: ["radiology", "pathology", "orthopaedic_oncology", "radiation_oncology"]
    )
    quorum_specialties = factory.LazyFunction(
        lambda: ["radiology", "pathology", "orthopaedic_oncology", "radiation_oncology"]
    )


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.BoardMembership

    user = factory.SubFactory(UserFactory)
    board = factory.SubFactory(BoardFactory)
    role = m.Role.MEMBER
    specialty = "radiology"


class PatientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.Patient

    mrn = factory.Sequence(lambda n: f"TEST-{n:06d}")
    given_name = factory.Faker("first_name")
    family_name = factory.Faker("last_name")
    birth_date = date(1990, 5, 17)
    sex = "female"
    registered_board = factory.SubFactory(BoardFactory)
    created_by = factory.SubFactory(UserFactory)


class CaseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.Case

    board = factory.SubFactory(BoardFactory)
    patient = factory.SubFactory(PatientFactory, registered_board=factory.SelfAttribute("..board"))
    referring_clinician = "Dr. Test Referrer"
    clinical_question = "Relapse or benign calcification?"
    history = "Treated osteosarcoma of the distal femur."
    key_labs = "Calcium high."
    created_by = factory.SubFactory(UserFactory)


class ImagingStudyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.ImagingStudy

    case = factory.SubFactory(CaseFactory)
    modality = "XR"
    body_site = "Left femur"
    performed_on = factory.LazyFunction(lambda: timezone.localdate() - timedelta(days=3))
    findings = "Lobulated soft-tissue calcification."
    impression = "Relapse or tumoral calcinosis."
    radiologist = factory.SubFactory(UserFactory)


class PathologyReportFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.PathologyReport

    case = factory.SubFactory(CaseFactory)
    specimen = "Soft-tissue mass"
    procedure = "Excision biopsy"
    collected_on = factory.LazyFunction(lambda: timezone.localdate() - timedelta(days=2))
    diagnosis = "Residual osteosarcoma."
    status = m.ReportStatus.FINAL
    signed_out_at = factory.LazyFunction(timezone.now)
    pathologist = factory.SubFactory(UserFactory)


class OpinionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.Opinion

    case = factory.SubFactory(CaseFactory)
    specialty = "radiology"
    author = factory.SubFactory(UserFactory)
    assessment = "Assessment text."


class MeetingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.Meeting

    board = factory.SubFactory(BoardFactory)
    starts_at = factory.LazyFunction(lambda: timezone.now() + timedelta(days=3))
    location = "Room 1"
    created_by = factory.SubFactory(UserFactory)


class AttendanceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.Attendance

    meeting = factory.SubFactory(MeetingFactory)
    user = factory.SubFactory(UserFactory)
    specialty = "radiology"
    present = True


class DecisionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.Decision

    case = factory.SubFactory(CaseFactory)
    consensus_diagnosis = "Tumoral calcinosis."
    plan = factory.LazyFunction(lambda: [{"category": "surveillance", "detail": "Schedule."}])
    recorded_by = factory.SubFactory(UserFactory)


def png_upload(name: str = "key.png", size: tuple[int, int] = (40, 30)) -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", size, (120, 120, 120)).save(buffer, format="PNG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/png")


def on_agenda(meeting, case):
    """Puts the case on the meeting's agenda (last), as the coordinator does before the board discusses it: a
    decision is signed only at a meeting that had the case before it."""
    from cases import models as m

    if meeting is None:
        return None
    position = m.AgendaItem.objects.filter(meeting=meeting).count() + 1
    return m.AgendaItem.objects.get_or_create(meeting=meeting, case=case, defaults={"position": position})[0]
