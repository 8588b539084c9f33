from datetime import timedelta

from django import forms
from django.conf import settings
from django.utils import timezone

from core.errors import ApplicationError
from generator.config import EMOTIONS
from policy.purposes import purpose_choices

from .parties import grant_parties_resolve, organisations_reach, party_names_split
from .scope import GrantScope


class IdentityForm(forms.Form):
    display_name = forms.CharField(
        max_length=150, label="Your name as it should appear in consent statements"
    )


class PortraitForm(forms.Form):
    portrait = forms.FileField(
        help_text="A clear, front-facing photo of you alone (JPEG, PNG or WebP)."
    )


class ClipUploadForm(forms.Form):
    clip = forms.FileField(help_text="A video of you reading the statement (WebM or MP4).")


def _default_expiry():
    return (timezone.now() + timedelta(days=settings.CONSENT_GRANT_DEFAULT_DAYS)).date()


class GrantForm(forms.Form):
    """The scope of a grant. Requesters and organisations are typed by their exact username or
    name (the platform lists neither); before an organisation is granted, the owner is shown its
    members and submits again to confirm them."""

    requesters = forms.CharField(
        required=False,
        max_length=2000,
        label="Requesters' usernames",
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
        help_text="Exact usernames, separated by commas. Ask each requester for theirs.",
    )
    organisations = forms.CharField(
        required=False,
        max_length=5000,
        label="Organisations' names",
        widget=forms.Textarea(attrs={"rows": 2, "autocomplete": "off"}),
        help_text=(
            "Exact names, one per line. Every approved member of these organisations may use "
            "your likeness; you will see who they are before you confirm."
        ),
    )
    # The members the owner was shown, as "organisation:member,..." ids; a grant to organisations
    # is made only when what they confirmed is still who it reaches.
    confirmed_reach = forms.CharField(required=False, widget=forms.HiddenInput, max_length=5000)
    purposes = forms.MultipleChoiceField(
        choices=purpose_choices(), widget=forms.CheckboxSelectMultiple
    )
    max_clip_seconds = forms.IntegerField(
        min_value=1,
        initial=30,
        label="Longest clip (seconds)",
    )
    allowed_emotions = forms.MultipleChoiceField(
        choices=[(e, e.capitalize()) for e in EMOTIONS],
        widget=forms.CheckboxSelectMultiple,
        initial=["neutral"],
    )
    allow_download = forms.BooleanField(required=False, label="Outputs may be downloaded")
    allow_live = forms.BooleanField(required=False, label="Live (real-time) sessions are allowed")
    max_live_seconds = forms.IntegerField(
        min_value=1, initial=300, required=False, label="Longest live session (seconds)"
    )
    expires_on = forms.DateField(
        initial=_default_expiry,
        widget=forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"}),
        help_text="At most one year from today.",
    )

    def __init__(self, *args, grant=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.grant = grant
        self.reach = []  # the named organisations and their members, once found
        self.fields["max_clip_seconds"].max_value = settings.CONSENT_GRANT_MAX_CLIP_SECONDS

    def clean(self):
        data = super().clean()
        if "requesters" not in data or "organisations" not in data:
            return data
        try:
            requesters, organisations = grant_parties_resolve(
                requester_names=party_names_split(data["requesters"], by_line=False),
                organisation_names=party_names_split(data["organisations"], by_line=True),
                grant=self.grant,
            )
        except ApplicationError as error:
            self.add_error(None, error.message)
            return data
        data["requesters"], data["organisations"] = requesters, organisations
        self.reach = organisations_reach(organisations)
        signature = reach_signature(self.reach)
        if organisations and data.get("confirmed_reach") != signature:
            # Shown again with the members listed; the hidden field records what was shown.
            self.data = self.data.copy()
            self.data["confirmed_reach"] = signature
            self.add_error(
                None,
                "Check who the organisations you named reach today (listed below), then submit "
                "again to confirm.",
            )
        return data

    def scope(self) -> GrantScope:
        data = self.cleaned_data
        expires_on = data["expires_on"]
        # End of the chosen day, UTC: "until 24 Nov" includes 24 Nov.
        expires_at = timezone.make_aware(
            timezone.datetime.combine(expires_on, timezone.datetime.max.time()).replace(
                microsecond=0
            ),
            timezone.get_fixed_timezone(0),
        )
        max_expiry = timezone.now() + timedelta(days=settings.CONSENT_GRANT_MAX_DAYS)
        return GrantScope(
            requesters=data["requesters"],
            organisations=data["organisations"],
            purposes=data["purposes"],
            max_clip_seconds=data["max_clip_seconds"],
            allowed_emotions=data["allowed_emotions"],
            allow_download=data["allow_download"],
            allow_live=data["allow_live"],
            # Left empty (live not asked about): the model's default.
            max_live_seconds=data["max_live_seconds"] or 300,
            expires_at=min(expires_at, max_expiry),
        )

    @classmethod
    def initial_from_grant(cls, grant) -> dict:
        return {
            "requesters": ", ".join(u.username for u in grant.requesters.order_by("username")),
            "organisations": "\n".join(o.name for o in grant.organisations.order_by("name")),
            "purposes": grant.purposes,
            "max_clip_seconds": grant.max_clip_seconds,
            "allowed_emotions": grant.allowed_emotions,
            "allow_download": grant.allow_download,
            "allow_live": grant.allow_live,
            "max_live_seconds": grant.max_live_seconds,
            "expires_on": grant.expires_at.date(),
        }


def reach_signature(reach) -> str:
    return ";".join(f"{r.organisation.pk}:{','.join(str(m.pk) for m in r.members)}" for r in reach)
