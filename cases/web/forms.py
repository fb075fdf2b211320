"""The portal's forms: they parse and label input; the services decide what is allowed."""

from django import forms
from django.core.exceptions import ValidationError

from ..models import (
    Concordance,
    DeviationCode,
    Discrepancy,
    Modality,
    Outcome,
    PerformanceStatus,
    PlanCategory,
    Priority,
    ReportStatus,
    Sex,
    Stage,
    TreatmentIntent,
)
from ..services.imaging import STUDY_FIELDS, validate_key_image
from .code_widgets import code_field, laterality_field

KEY_IMAGE_SLOTS = (1, 2, 3)


def text_area(rows: int = 3) -> forms.Textarea:
    return forms.Textarea(attrs={"rows": rows})


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%d")


class DateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%dT%H:%M")


class PortalForm(forms.Form):
    template_name = "includes/form_fields.html"
    required_css_class = "required"
    error_css_class = "has-error"
    # The fields an edit form shows filled in from the record it edits.
    prefilled: tuple[str, ...] = ()
    # A field the service names differently (None: the service does not take it).
    service_names: dict[str, str | None] = {}

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)

    @classmethod
    def editing(cls, obj, data=None, **kwargs):
        """The form of an edit, filled in from `obj` (nothing when there is none yet), bound to `data` if posted."""
        return cls(data, initial=cls.initial_from(obj) if obj is not None else {}, **kwargs)

    @classmethod
    def initial_from(cls, obj) -> dict:
        return {name: getattr(obj, name) for name in cls.prefilled}

    def service_data(self) -> dict:
        """The cleaned values as keyword arguments of the form's service."""
        names = self.service_names
        return {names.get(k, k): v for k, v in self.cleaned_data.items() if names.get(k, k) is not None}


class VersionedForm(PortalForm):
    """Carries the version the user saw, so an edit based on an old one is refused, not lost."""

    version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    prefilled = ("version",)
    service_names = {"version": "expected_version"}


def board_choices(memberships) -> list[tuple[int, str]]:
    return [(m.board_id, m.board.name) for m in sorted(memberships, key=lambda m: m.board.name)]


def member_choices(members, *, blank: str | None = None) -> list[tuple]:
    choices = [
        (m.user_id, f"{m.user.get_full_name() or m.user.username} — {m.get_specialty_display() or 'coordinator'}")
        for m in members
    ]
    return [("", blank), *choices] if blank is not None else choices


CHOOSE = ("", "Choose…")


class BoardChoiceForm(PortalForm):
    """A form whose first field picks one of the boards the user may do this on (no query).

    With several boards nothing is preselected: registering on the wrong board by not looking is the
    mistake this prevents. With one board there is nothing to choose.
    """

    board = forms.TypedChoiceField(coerce=int)

    def __init__(self, *args, memberships, **kwargs):
        super().__init__(*args, **kwargs)
        self.boards = {m.board_id: m.board for m in memberships}
        choices = board_choices(memberships)
        self.fields["board"].choices = choices if len(choices) == 1 else [CHOOSE, *choices]

    def clean_board(self):
        return self.boards[self.cleaned_data["board"]]


# Patients and cases ---------------------------------------------------------------------------


class PatientForm(BoardChoiceForm):
    mrn = forms.CharField(label="Medical record number", max_length=32)
    given_name = forms.CharField(max_length=100)
    family_name = forms.CharField(max_length=100)
    birth_date = forms.DateField(widget=DateInput)
    sex = forms.ChoiceField(choices=[CHOOSE, *Sex.choices])
    comorbidities = forms.CharField(
        required=False, widget=text_area(), help_text="For example renal failure, diabetes."
    )

    field_order = ["mrn", "given_name", "family_name", "birth_date", "sex", "comorbidities", "board"]


class PatientSearchForm(forms.Form):
    q = forms.CharField(
        label="Medical record number, name or birth date",
        max_length=200,
        help_text="An exact MRN; a name (accents and capitals do not matter); or a birth date such as 1990-05-17.",
    )


class WithdrawForm(VersionedForm):
    reason = forms.CharField(
        label="Why the case is withdrawn",
        widget=text_area(2),
        help_text="For example “Duplicate of case 12” or “Registered for the wrong patient”.",
    )


class MergeChooseForm(PortalForm):
    keep = forms.CharField(
        label="Medical record number of the record to keep",
        max_length=32,
        help_text="This record's cases move there; this record stays readable, marked as merged.",
    )


REFERRAL_HELP = "Needed before the case can go on a meeting's agenda."


class ReferralFields(forms.Form):
    referring_clinician = forms.CharField(max_length=200, required=False, help_text=REFERRAL_HELP)
    referring_email = forms.EmailField(required=False, help_text="Told the outcome once the decision is signed.")
    clinical_question = forms.CharField(required=False, widget=text_area(), help_text=REFERRAL_HELP)
    history = forms.CharField(
        label="History",
        required=False,
        widget=text_area(4),
        help_text="Diagnoses and prior treatment. " + REFERRAL_HELP,
    )
    key_labs = forms.CharField(required=False, widget=text_area(2), help_text="For example calcium, phosphate, PTH.")
    performance_status = forms.TypedChoiceField(
        choices=[("", "Not recorded"), *PerformanceStatus.choices], coerce=int, empty_value=None, required=False
    )
    priority = forms.ChoiceField(choices=Priority.choices, initial=Priority.ROUTINE)


class CaseCreateForm(BoardChoiceForm, ReferralFields):
    field_order = ["board"]

    def __init__(self, *args, has_open_cases: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if has_open_cases:
            self.fields["confirm_second_case"] = forms.BooleanField(
                label="This is a second, separate question",
                required=False,
                help_text="Tick only if the open case above is not the same referral.",
            )

    def service_data(self) -> dict:
        data = self.cleaned_data
        fields = {name: value for name, value in data.items() if name in ReferralFields.base_fields}
        return {"board": data["board"], "refuse_second_open_case": not data.get("confirm_second_case"), **fields}


class ReferralForm(VersionedForm, ReferralFields):
    no_pathology_reason = forms.CharField(
        label="Why there is no pathology",
        required=False,
        widget=text_area(2),
        help_text="Lets the case reach consensus without a final pathology report.",
    )

    @classmethod
    def initial_from(cls, obj) -> dict:
        return {name: getattr(obj, name) for name in cls.base_fields}


# Clinical records -----------------------------------------------------------------------------


class ImagingStudyForm(PortalForm):
    modality = forms.ChoiceField(choices=Modality.choices)
    body_site = forms.CharField(max_length=200)
    performed_on = forms.DateField(label="Date performed", widget=DateInput)
    accession_number = forms.CharField(max_length=64, required=False)
    findings = forms.CharField(required=False, widget=text_area(4))
    impression = forms.CharField(required=False, widget=text_area(), help_text="Needed to move on to pathology.")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for n in KEY_IMAGE_SLOTS:
            self.fields[f"image_{n}"] = forms.FileField(
                label=f"Key image {n}",
                required=False,
                widget=forms.ClearableFileInput(attrs={"accept": "image/png,image/jpeg,image/gif,image/webp"}),
                help_text="PNG, JPEG, GIF or WebP." if n == 1 else "",
            )
            self.fields[f"caption_{n}"] = forms.CharField(
                label=f"Caption of key image {n}", max_length=300, required=False
            )

    def clean(self):
        data = super().clean()
        for n in KEY_IMAGE_SLOTS:
            upload, caption = data.get(f"image_{n}"), (data.get(f"caption_{n}") or "").strip()
            if upload and not caption:
                self.add_error(f"caption_{n}", "Give the key image a caption.")
            if caption and not upload and f"image_{n}" not in self.errors:
                self.add_error(f"image_{n}", "Choose the image this caption belongs to.")
            if upload:
                try:
                    validate_key_image(upload)
                except ValidationError as error:
                    self.add_error(f"image_{n}", error.message_dict["image"])
        return data

    def key_images(self) -> list[tuple]:
        data = self.cleaned_data
        return [(data[f"image_{n}"], data[f"caption_{n}"].strip()) for n in KEY_IMAGE_SLOTS if data.get(f"image_{n}")]

    def service_data(self) -> dict:
        return {"key_images": self.key_images(), **{name: self.cleaned_data[name] for name in STUDY_FIELDS}}


class ImagingAmendForm(PortalForm):
    modality = forms.ChoiceField(choices=Modality.choices)
    body_site = forms.CharField(max_length=200)
    performed_on = forms.DateField(label="Date performed", widget=DateInput)
    accession_number = forms.CharField(max_length=64, required=False)
    findings = forms.CharField(required=False, widget=text_area(4))
    impression = forms.CharField(required=False, widget=text_area())
    amendment_reason = forms.CharField(
        label="What was wrong", widget=text_area(2), help_text="For example “Wrong side: the left knee, not the right”."
    )

    prefilled = tuple(STUDY_FIELDS)


class ImagingAddendumForm(PortalForm):
    text = forms.CharField(
        label="Addendum", widget=text_area(3), help_text="Added below the report; the report itself is unchanged."
    )


class PathologyReportForm(PortalForm):
    specimen = forms.CharField(max_length=300)
    procedure = forms.CharField(max_length=300)
    collected_on = forms.DateField(label="Collection date", widget=DateInput)
    diagnosis = forms.CharField(widget=text_area(4))
    topography = code_field("ICD-O-3 topography", "icd-o-3-topography", "C40.2")
    morphology = code_field("ICD-O-3 morphology and behaviour", "icd-o-3-morphology", "9180/3")
    laterality = laterality_field()
    icdo3_code = forms.CharField(label="Other ICD-O-3 code (flagged for review)", max_length=16, required=False)
    status = forms.ChoiceField(
        choices=[(ReportStatus.PRELIMINARY, "Preliminary"), (ReportStatus.FINAL, "Final (signed out now)")],
        widget=forms.RadioSelect,
        error_messages={"required": "Choose whether the report is preliminary or final."},
    )


class AmendmentForm(VersionedForm):
    diagnosis = forms.CharField(label="Amended diagnosis", widget=text_area(4))
    topography = code_field("ICD-O-3 topography", "icd-o-3-topography", "C40.2")
    morphology = code_field("ICD-O-3 morphology and behaviour", "icd-o-3-morphology", "9180/3")
    laterality = laterality_field()
    icdo3_code = forms.CharField(label="Other ICD-O-3 code (flagged for review)", max_length=16, required=False)
    amendment_reason = forms.CharField(label="Reason for the amendment", widget=text_area())
    discrepancy = forms.ChoiceField(
        label="Discrepancy class",
        choices=Discrepancy.choices,
        widget=forms.RadioSelect,
        help_text="Major when the diagnosis or the management changes.",
    )

    prefilled = ("diagnosis", "icdo3_code", "topography", "morphology", "laterality", "version")


class OpinionForm(VersionedForm):
    assessment = forms.CharField(widget=text_area(5))
    recommendation = forms.CharField(required=False, widget=text_area())

    prefilled = ("assessment", "recommendation", "version")


class MoveForm(VersionedForm):
    note = forms.CharField(required=False, widget=text_area(2), help_text="Required when moving back: say why.")


# The trial question as one choice, stored as the decision's three answers (considered, eligible, enrolled).
TRIAL_CHOICES = [
    ("", "Not recorded"),
    ("not_considered", "No trial considered"),
    ("not_eligible", "Considered, not eligible"),
    ("eligible", "Eligible, not enrolled"),
    ("enrolled", "Eligible and enrolled"),
]
TRIAL_ANSWERS = {
    "": (None, None, None),
    "not_considered": (False, None, None),
    "not_eligible": (True, False, None),
    "eligible": (True, True, False),
    "enrolled": (True, True, True),
}


def trial_choice(decision) -> str:
    answers = (decision.trial_considered, decision.trial_eligible, decision.trial_enrolled)
    return next((key for key, value in TRIAL_ANSWERS.items() if value == answers), "")


class DecisionForm(VersionedForm):
    meeting = forms.TypedChoiceField(coerce=int, empty_value=None, required=False)
    consensus_diagnosis = forms.CharField(widget=text_area())
    plan = forms.MultipleChoiceField(
        choices=PlanCategory.choices, widget=forms.CheckboxSelectMultiple, help_text="Tick each part of the plan."
    )
    rationale = forms.CharField(required=False, widget=text_area())
    dissent = forms.CharField(required=False, widget=text_area(2), help_text="Who disagreed, and why.")
    participants = forms.TypedMultipleChoiceField(coerce=int, widget=forms.CheckboxSelectMultiple, required=False)
    guideline_concordance = forms.ChoiceField(
        label="Guideline concordance", choices=[("", "Not recorded"), *Concordance.choices], required=False
    )
    concordance_reason = forms.CharField(
        label="Why the plan departs from the guideline",
        required=False,
        widget=text_area(2),
        help_text="Required when the plan is not concordant.",
    )
    trial = forms.ChoiceField(label="Clinical trial", choices=TRIAL_CHOICES, required=False)
    treatment_intent = forms.ChoiceField(
        label="Treatment intent", choices=[("", "Not recorded"), *TreatmentIntent.choices], required=False
    )

    def __init__(self, *args, meetings, members, correcting: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.meetings = {m.pk: m for m in meetings}
        self.members = {m.user_id: m.user for m in members}
        self.fields["meeting"].choices = [("", "Not at a meeting")] + [
            (m.pk, f"{m.starts_at:%d %b %Y %H:%M} — {m.location or 'video'}") for m in meetings
        ]
        self.fields["participants"].choices = member_choices(members)
        for category, label in PlanCategory.choices:
            self.fields[f"detail_{category}"] = forms.CharField(
                label=f"{label}: detail",
                required=False,
                max_length=500,
                widget=forms.TextInput(attrs={"placeholder": "Detail (optional)"}),
            )
        if correcting:
            self.fields["supersede_reason"] = forms.CharField(
                label="Why the signed decision is corrected", widget=text_area(2)
            )

    @classmethod
    def initial_from(cls, decision) -> dict:
        """A draft's values, each plan category's detail included."""
        return {
            "meeting": decision.meeting_id,
            "consensus_diagnosis": decision.consensus_diagnosis,
            "plan": decision.plan_categories,
            "rationale": decision.rationale,
            "dissent": decision.dissent,
            "participants": [u.pk for u in decision.participants.all()],
            "version": decision.version,
            "guideline_concordance": decision.guideline_concordance,
            "concordance_reason": decision.concordance_reason,
            "trial": trial_choice(decision),
            "treatment_intent": decision.treatment_intent,
        } | {f"detail_{item['category']}": item.get("detail", "") for item in decision.plan}

    def plan_rows(self):
        """Each plan category's checkbox beside its detail field."""
        details = {category: self[f"detail_{category}"] for category in PlanCategory.values}
        return [(box, details[box.data["value"]]) for box in self["plan"]]

    def service_data(self) -> dict:
        """What decision_record, decision_update and decision_correct share (each adds its version or reason)."""
        data = self.cleaned_data
        return {
            "meeting": self.meetings.get(data["meeting"]),
            "participants": [self.members[pk] for pk in data["participants"]],
            "consensus_diagnosis": data["consensus_diagnosis"],
            "plan": [{"category": c, "detail": data[f"detail_{c}"].strip()} for c in data["plan"]],
            "rationale": data["rationale"],
            "dissent": data["dissent"],
            **self.quality_fields(),
        }

    def quality_fields(self) -> dict:
        data = self.cleaned_data
        considered, eligible, enrolled = TRIAL_ANSWERS[data["trial"]]
        return {
            "guideline_concordance": data["guideline_concordance"],
            "concordance_reason": data["concordance_reason"],
            "trial_considered": considered,
            "trial_eligible": eligible,
            "trial_enrolled": enrolled,
            "treatment_intent": data["treatment_intent"],
        }


class DeviationForm(VersionedForm):
    deviation_code = forms.ChoiceField(
        label="Why the recommendation was not carried out",
        choices=DeviationCode.choices,
        widget=forms.RadioSelect,
        initial=DeviationCode.OTHER,
    )
    deviation_reason = forms.CharField(
        label="In words",
        required=False,
        widget=text_area(2),
        help_text="Required for \u201cother\u201d; for example what the patient chose instead.",
    )

    service_names = {"version": "expected_version", "deviation_reason": "reason", "deviation_code": "code"}


class FollowUpChangeForm(VersionedForm):
    owner = forms.TypedChoiceField(coerce=int, empty_value=None, required=False, label="Owner")
    due_on = forms.DateField(label="Due on", widget=DateInput)

    def __init__(self, *args, members, **kwargs):
        super().__init__(*args, **kwargs)
        self.members = {m.user_id: m.user for m in members}
        self.fields["owner"].choices = member_choices(members, blank="Nobody yet")

    @classmethod
    def initial_from(cls, follow_up) -> dict:
        return {"owner": follow_up.owner_id, "due_on": follow_up.due_on, "version": follow_up.version}

    def service_data(self) -> dict:
        return super().service_data() | {"owner": self.members.get(self.cleaned_data["owner"])}


class SurveillanceForm(PortalForm):
    template = forms.ModelChoiceField(queryset=None, label="Schedule", empty_label=None)
    start_on = forms.DateField(label="Surveillance starts on", widget=DateInput)
    owner = forms.TypedChoiceField(coerce=int, empty_value=None, required=False, label="Owner of the visits")

    def __init__(self, *args, templates, members, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["template"].queryset = templates
        self.members = {m.user_id: m.user for m in members}
        self.fields["owner"].choices = member_choices(members, blank="Nobody yet")

    def service_data(self) -> dict:
        return super().service_data() | {"owner": self.members.get(self.cleaned_data["owner"])}


# Meetings ---------------------------------------------------------------------------------------


class MeetingPlaceForm(PortalForm):
    """When and where a meeting is: scheduling it, or moving it."""

    prefilled = ("starts_at", "location", "video_link")

    starts_at = forms.DateTimeField(label="Starts at", widget=DateTimeInput)
    location = forms.CharField(max_length=200, required=False, help_text="A room, or leave empty for a video meeting.")
    video_link = forms.URLField(required=False, assume_scheme="https")


class MeetingForm(BoardChoiceForm, MeetingPlaceForm):
    field_order = ["board"]


class MemberChoiceMixin:
    def set_members(self, members, field: str = "presenter") -> None:
        self.members = {m.user_id: m.user for m in members}
        self.fields[field].choices = member_choices(members, blank="No presenter yet")

    def service_data(self) -> dict:
        return super().service_data() | {"presenter": self.members.get(self.cleaned_data["presenter"])}


class AgendaAddForm(MemberChoiceMixin, PortalForm):
    case = forms.TypedChoiceField(
        coerce=int,
        label="Case",
        help_text="Only complete referrals of this board are listed.",
        error_messages={"required": "Choose the case to add."},
    )
    presenter = forms.TypedChoiceField(coerce=int, empty_value=None, required=False)
    minutes = forms.IntegerField(min_value=1, max_value=240, initial=10)

    def __init__(self, *args, candidates, members, **kwargs):
        super().__init__(*args, **kwargs)
        self.candidates = {case.pk: case for case in candidates}
        self.fields["case"].choices = [
            CHOOSE,
            *[
                (case.pk, f"Case {case.pk}: {case.patient.full_name} ({case.patient.mrn}) — {case.get_stage_display()}")
                for case in candidates
            ],
        ]
        self.set_members(members)

    def service_data(self) -> dict:
        return super().service_data() | {"case": self.candidates[self.cleaned_data["case"]]}


class AgendaItemForm(MemberChoiceMixin, PortalForm):
    """The presenter and minutes of one agenda item (its prefix names the item, so each row has its own form)."""

    presenter = forms.TypedChoiceField(coerce=int, empty_value=None, required=False)
    minutes = forms.IntegerField(min_value=1, max_value=240)

    def __init__(self, *args, item, members, **kwargs):
        super().__init__(*args, prefix=f"item-{item.pk}", **kwargs)
        self.item_id = item.pk
        self.set_members(members)


class AttendanceForm(PortalForm):
    present = forms.TypedMultipleChoiceField(
        coerce=int, widget=forms.CheckboxSelectMultiple, required=False, label="Present at the meeting"
    )

    def __init__(self, *args, members, **kwargs):
        super().__init__(*args, **kwargs)
        self.members = {m.user_id: m.user for m in members}
        self.fields["present"].choices = member_choices(members)

    def service_data(self) -> dict:
        """The whole register: each member present or absent."""
        here = set(self.cleaned_data["present"])
        return {
            "present": [user for pk, user in self.members.items() if pk in here],
            "absent": [user for pk, user in self.members.items() if pk not in here],
        }


class OutcomeForm(PortalForm):
    outcome = forms.ChoiceField(
        choices=[(Outcome.DISCUSSED, "Discussed"), (Outcome.DEFERRED, "Deferred to the next meeting")],
        widget=forms.RadioSelect,
        initial=Outcome.DISCUSSED,
    )
    deferral_reason = forms.CharField(required=False, widget=text_area(2), help_text="Required when deferring.")
    actual_minutes = forms.IntegerField(
        label="Minutes the discussion took",
        min_value=1,
        max_value=240,
        required=False,
        help_text="Optional; board analytics compare it with the time allotted.",
    )

    service_names = {"deferral_reason": "reason"}


# The case list ----------------------------------------------------------------------------------

SORTS = [
    ("updated", "Recently updated"),
    ("-updated", "Least recently updated"),
    ("-created", "Newest first"),
    ("created", "Oldest first"),
    ("patient", "Patient name"),
    ("stage", "Stage"),
    ("priority", "Urgent first"),
]


class CaseFilterForm(forms.Form):
    q = forms.CharField(label="Search by patient name, MRN or clinical question", required=False, max_length=200)
    board = forms.TypedChoiceField(coerce=int, empty_value=None, required=False)
    stage = forms.ChoiceField(choices=[("", "Any stage"), *Stage.choices], required=False)
    priority = forms.ChoiceField(choices=[("", "Any priority"), *Priority.choices], required=False)
    meeting = forms.TypedChoiceField(coerce=int, empty_value=None, required=False, label="On the agenda of")
    amended = forms.TypedChoiceField(
        label="Pathology",
        choices=[("", "Any pathology"), ("yes", "Has an amended report"), ("no", "No amended report")],
        coerce=lambda value: value == "yes",
        empty_value=None,
        required=False,
    )
    sort = forms.ChoiceField(choices=SORTS, required=False)

    def __init__(self, *args, memberships, meetings, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["board"].choices = [("", "All my boards"), *board_choices(memberships)]
        self.fields["meeting"].choices = [("", "Any meeting")] + [
            (m.pk, f"{m.board.name}, {m.starts_at:%d %b %Y}") for m in meetings
        ]

    def filters(self) -> dict:
        """Keyword arguments for selectors.case_list; an invalid filter is dropped rather than failing."""
        self.is_valid()
        data = self.cleaned_data
        return {
            "search": data.get("q") or "",
            "board": data.get("board"),
            "stage": data.get("stage") or None,
            "priority": data.get("priority") or None,
            "meeting": data.get("meeting"),
            "has_amended_pathology": data.get("amended"),
            "ordering": data.get("sort") or "updated",
        }


class AuditFilterForm(forms.Form):
    username = forms.CharField(required=False, max_length=150, label="User")
    mrn = forms.CharField(required=False, max_length=32, label="Patient MRN")
    object_type = forms.CharField(required=False, max_length=60, label="Object type", help_text="e.g. case, patient")
    object_id = forms.CharField(required=False, max_length=40, label="Object id")
    action = forms.CharField(required=False, max_length=60, label="Action", help_text="e.g. case.view, pathology.")
    date_from = forms.DateField(required=False, label="From", widget=DateInput)
    date_to = forms.DateField(required=False, label="To", widget=DateInput)

    def filters(self) -> dict:
        if not self.is_valid():
            return {}
        return {name: value for name, value in self.cleaned_data.items() if value not in (None, "")}

    def described(self) -> dict:
        return {name: str(value) for name, value in self.filters().items()}


# Confirmation of irreversible actions (sign, cancel, publish, mark done) ----------------------


class ConfirmForm(VersionedForm):
    """The confirmation step of an irreversible action: a page with one POST form, no JavaScript needed.

    A POST without `confirmed` (an old button, a bookmarked form) only shows this page again.
    """

    confirmed = forms.ChoiceField(choices=[("yes", "yes")], widget=forms.HiddenInput, initial="yes")
    service_names = {"version": "expected_version", "confirmed": None}


SUSPENDED_CHOICES = [
    ("close", "Close them as superseded by this decision"),
    ("carry", "Carry them over to this decision (they become planned again)"),
]


class SignForm(ConfirmForm):
    suspended_follow_ups = forms.ChoiceField(
        choices=SUSPENDED_CHOICES,
        widget=forms.RadioSelect,
        required=False,
        label="The suspended follow-up of the decision under review",
    )

    def __init__(self, *args, has_suspended: bool, **kwargs):
        super().__init__(*args, **kwargs)
        if has_suspended:
            self.fields["suspended_follow_ups"].required = True
        else:
            del self.fields["suspended_follow_ups"]


class MeetingCancelForm(ConfirmForm):
    reason = forms.CharField(widget=text_area(3), label="Why the meeting is cancelled")
    agenda = forms.ChoiceField(
        choices=[
            ("release", "Back to the cases awaiting a meeting (listed on the meetings page)"),
            ("roll", "Roll them to the board's next scheduled meeting"),
        ],
        widget=forms.RadioSelect,
        initial="release",
        label="The cases on its agenda",
    )
    service_names = {"version": None, "confirmed": None}


class AttendanceCorrectForm(PortalForm):
    user = forms.TypedChoiceField(coerce=int, label="Member")
    present = forms.TypedChoiceField(
        coerce=lambda value: value == "yes",
        choices=[("yes", "Present"), ("no", "Absent")],
        widget=forms.RadioSelect,
        label="Attendance",
    )
    reason = forms.CharField(widget=text_area(2), label="Why it is corrected")

    def __init__(self, *args, members, **kwargs):
        super().__init__(*args, **kwargs)
        self.members = {m.user_id: m.user for m in members}
        self.fields["user"].choices = member_choices(members, blank="Choose a member")

    def service_data(self) -> dict:
        return super().service_data() | {"user": self.members[self.cleaned_data["user"]]}


# Teaching sets --------------------------------------------------------------------------------


class TeachingSetForm(PortalForm):
    other_identifiers = forms.CharField(
        label="Other names or numbers to look for",
        required=False,
        max_length=4000,
        widget=text_area(3),
        help_text="Relatives, names in other scripts, an employer: one a line. The scrubber removes them too.",
    )

    def __init__(self, *args, agenda_items=None, **kwargs):
        """From a meeting: its agenda's cases to choose from (`agenda_items`, with their cases and patients)."""
        super().__init__(*args, **kwargs)
        if agenda_items is not None:
            self.cases = {item.case_id: item.case for item in agenda_items}
            choices = [(item.case_id, f"{item.position}. {item.case.patient.full_name}") for item in agenda_items]
            self.fields = {
                "cases": forms.TypedMultipleChoiceField(
                    label="Cases of this meeting", choices=choices, coerce=int, widget=forms.CheckboxSelectMultiple
                ),
                **self.fields,
            }

    def chosen_cases(self) -> list:
        return [self.cases[pk] for pk in self.cleaned_data["cases"]]


class TeachingTextForm(VersionedForm):
    ACTIONS = [("include", "Include"), ("save", "Save my text"), ("exclude", "Leave out")]

    field = forms.CharField(max_length=80, widget=forms.HiddenInput)
    action = forms.ChoiceField(choices=ACTIONS)
    text = forms.CharField(required=False, max_length=20000, strip=False, widget=text_area(4))


class TeachingImageForm(VersionedForm):
    key_image = forms.IntegerField(min_value=1, max_value=2**63 - 1, widget=forms.HiddenInput)
    action = forms.ChoiceField(choices=[("include", "Include"), ("exclude", "Leave out")])
    # A check box sends "on" or nothing; anything else is refused rather than read as a yes.
    no_burned_in_identifiers = forms.TypedChoiceField(
        choices=[("on", "I looked: no name, number or date is drawn in this image"), ("", "no")],
        coerce=lambda value: value == "on",
        required=False,
        empty_value=False,
    )


class TeachingApproveForm(VersionedForm):
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1, max_value=10**9)
