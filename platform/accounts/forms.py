from django import forms

from .models import SELF_SERVICE_ROLES, Role


class SignUpForm(forms.Form):
    username = forms.RegexField(
        regex=r"^[A-Za-z0-9_.-]{3,40}$",
        max_length=40,
        error_messages={"invalid": "Use 3-40 letters, digits, dots, dashes or underscores."},
    )
    full_name = forms.CharField(max_length=150)
    email = forms.EmailField()
    password = forms.CharField(widget=forms.PasswordInput, max_length=128)
    role = forms.ChoiceField(
        choices=[(r.value, r.label) for r in Role if r in SELF_SERVICE_ROLES],
        widget=forms.RadioSelect,
        help_text=(
            "Requesters ask for videos; portrait owners consent to the use of their likeness."
        ),
    )


class ApplicationForm(forms.Form):
    organisation = forms.CharField(
        max_length=200,
        required=False,
        label="New organisation's name",
        help_text="To found a new organisation. Leave empty to join one with an invitation code.",
    )
    invitation_code = forms.CharField(
        max_length=64,
        required=False,
        help_text="To join an existing organisation: the code its administrator gave you.",
    )
    intended_use = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), max_length=4000)
    accept_use_policy = forms.BooleanField(
        label="I accept the use policy",
        error_messages={"required": "You must accept the use policy."},
    )
