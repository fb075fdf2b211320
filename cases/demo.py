"""Demo data: boards, users by role, the seed case and six more synthetic cases.

Everything is invented and written in this project's own words; the seed case retells a
published case report (tumoral calcinosis mimicking recurrent osteosarcoma). It is built through
the services, so the timeline, versions and audit trail are exactly what real use produces.
"""

import io
from datetime import date, timedelta

from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.utils import timezone
from PIL import Image, ImageDraw, ImageFont

from .demo_coding import code_seed_case
from .models import Board, BoardMembership, Discrepancy, FollowUpTemplate, Meeting, MeetingStatus, Outcome, Patient
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
    return today.replace(year=today.year - years) - timedelta(days=days)


class DemoBuilder:
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
        self.seed_case()
        self.more_cases()
        code_seed_case(mrn=SEED_MRN, by=self.u("coordinator"), diagnosed_on=years_ago(12, days=40))
        return True

    # People and boards -------------------------------------------------------------------

    def make_users_and_boards(self) -> None:
        User = get_user_model()
        for username, (first, last) in USERS.items():
            user, created = User.objects.get_or_create(
                username=username, defaults={"first_name": first, "last_name": last, "email": f"{username}@example.org"}
            )
            if created:
                user.set_password(DEMO_PASSWORD)
                user.save()
            self.users[username] = user
        for name, spec in BOARDS.items():
            board, _ = Board.objects.get_or_create(
                name=name,
                defaults={
                    "tumour_site": spec["tumour_site"],
                    "required_specialties": list(spec["required"]),
                    "quorum_specialties": list(spec["quorum"]),
                },
            )
            self.boards[name] = board
            for username, role, specialty in spec["members"]:
                BoardMembership.objects.get_or_create(
                    user=self.users[username], board=board, defaults={"role": role, "specialty": specialty}
                )
        for user in self.users.values():
            user.__dict__.pop("_tb_memberships", None)

    def u(self, name: str):
        return self.users[name]

    def at(self, *, days: int, hour: int):
        return (self.now + timedelta(days=days)).replace(hour=hour, minute=0, second=0, microsecond=0)

    def schedule(self, board: Board, *, days: int, hour: int = 16, **place) -> Meeting:
        place = place or {"location": "Conference room 4B, oncology centre"}
        return meetings.meeting_schedule(
            board=board, by=self.u("coordinator"), starts_at=self.at(days=days, hour=hour), back_entry=days < 0, **place
        )

    def held_meeting(self, board: Board, days_ago: int, attendees: list[str], cases_: list, **place) -> Meeting:
        coordinator = self.u("coordinator")
        meeting = self.schedule(board, days=-days_ago, **place)
        for case in cases_:
            meetings.agenda_add(meeting=meeting, case=case, by=coordinator, minutes=15)
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

    def move(self, case, *stages: str, by: str = "coordinator", note: str = ""):
        for stage in stages:
            case = workflow.case_transition(case=case, to=stage, by=self.u(by), note=note)
        return case

    def referral(self, board: Board, patient, **fields):
        return cases.case_create(patient=patient, board=board, by=self.u("coordinator"), **fields)

    def add_imaging(self, case, *, days_ago: int, **fields):
        performed_on = timezone.localdate() - timedelta(days=days_ago)
        return imaging.imaging_study_add(case=case, by=self.u("radiologist"), performed_on=performed_on, **fields)

    def add_report(self, case, *, days_ago: int, status: str = "final", **fields):
        collected_on = timezone.localdate() - timedelta(days=days_ago)
        return pathology.pathology_report_add(
            case=case, by=self.u("pathologist"), status=status, collected_on=collected_on, **fields
        )

    def add_inputs(self, case, assessments: dict[str, str]) -> None:
        for username, text in assessments.items():
            opinions.opinion_record(case=case, by=self.u(username), assessment=text)

    # The seed case ------------------------------------------------------------------------

    def seed_case(self) -> None:
        board, coordinator = self.boards["Sarcoma board"], self.u("coordinator")
        patient = cases.patient_create(
            board=board,
            by=coordinator,
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
        case = cases.case_create(
            patient=patient,
            board=board,
            by=coordinator,
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
        self.move(case, "imaging")
        studies = [
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
        for index, (site, findings, impression, caption) in enumerate(studies):
            imaging.imaging_study_add(
                case=case,
                by=self.u("radiologist"),
                modality="XR",
                body_site=site,
                performed_on=timezone.localdate() - timedelta(days=40),
                accession_number=f"DEMO-XR-{4101 + index}",
                findings=findings,
                impression=impression,
                key_images=[(illustration(f"XR {index + 1}", caption, seed=index), caption)],
            )
        self.move(case, "pathology")
        first_report = pathology.pathology_report_add(
            case=case,
            by=self.u("pathologist"),
            status="final",
            specimen="Calcified soft-tissue masses (left thigh, distal leg) and bone from the revision site",
            procedure="Excision biopsy during revision of the intramedullary nail",
            collected_on=timezone.localdate() - timedelta(days=30),
            diagnosis="Bone-forming lesion, read as residual osteosarcoma.",
            icdo3_code="9180/3",
        )
        meeting = self.held_meeting(
            board, 14, ["chair", "radiologist", "pathologist", "orthopaedic", "radonc", "nephrologist"], [case]
        )
        pathology.pathology_report_amend(
            report=first_report,
            by=self.u("pathologist"),
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
        inputs = {
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
        for username, (assessment, recommendation) in inputs.items():
            opinions.opinion_record(
                case=case, by=self.u(username), assessment=assessment, recommendation=recommendation
            )
        case = self.move(case, "consensus", note="All required specialties have given input on the revised pathology.")
        participants = [
            self.u(n) for n in ("chair", "radiologist", "pathologist", "orthopaedic", "radonc", "nephrologist")
        ]
        decision = decisions.decision_record(
            case=case,
            by=self.u("coordinator"),
            meeting=meeting,
            participants=participants,
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
        decisions.decision_sign(decision=decision, by=self.u("chair"))
        template = FollowUpTemplate.objects.get(code="osteosarcoma-treated")
        follow_up_apply_template(
            case=case,
            template=template,
            by=self.u("coordinator"),
            start_on=timezone.localdate(),
            owner=self.u("orthopaedic"),
        )
        self.move(case, "closed", note="Decision signed; follow-up planned.")
        self.finish_meeting(meeting)
        self.log(f"Seed case {case.pk} for patient {patient.mrn}")

    # Six more synthetic cases ---------------------------------------------------------------

    def patient(self, board: Board, mrn: str, given: str, family: str, age: int, sex: str, comorbidities: str = ""):
        return cases.patient_create(
            board=board,
            by=self.u("coordinator"),
            mrn=mrn,
            given_name=given,
            family_name=family,
            birth_date=years_ago(age, days=int(mrn[-2:]) * 7),
            sex=sex,
            comorbidities=comorbidities,
        )

    def more_cases(self) -> None:
        sarcoma, breast = self.boards["Sarcoma board"], self.boards["Breast board"]
        coordinator = self.u("coordinator")

        # 1. Sarcoma, intake, referral still incomplete.
        patient = self.patient(sarcoma, "DEMO-100002", "Ravi", "Okonkwo", 54, "male", "Hypertension.")
        self.referral(
            sarcoma,
            patient,
            referring_clinician="Dr. Amara Diallo, general surgery",
            clinical_question="Enlarging deep mass of the right thigh: biopsy approach?",
        )

        # 2. Sarcoma, imaging: MR reported, awaiting biopsy.
        patient = self.patient(sarcoma, "DEMO-100003", "Greta", "Holm", 41, "female")
        calf = self.referral(
            sarcoma,
            patient,
            referring_clinician="Dr. Amara Diallo, general surgery",
            clinical_question="Deep 9 cm mass of the left calf: imaging-guided biopsy and staging plan?",
            history="Painless swelling of the left calf noticed six months ago, slowly growing. No prior cancer.",
            key_labs="Full blood count and LDH normal.",
            performance_status=0,
        )
        self.move(calf, "imaging")
        self.add_imaging(
            calf,
            days_ago=6,
            modality="MR",
            body_site="Left calf",
            accession_number="DEMO-MR-5120",
            findings="Deep heterogeneous intramuscular mass in the soleus, 9 × 6 × 5 cm.",
            impression="Deep soft-tissue mass suspicious for sarcoma; core biopsy along the planned surgical track.",
        )

        # 3. Sarcoma, consensus: every input given, listed for the next meeting.
        patient = self.patient(sarcoma, "DEMO-100004", "Tomasz", "Brenner", 17, "male")
        fibula = self.referral(
            sarcoma,
            patient,
            referring_clinician="Dr. Ines Carvalho, paediatric oncology",
            clinical_question=(
                "Ewing sarcoma of the left fibula after induction chemotherapy: surgery or radiotherapy "
                "for local control?"
            ),
            history=(
                "Ewing sarcoma of the proximal left fibula diagnosed four months ago; six cycles of induction "
                "chemotherapy."
            ),
            key_labs="Counts recovering after the last cycle.",
            performance_status=1,
            priority="urgent",
        )
        self.move(fibula, "imaging")
        self.add_imaging(
            fibula,
            days_ago=10,
            modality="MR",
            body_site="Left leg",
            findings="Marked shrinkage of the fibular soft-tissue component.",
            impression="Good radiological response.",
        )
        self.move(fibula, "pathology")
        self.add_report(
            fibula,
            days_ago=130,
            specimen="Core biopsy, left fibula",
            procedure="CT-guided core biopsy",
            diagnosis="Small round blue cell tumour, EWSR1 rearranged: Ewing sarcoma.",
            icdo3_code="9260/3",
        )
        self.add_inputs(
            fibula,
            {
                "radiologist": "Good response; the margin to the peroneal nerve is now clear.",
                "pathologist": "Diagnosis confirmed; response to be graded on the resection specimen.",
                "orthopaedic": "Resection of the proximal fibula is feasible with nerve preservation.",
                "radonc": "Surgery preferred; radiotherapy kept for close or positive margins.",
            },
        )
        self.move(fibula, "consensus")

        upcoming = self.schedule(
            sarcoma,
            days=7,
            location="Conference room 4B, oncology centre",
            video_link="https://meet.example.org/sarcoma-board",
        )
        for case in (calf, fibula):
            meetings.agenda_add(
                meeting=upcoming, case=case, by=coordinator, presenter=self.u("orthopaedic"), minutes=15
            )
        meetings.agenda_publish(meeting=upcoming, by=coordinator)

        # 4. Breast, pathology: preliminary core biopsy report.
        patient = self.patient(breast, "DEMO-200011", "Maren", "Castell", 62, "female", "Type 2 diabetes.")
        left_breast = self.referral(
            breast,
            patient,
            referring_clinician="Dr. Yusuf Demir, breast clinic",
            clinical_question="Screen-detected 14 mm mass of the left breast: primary surgery or neoadjuvant therapy?",
            history="Screen-detected lesion, no palpable axillary nodes.",
            key_labs="None relevant.",
            performance_status=0,
        )
        self.move(left_breast, "imaging")
        self.add_imaging(
            left_breast,
            days_ago=9,
            modality="US",
            body_site="Left breast and axilla",
            findings="Irregular 14 mm hypoechoic mass at 2 o'clock; normal axillary nodes.",
            impression="BI-RADS 5 lesion; axilla normal.",
        )
        self.move(left_breast, "pathology")
        self.add_report(
            left_breast,
            days_ago=5,
            status="preliminary",
            specimen="Core biopsy, left breast 2 o'clock",
            procedure="Ultrasound-guided 14G core biopsy",
            diagnosis="Invasive carcinoma of no special type, grade 2; receptor studies pending.",
        )

        # 5. Breast, revised pathology: HER2 status revised on repeat testing.
        patient = self.patient(breast, "DEMO-200012", "Lior", "Ashkenazi", 48, "female")
        right_breast = self.referral(
            breast,
            patient,
            referring_clinician="Dr. Yusuf Demir, breast clinic",
            clinical_question="Right breast carcinoma: is systemic therapy before surgery indicated?",
            history="Palpable 28 mm right breast mass for two months.",
            key_labs="None relevant.",
            performance_status=0,
            priority="urgent",
        )
        self.move(right_breast, "imaging")
        self.add_imaging(
            right_breast,
            days_ago=20,
            modality="MR",
            body_site="Both breasts",
            findings="Single 29 mm enhancing mass, right upper outer quadrant.",
            impression="Unifocal right breast cancer.",
        )
        self.move(right_breast, "pathology")
        report = self.add_report(
            right_breast,
            days_ago=18,
            specimen="Core biopsy, right breast",
            procedure="Ultrasound-guided core biopsy",
            diagnosis="Invasive carcinoma NST, grade 3; ER positive, HER2 equivocal (2+).",
        )
        pathology.pathology_report_amend(
            report=report,
            by=self.u("pathologist"),
            diagnosis="Invasive carcinoma NST, grade 3; ER positive, HER2 positive on in-situ hybridisation.",
            amendment_reason="Reflex in-situ hybridisation showed HER2 amplification.",
            discrepancy=Discrepancy.MAJOR,
        )

        # 6. Breast, closed: decision signed at a past meeting.
        patient = self.patient(breast, "DEMO-200013", "Beatriz", "Ollanta", 57, "female")
        dcis = self.referral(
            breast,
            patient,
            referring_clinician="Dr. Yusuf Demir, breast clinic",
            clinical_question="Low-grade DCIS after wide local excision: radiotherapy or surveillance?",
            history="Wide local excision of 12 mm low-grade DCIS, margins clear.",
            key_labs="None relevant.",
            performance_status=0,
        )
        self.move(dcis, "imaging")
        self.add_imaging(
            dcis,
            days_ago=60,
            modality="XR",
            body_site="Left breast (mammogram)",
            findings="Post-excision changes only.",
            impression="No residual calcification.",
        )
        self.move(dcis, "pathology")
        self.add_report(
            dcis,
            days_ago=45,
            specimen="Wide local excision, left breast",
            procedure="Wide local excision",
            diagnosis="DCIS, low nuclear grade, 12 mm, margins clear (closest 4 mm).",
        )
        self.add_inputs(
            dcis,
            {
                "radiologist": "No residual disease on imaging.",
                "pathologist": "Low-grade DCIS completely excised.",
                "outsider": "Surgery complete.",
                "medonc": "Endocrine therapy optional; discussed risk and benefit.",
            },
        )
        self.move(dcis, "consensus")
        attendees = ["outsider", "medonc", "radiologist", "pathologist"]
        past = self.held_meeting(breast, 21, attendees, [dcis], video_link="https://meet.example.org/breast-board")
        decision = decisions.decision_record(
            case=dcis,
            by=self.u("outsider"),
            meeting=past,
            participants=[self.u(n) for n in attendees],
            consensus_diagnosis="Completely excised low-grade DCIS.",
            plan=[{"category": "surveillance", "detail": "Annual mammography."}],
            rationale="Low recurrence risk; patient prefers to avoid radiotherapy.",
            dissent="Radiology would have offered radiotherapy given age under 60.",
        )
        decisions.decision_sign(decision=decision, by=self.u("outsider"))
        self.move(dcis, "closed")
        self.finish_meeting(past)

        next_breast = self.schedule(breast, days=10, hour=8, location="Seminar room 2, breast unit")
        for case in (left_breast, right_breast):
            meetings.agenda_add(meeting=next_breast, case=case, by=coordinator, presenter=self.u("outsider"))
