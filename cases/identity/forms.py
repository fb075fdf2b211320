from django import forms


class CodeForm(forms.Form):
    code = forms.CharField(
        label="Code",
        max_length=20,
        help_text="The 6 digits your authenticator app shows now, or one of your recovery codes.",
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}),
    )


class EnrolForm(forms.Form):
    code = forms.CharField(
        label="Code from the app",
        max_length=10,
        help_text="After adding the key to your authenticator app, type the 6 digits it shows.",
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )


class BreakGlassForm(forms.Form):
    mrn = forms.CharField(
        label="Medical record number",
        max_length=32,
        help_text="The exact number, as on the patient's wristband or record: there is no search.",
    )
    reason = forms.CharField(
        label="Reason",
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Why you need this patient's board records now. The board's coordinators review every access.",
    )


class AcknowledgeForm(forms.Form):
    comment = forms.CharField(
        label="Comment", max_length=1000, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class PasskeyForm(forms.Form):
    """The browser's answer to a WebAuthn ceremony, as JSON text (static/js/passkeys.js)."""

    credential = forms.CharField(max_length=20_000, strip=False)
    name = forms.CharField(max_length=100, required=False)
