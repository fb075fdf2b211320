"""A code field: a plain text box that works without JavaScript (the service checks the code);
static/js/code-picker.js adds suggestions from the code search as you type."""

from django import forms
from django.urls import reverse
from django.utils.functional import lazy
from django.utils.html import format_html
from django.utils.safestring import SafeString

from ..models import Laterality

LATERALITY_CHOICES = [("", "Not applicable"), *Laterality.choices]


class CodeInput(forms.TextInput):
    def __init__(self, list_name: str):
        super().__init__(attrs={"data-code-list": list_name, "autocomplete": "off", "spellcheck": "false"})


def _help(example: str, list_name: str) -> str:
    lookup = reverse("code-search") + f"?list={list_name}"
    return format_html(
        'For example {}. <a href="{}" target="_blank" rel="noopener">Look up a code</a>', example, lookup
    )


lazy_help = lazy(_help, SafeString)


def code_field(label: str, list_name: str, example: str, required: bool = False) -> forms.CharField:
    return forms.CharField(
        label=label,
        max_length=20,
        required=required,
        widget=CodeInput(list_name),
        help_text=lazy_help(example, list_name),
    )


def laterality_field() -> forms.ChoiceField:
    return forms.ChoiceField(choices=LATERALITY_CHOICES, required=False)
