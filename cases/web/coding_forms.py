"""The portal's forms for coded data: the primary diagnosis, comorbidities and TNM staging."""

from django import forms

from ..codes import tnm
from ..models import StagingKind
from .code_widgets import code_field, laterality_field
from .forms import DateInput, PortalForm, VersionedForm


class PrimaryDiagnosisForm(VersionedForm):
    icd10_code = code_field("ICD-10-CM code", "icd-10-cm", "C40.22")
    topography = code_field("ICD-O-3 topography", "icd-o-3-topography", "C40.2")
    morphology = code_field("ICD-O-3 morphology and behaviour", "icd-o-3-morphology", "9180/3")
    laterality = laterality_field()
    text = forms.CharField(label="Diagnosis in words", max_length=500, required=False)
    diagnosed_on = forms.DateField(label="Date of diagnosis", widget=DateInput, required=False)


class ComorbidityForm(PortalForm):
    icd10_code = code_field("ICD-10-CM code", "icd-10-cm", "N18.6", required=True)
    text = forms.CharField(label="In words", max_length=500, required=False)
    diagnosed_on = forms.DateField(label="Since", widget=DateInput, required=False)


class StagingForm(PortalForm):
    kind = forms.ChoiceField(choices=StagingKind.choices, widget=forms.RadioSelect, initial=StagingKind.CLINICAL)
    after_therapy = forms.BooleanField(label="y: after neoadjuvant therapy", required=False)
    recurrence = forms.BooleanField(label="r: recurrence", required=False)
    t = forms.CharField(label="T", max_length=20, required=False, help_text="For example T2a, Tis, TX.")
    n = forms.CharField(label="N", max_length=20, required=False, help_text="For example N0, N1mi.")
    m = forms.CharField(label="M", max_length=20, required=False, help_text="For example M0, M1b.")
    stage_group = forms.CharField(label="Stage group", max_length=10, required=False, help_text="For example IIB.")
    edition = forms.ChoiceField(choices=list(tnm.EDITIONS.items()), initial="ajcc-8")
    staged_on = forms.DateField(label="Staged on", widget=DateInput)
    note = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)
