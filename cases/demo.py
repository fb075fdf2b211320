"""Demo data: boards, users by role, the seed case and six more synthetic cases.

Everything is invented and written in this project's own words; the seed case retells a
published case report (tumoral calcinosis mimicking recurrent osteosarcoma). It is built through
the services, so the timeline, versions and audit trail are exactly what real use produces.

`DemoBuilder` holds the people, the boards and the small steps every story shares; each demo case is
one function below it, and `DemoBuilder.build` tells them in order (the order fixes the record numbers).
"""

import io
from datetime import date, timedelta

from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.utils import timezone
from PIL import Image, ImageDraw, ImageFont

from .demo_coding import code_seed_case
from .models import (
    Board,
    BoardMembership,
    Case,
    Discrepancy,
    FollowUpTemplate,
    Meeting,
    MeetingStatus,
    Outcome,
    PathologyReport,
    Patient,
)
from .models import Role as R
from .models import Specialty as S
from .services import cases, decisions, imaging, meetings, opinions, pathology, workflow
from .services.followups import follow_up_apply_template

DEMO_PASSWORD = "tumorboard-demo"
SEED_MRN = "DEMO-100001"

USERS = {
    # username: (first name, last name)
    "coordinator": ("Nadia", "Fern"),
    "chair": ("Aurelio", "Brandt"),
    "radiologist": ("Ingrid", "Solberg"),
    "pathologist": ("Kwame", "Asante"),
    "orthopaedic": ("Lucia", "Marchetti"),
    "radonc": ("Piotr", "Zielinski"),
    "nephrologist": ("Hana", "Mori"),
    "medonc": ("Selim", "Arslan"),
    "outsider": ("Orla", "Quinn"),
}

BOARDS = {
    "Sarcoma board": {
        "tumour_site": "Bone and soft-tissue sarcoma",
        "required": [S.RADIOLOGY, S.PATHOLOGY, S.ORTHOPAEDIC_ONCOLOGY, S.RADIATION_ONCOLOGY],
        "quorum": [S.RADIOLOGY, S.PATHOLOGY, S.ORTHOPAEDIC_ONCOLOGY, S.RADIATION_ONCOLOGY],
        "members": [
            ("coordinator", R.COORDINATOR, ""),
            ("chair", R.CHAIR, S.MEDICAL_ONCOLOGY),
            ("radiologist", R.MEMBER, S.RADIOLOGY),
            ("pathologist", R.MEMBER, S.PATHOLOGY),
            ("orthopaedic", R.MEMBER, S.ORTHOPAEDIC_ONCOLOGY),
            ("radonc", R.MEMBER, S.RADIATION_ONCOLOGY),
            ("nephrologist", R.MEMBER, S.NEPHROLOGY),
        ],
    },
    "Breast board": {
        "tumour_site": "Breast",
        "required": [S.RADIOLOGY, S.PATHOLOGY, S.SURGICAL_ONCOLOGY, S.MEDICAL_ONCOLOGY],
        "quorum": [S.RADIOLOGY, S.PATHOLOGY, S.SURGICAL_ONCOLOGY],
        "members": [
            ("outsider", R.CHAIR, S.SURGICAL_ONCOLOGY),
            ("medonc", R.MEMBER, S.MEDICAL_ONCOLOGY),
            ("radiologist", R.MEMBER, S.RADIOLOGY),
            ("pathologist", R.MEMBER, S.PATHOLOGY),
            ("coordinator", R.COORDINATOR, ""),
        ],
    },
}


def illustration(title: str, caption: str, *, seed: int = 0) -> SimpleUploadedFile:
    """A small generated picture, plainly labelled: never a real radiograph."""
    image = Image.new("L", (640, 480), 24)
    draw = ImageDraw.Draw(image)
    draw.rectangle([300, 20, 340, 460], fill=200)  # the nail
    for i in range(3):
        x, y = 120 + 60 * i + seed * 17, 140 + 70 * ((i + seed) % 3)
        draw.ellipse([x, y, x + 70, y + 55], fill=150 + 20 * i)  # lobulated calcification
    font = ImageFont.load_default(size=22)
    draw.rectangle([0, 0, 640, 34], fill=0)
    draw.text((10, 6), "ILLUSTRATION - not a patient image", fill=255, font=font)
    draw.text((10, 444), title, fill=255, font=font)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return SimpleUploadedFile(f"{title}.png", buffer.getvalue(), content_type="image/png")


def grant_teaching_review(boards) -> None:
    """Each board's chair approves its teaching sets (the preparer never approves their own)."""
    BoardMembership.objects.filter(board__in=list(boards), role=R.CHAIR).update(reviews_teaching=True)


def years_ago(years: int, *, days: int = 0) -> date:
    today = timezone.localdate()
    try:
        then = today.replace(year=today.year - years)
    except ValueError:  # 29 February, in a year without one
        then = today.replace(year=today.year - years, day=28)
    return then - timedelta(days=days)


class DemoBuilder:
    """The demo's people and boards, and the steps its stories share (each through a service, as a user)."""

    def __init__(self, stdout=None):
        self.stdout = stdout
        self.users = {}
        self.boards = {}
        self.now = timezone.now()

    def log(self, message: str) -> None:
        if self.stdout is not None:
            self.stdout.write(message)

    @transaction.atomic
    def build(self) -> bool:
        if Patient.objects.filter(mrn=SEED_MRN).exists():
            return False
        self.make_users_and_boards()
        grant_teaching_review(self.boards.values())
        seed_case(self)
        thigh_mass_at_intake(self)
        sarcoma_agenda = [calf_mass_at_imaging(self), ewing_fibula_at_consensus(self)]
        next_sarcoma_meeting(self, sarcoma_agenda)
        breast_agenda = [breast_mass_at_pathology(self), her2_revised_at_revised_pathology(self)]
        dcis_closed_after_past_meeting(self)
        next_breast_meeting(self, breast_agenda)
        code_seed_case(mrn=SEED_MRN, by=self.u("coordinator"), diagnosed_on=years_ago(12, days=40))
        return True

    # People and boards -------------------------------------------------------------------

    def make_users_and_boards(self) -> None:
        for username, (first, last) in USERS.items():
            self.users[username] = demo_user(username, first, last)
        for name, spec in BOARDS.items():
            self.boards[name] = demo_board(name, spec, self.users)
        for user in self.users.values():
            user.__dict__.pop("_tb_memberships", None)

    def u(self, name: str):
        return self.users[name]

    # Steps the stories share ----------------------------------------------------------------

    def at(self, *, days: int, hour: int):
        return (self.now + timedelta(days=days)).replace(hour=hour, minute=0, second=0, microsecond=0)

    def patient(self, board: str, mrn: str, given: str, family: str, age: int, sex: str, comorbidities: str = ""):
        return cases.patient_create(
            board=self.boards[board],
            by=self.u("coordinator"),
            mrn=mrn,
            given_name=given,
            family_name=family,
            birth_date=years_ago(age, days=int(mrn[-2:]) * 7),
            sex=sex,
            comorbidities=comorbidities,
        )

    def referral(self, patient: Patient, **fields) -> Case:
        """A case for the board that registered the patient."""
        board = patient.registered_board
        return cases.case_create(patient=patient, board=board, by=self.u("coordinator"), **fields)

    def move(self, case, *stages: str, by: str = "coordinator", note: str = ""):
        for stage in stages:
            case = workflow.case_transition(case=case, to=stage, by=self.u(by), note=note)
        return case

    def add_imaging(self, case, *, days_ago: int, **fields):
        performed_on = timezone.localdate() - timedelta(days=days_ago)
        return imaging.imaging_study_add(case=case, by=self.u("radiologist"), performed_on=performed_on, **fields)

    def add_report(self, case, *, days_ago: int, status: str = "final", **fields) -> PathologyReport:
        collected_on = timezone.localdate() - timedelta(days=days_ago)
        return pathology.pathology_report_add(
            case=case, by=self.u("pathologist"), status=status, collected_on=collected_on, **fields
        )

    def amend(self, report: PathologyReport, **fields) -> PathologyReport:
        return pathology.pathology_report_amend(report=report, by=self.u("pathologist"), **fields)

    def add_inputs(self, case, inputs: dict[str, str | tuple[str, str]]) -> None:
        """Each member's input: an assessment, or an (assessment, recommendation) pair."""
        for username, text in inputs.items():
            assessment, recommendation = (text, "") if isinstance(text, str) else text
            opinions.opinion_record(
                case=case, by=self.u(username), assessment=assessment, recommendation=recommendation
            )

    def schedule(self, board: Board, *, days: int, hour: int = 16, **place) -> Meeting:
        place = place or {"location": "Conference room 4B, oncology centre"}
        return meetings.meeting_schedule(
            board=board, by=self.u("coordinator"), starts_at=self.at(days=days, hour=hour), back_entry=days < 0, **place
        )

    def list_cases(self, meeting: Meeting, cases_: list, **item) -> None:
        for case in cases_:
            meetings.agenda_add(meeting=meeting, case=case, by=self.u("coordinator"), **item)

    def held_meeting(self, board: Board, days_ago: int, attendees: list[str], cases_: list, **place) -> Meeting:
        """A past meeting, its agenda published and its attendance taken; `finish_meeting` closes it."""
        coordinator = self.u("coordinator")
        meeting = self.schedule(board, days=-days_ago, **place)
        self.list_cases(meeting, cases_, minutes=15)
        meetings.agenda_publish(meeting=meeting, by=coordinator)
        meetings.meeting_set_status(meeting=meeting, by=coordinator, status=MeetingStatus.IN_PROGRESS)
        for username in attendees:
            meetings.attendance_record(meeting=meeting, by=coordinator, user=self.u(username))
        return meeting

    def finish_meeting(self, meeting: Meeting) -> None:
        coordinator = self.u("coordinator")
        for item in meeting.agenda_items.all():
            meetings.agenda_item_record_outcome(item=item, by=coordinator, outcome=Outcome.DISCUSSED)
        meetings.meeting_set_status(meeting=meeting, by=coordinator, status=MeetingStatus.HELD)

    def sign_decision(self, case, *, meeting: Meeting, recorded_by: str, chair: str, participants, **fields) -> None:
        decision = decisions.decision_record(
            case=case,
            by=self.u(recorded_by),
            meeting=meeting,
            participants=[self.u(n) for n in participants],
            **fields,
        )
        decisions.decision_sign(decision=decision, by=self.u(chair))


def demo_user(username: str, first: str, last: str):
    user, created = get_user_model().objects.get_or_create(
        username=username, defaults={"first_name": first, "last_name": last, "email": f"{username}@example.org"}
    )
    if created:
        user.set_password(DEMO_PASSWORD)
        user.save()
    return user


def demo_board(name: str, spec: dict, users: dict) -> Board:
    board, _ = Board.objects.get_or_create(
        name=name,
        defaults={
            "tumour_site": spec["tumour_site"],
            "required_specialties": list(spec["required"]),
            "quorum_specialties": list(spec["quorum"]),
        },
    )
    for username, role, specialty in spec["members"]:
        BoardMembership.objects.get_or_create(
            user=users[username], board=board, defaults={"role": role, "specialty": specialty}
        )
    return board


# The seed case ------------------------------------------------------------------------------

# The specialties at the review of the first pathology; all of them sign up to the consensus.
SEED_PANEL = ["chair", "radiologist", "pathologist", "orthopaedic", "radonc", "nephrologist"]

SEED_STUDIES = [
    # (body site, findings, impression, key image caption)
    (
        "Left knee, lateral view",
        "An intramedullary nail runs from the femur into the tibia across the fused knee. "
        "The central allograft segment still shows a gap: it has not united.",
        "Long-standing allograft non-union. No new abnormality on this view.",
        "Lateral knee: nail bridging femur and tibia; allograft gap at the centre",
    ),
    (
        "Left femur, proximal, AP view",
        "The femoral shaft is replaced by allograft held by the nail and a proximal locking screw, which has "
        "a lucent halo. Rounded, lobulated, cloud-like calcifications lie in the soft tissue lateral to the "
        "shaft.",
        "Loosening of the proximal locking screw. New lobulated soft-tissue calcification: relapse is the "
        "concern; in a patient on dialysis, tumoral calcinosis is the main alternative.",
        "Proximal femur: lobulated calcification lateral to the allograft",
    ),
    (
        "Left tibia and fibula, distal, AP view",
        "Both distal locking screws have backed out by several millimetres. Lobulated amorphous calcific "
        "masses sit in the soft tissue medial to the screws.",
        "Distal screw loosening with adjacent soft-tissue calcification, same pattern as in the thigh.",
        "Distal tibia: backed-out locking screws with calcific masses beside them",
    ),
]

SEED_INPUTS = {
    # username: (assessment, recommendation), given on the revised pathology
    "radiologist": (
        "The calcifications are lobulated and amorphous, next to loosened screws, in a patient on dialysis. "
        "Radiographs alone cannot separate relapse from tumoral calcinosis; CT and MR would be degraded by "
        "the nail.",
        "Correlate with the revised pathology; radiographs of the limb at each surveillance visit.",
    ),
    "pathologist": (
        "On review there is no malignant osteoid. Devitalised bone, giant-cell fibroblastic tissue, "
        "mineral deposits and metal debris.",
        "Treat the first report as superseded; no oncological treatment on pathological grounds.",
    ),
    "orthopaedic": (
        "Hardware loosening explains the pain. The revision stabilised the nail; the allograft non-union "
        "remains the mechanical problem.",
        "Clinical and radiographic review of the fusion in three months.",
    ),
    "radonc": (
        "With no tumour on the revised pathology there is no indication for radiotherapy.",
        "No radiotherapy.",
    ),
    "nephrologist": (
        "Calcium-phosphate product and PTH are high: the typical setting for tumoral calcinosis on dialysis.",
        "Tighten phosphate control and review parathyroid treatment.",
    ),
}


def seed_case(demo: DemoBuilder) -> None:
    """Feared relapse, first pathology, board review, amended pathology, consensus, surveillance."""
    board = demo.boards["Sarcoma board"]
    case = seed_referral(demo, seed_patient(demo, board))
    demo.move(case, "imaging")
    for index, (site, findings, impression, caption) in enumerate(SEED_STUDIES):
        demo.add_imaging(
            case,
            days_ago=40,
            modality="XR",
            body_site=site,
            accession_number=f"DEMO-XR-{4101 + index}",
            findings=findings,
            impression=impression,
            key_images=[(illustration(f"XR {index + 1}", caption, seed=index), caption)],
        )
    demo.move(case, "pathology")
    first_report = demo.add_report(
        case,
        days_ago=30,
        specimen="Calcified soft-tissue masses (left thigh, distal leg) and bone from the revision site",
        procedure="Excision biopsy during revision of the intramedullary nail",
        diagnosis="Bone-forming lesion, read as residual osteosarcoma.",
        icdo3_code="9180/3",
    )
    meeting = demo.held_meeting(board, 14, SEED_PANEL, [case])
    seed_revised_pathology(demo, first_report)
    demo.add_inputs(case, SEED_INPUTS)
    case = demo.move(case, "consensus", note="All required specialties have given input on the revised pathology.")
    seed_consensus(demo, case, meeting)
    demo.move(case, "closed", note="Decision signed; follow-up planned.")
    demo.finish_meeting(meeting)
    demo.log(f"Seed case {case.pk} for patient {SEED_MRN}")


def seed_patient(demo: DemoBuilder, board: Board) -> Patient:
    return cases.patient_create(
        board=board,
        by=demo.u("coordinator"),
        mrn=SEED_MRN,
        given_name="Elena",
        family_name="Voss",
        birth_date=years_ago(29, days=75),
        sex="female",
        comorbidities=(
            "End-stage kidney disease caused by type 1 diabetes; on haemodialysis three times a week. "
            "Secondary hyperparathyroidism."
        ),
    )


def seed_referral(demo: DemoBuilder, patient: Patient) -> Case:
    return demo.referral(
        patient,
        referring_clinician="Dr. Tobias Lund, orthopaedic outpatient clinic",
        referring_email="t.lund@example.org",
        clinical_question=(
            "New lumpy calcifications have appeared next to the fused left knee and the screws are loose. "
            "Is this a local relapse of her osteosarcoma, and how should the hardware revision be planned?"
        ),
        history=(
            "Osteosarcoma of the left distal femur and proximal tibia diagnosed 12 years ago. Treated with "
            "chemotherapy before and after a wide resection; the knee was fused (arthrodesis) using a bone "
            "allograft held by an intramedullary nail. The allograft never fully united. For the last four "
            "months the left leg has become more painful and swollen."
        ),
        key_labs=(
            "Corrected calcium 2.64 mmol/L (high); phosphate 2.31 mmol/L (high); "
            "parathyroid hormone 84 pmol/L (high); on dialysis."
        ),
        performance_status=1,
        priority="urgent",
    )


def seed_revised_pathology(demo: DemoBuilder, first_report: PathologyReport) -> None:
    """After the review the slides are read again: no tumour. The first report is superseded, not overwritten."""
    demo.amend(
        first_report,
        diagnosis=(
            "Devitalised bone, a fibroblastic proliferation with giant cells, mineralised amorphous material "
            "and metal wear debris. No osteosarcoma is seen."
        ),
        amendment_reason=(
            "Slides re-examined after the interdisciplinary review, together with the imaging and the history "
            "of dialysis and disturbed calcium-phosphate balance. The mineralised material is not tumour osteoid; "
            "the picture is callus with calcinosis."
        ),
        discrepancy=Discrepancy.MAJOR,
        icdo3_code="",
    )


def seed_consensus(demo: DemoBuilder, case: Case, meeting: Meeting) -> None:
    """The consensus, signed by the chair, and the treated-osteosarcoma surveillance schedule it starts."""
    demo.sign_decision(
        case,
        meeting=meeting,
        recorded_by="coordinator",
        chair="chair",
        participants=SEED_PANEL,
        consensus_diagnosis=(
            "Callus at the allograft junctions and tumoral calcinosis secondary to end-stage kidney disease. "
            "No evidence of recurrent osteosarcoma."
        ),
        plan=[
            {"category": "surveillance", "detail": "Continue the treated-osteosarcoma surveillance schedule."},
            {"category": "supportive_care", "detail": "Nephrology to optimise phosphate and PTH control."},
        ],
        rationale=(
            "The revised pathology shows no tumour; the imaging pattern and the biochemistry fit calcinosis "
            "from renal disease."
        ),
        dissent="",
    )
    follow_up_apply_template(
        case=case,
        template=FollowUpTemplate.objects.get(code="osteosarcoma-treated"),
        by=demo.u("coordinator"),
        start_on=timezone.localdate(),
        owner=demo.u("orthopaedic"),
    )


# Six more synthetic cases, one at each stage -----------------------------------------------------


def thigh_mass_at_intake(demo: DemoBuilder) -> Case:
    """Sarcoma, intake: the referral is still incomplete (it cannot go on an agenda yet)."""
    patient = demo.patient("Sarcoma board", "DEMO-100002", "Ravi", "Okonkwo", 54, "male", "Hypertension.")
    return demo.referral(
        patient,
        referring_clinician="Dr. Amara Diallo, general surgery",
        clinical_question="Enlarging deep mass of the right thigh: biopsy approach?",
    )


def calf_mass_at_imaging(demo: DemoBuilder) -> Case:
    """Sarcoma, imaging: MR reported, awaiting biopsy."""
    patient = demo.patient("Sarcoma board", "DEMO-100003", "Greta", "Holm", 41, "female")
    calf = demo.referral(
        patient,
        referring_clinician="Dr. Amara Diallo, general surgery",
        clinical_question="Deep 9 cm mass of the left calf: imaging-guided biopsy and staging plan?",
        history="Painless swelling of the left calf noticed six months ago, slowly growing. No prior cancer.",
        key_labs="Full blood count and LDH normal.",
        performance_status=0,
    )
    demo.move(calf, "imaging")
    demo.add_imaging(
        calf,
        days_ago=6,
        modality="MR",
        body_site="Left calf",
        accession_number="DEMO-MR-5120",
        findings="Deep heterogeneous intramuscular mass in the soleus, 9 × 6 × 5 cm.",
        impression="Deep soft-tissue mass suspicious for sarcoma; core biopsy along the planned surgical track.",
    )
    return calf


FIBULA_INPUTS = {
    "radiologist": "Good response; the margin to the peroneal nerve is now clear.",
    "pathologist": "Diagnosis confirmed; response to be graded on the resection specimen.",
    "orthopaedic": "Resection of the proximal fibula is feasible with nerve preservation.",
    "radonc": "Surgery preferred; radiotherapy kept for close or positive margins.",
}


def ewing_fibula_at_consensus(demo: DemoBuilder) -> Case:
    """Sarcoma, consensus: every required input given (FIBULA_INPUTS), listed for the next meeting."""
    patient = demo.patient("Sarcoma board", "DEMO-100004", "Tomasz", "Brenner", 17, "male")
    fibula = demo.referral(
        patient,
        referring_clinician="Dr. Ines Carvalho, paediatric oncology",
        clinical_question=(
            "Ewing sarcoma of the left fibula after induction chemotherapy: surgery or radiotherapy for local control?"
        ),
        history=(
            "Ewing sarcoma of the proximal left fibula diagnosed four months ago; six cycles of induction chemotherapy."
        ),
        key_labs="Counts recovering after the last cycle.",
        performance_status=1,
        priority="urgent",
    )
    demo.move(fibula, "imaging")
    demo.add_imaging(
        fibula,
        days_ago=10,
        modality="MR",
        body_site="Left leg",
        findings="Marked shrinkage of the fibular soft-tissue component.",
        impression="Good radiological response.",
    )
    demo.move(fibula, "pathology")
    demo.add_report(
        fibula,
        days_ago=130,
        specimen="Core biopsy, left fibula",
        procedure="CT-guided core biopsy",
        diagnosis="Small round blue cell tumour, EWSR1 rearranged: Ewing sarcoma.",
        icdo3_code="9260/3",
    )
    demo.add_inputs(fibula, FIBULA_INPUTS)
    demo.move(fibula, "consensus")
    return fibula


def next_sarcoma_meeting(demo: DemoBuilder, agenda: list[Case]) -> None:
    """Next week's sarcoma board, on site and by video, its agenda published."""
    upcoming = demo.schedule(
        demo.boards["Sarcoma board"],
        days=7,
        location="Conference room 4B, oncology centre",
        video_link="https://meet.example.org/sarcoma-board",
    )
    demo.list_cases(upcoming, agenda, presenter=demo.u("orthopaedic"), minutes=15)
    meetings.agenda_publish(meeting=upcoming, by=demo.u("coordinator"))


def breast_mass_at_pathology(demo: DemoBuilder) -> Case:
    """Breast, pathology: preliminary core biopsy report."""
    patient = demo.patient("Breast board", "DEMO-200011", "Maren", "Castell", 62, "female", "Type 2 diabetes.")
    left_breast = demo.referral(
        patient,
        referring_clinician="Dr. Yusuf Demir, breast clinic",
        clinical_question="Screen-detected 14 mm mass of the left breast: primary surgery or neoadjuvant therapy?",
        history="Screen-detected lesion, no palpable axillary nodes.",
        key_labs="None relevant.",
        performance_status=0,
    )
    demo.move(left_breast, "imaging")
    demo.add_imaging(
        left_breast,
        days_ago=9,
        modality="US",
        body_site="Left breast and axilla",
        findings="Irregular 14 mm hypoechoic mass at 2 o'clock; normal axillary nodes.",
        impression="BI-RADS 5 lesion; axilla normal.",
    )
    demo.move(left_breast, "pathology")
    demo.add_report(
        left_breast,
        days_ago=5,
        status="preliminary",
        specimen="Core biopsy, left breast 2 o'clock",
        procedure="Ultrasound-guided 14G core biopsy",
        diagnosis="Invasive carcinoma of no special type, grade 2; receptor studies pending.",
    )
    return left_breast


def her2_revised_at_revised_pathology(demo: DemoBuilder) -> Case:
    """Breast, revised pathology: HER2 status revised on repeat testing."""
    patient = demo.patient("Breast board", "DEMO-200012", "Lior", "Ashkenazi", 48, "female")
    right_breast = demo.referral(
        patient,
        referring_clinician="Dr. Yusuf Demir, breast clinic",
        clinical_question="Right breast carcinoma: is systemic therapy before surgery indicated?",
        history="Palpable 28 mm right breast mass for two months.",
        key_labs="None relevant.",
        performance_status=0,
        priority="urgent",
    )
    demo.move(right_breast, "imaging")
    demo.add_imaging(
        right_breast,
        days_ago=20,
        modality="MR",
        body_site="Both breasts",
        findings="Single 29 mm enhancing mass, right upper outer quadrant.",
        impression="Unifocal right breast cancer.",
    )
    demo.move(right_breast, "pathology")
    report = demo.add_report(
        right_breast,
        days_ago=18,
        specimen="Core biopsy, right breast",
        procedure="Ultrasound-guided core biopsy",
        diagnosis="Invasive carcinoma NST, grade 3; ER positive, HER2 equivocal (2+).",
    )
    demo.amend(
        report,
        diagnosis="Invasive carcinoma NST, grade 3; ER positive, HER2 positive on in-situ hybridisation.",
        amendment_reason="Reflex in-situ hybridisation showed HER2 amplification.",
        discrepancy=Discrepancy.MAJOR,
    )
    return right_breast


DCIS_PANEL = ["outsider", "medonc", "radiologist", "pathologist"]
DCIS_INPUTS = {
    "radiologist": "No residual disease on imaging.",
    "pathologist": "Low-grade DCIS completely excised.",
    "outsider": "Surgery complete.",
    "medonc": "Endocrine therapy optional; discussed risk and benefit.",
}


def dcis_closed_after_past_meeting(demo: DemoBuilder) -> None:
    """Breast, closed: every input given (DCIS_INPUTS), a decision signed at a past meeting, with a dissent."""
    patient = demo.patient("Breast board", "DEMO-200013", "Beatriz", "Ollanta", 57, "female")
    dcis = demo.referral(
        patient,
        referring_clinician="Dr. Yusuf Demir, breast clinic",
        clinical_question="Low-grade DCIS after wide local excision: radiotherapy or surveillance?",
        history="Wide local excision of 12 mm low-grade DCIS, margins clear.",
        key_labs="None relevant.",
        performance_status=0,
    )
    demo.move(dcis, "imaging")
    demo.add_imaging(
        dcis,
        days_ago=60,
        modality="XR",
        body_site="Left breast (mammogram)",
        findings="Post-excision changes only.",
        impression="No residual calcification.",
    )
    demo.move(dcis, "pathology")
    demo.add_report(
        dcis,
        days_ago=45,
        specimen="Wide local excision, left breast",
        procedure="Wide local excision",
        diagnosis="DCIS, low nuclear grade, 12 mm, margins clear (closest 4 mm).",
    )
    demo.add_inputs(dcis, DCIS_INPUTS)
    demo.move(dcis, "consensus")
    dcis_decision(demo, dcis)


def dcis_decision(demo: DemoBuilder, dcis: Case) -> None:
    """Three weeks ago, by video: surveillance, with radiology's dissent on record; the case closes."""
    breast = demo.boards["Breast board"]
    past = demo.held_meeting(breast, 21, DCIS_PANEL, [dcis], video_link="https://meet.example.org/breast-board")
    demo.sign_decision(
        dcis,
        meeting=past,
        recorded_by="outsider",
        chair="outsider",
        participants=DCIS_PANEL,
        consensus_diagnosis="Completely excised low-grade DCIS.",
        plan=[{"category": "surveillance", "detail": "Annual mammography."}],
        rationale="Low recurrence risk; patient prefers to avoid radiotherapy.",
        dissent="Radiology would have offered radiotherapy given age under 60.",
    )
    demo.move(dcis, "closed")
    demo.finish_meeting(past)


def next_breast_meeting(demo: DemoBuilder, agenda: list[Case]) -> None:
    """The breast board in ten days, early morning: its agenda is still a draft (not published)."""
    upcoming = demo.schedule(demo.boards["Breast board"], days=10, hour=8, location="Seminar room 2, breast unit")
    demo.list_cases(upcoming, agenda, presenter=demo.u("outsider"))
