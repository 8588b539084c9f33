from datetime import timedelta

from django import forms
from django.conf import settings
from django.utils import timezone

from accounts.models import Organisation, Role, User
from generator.config import EMOTIONS
from policy.purposes import purpose_choices


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


class VerificationReviewForm(forms.Form):
    decision = forms.ChoiceField(choices=[("approve", "Approve"), ("reject", "Reject")])
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), max_length=2000)


class OrganisationChoiceField(forms.ModelMultipleChoiceField):
    """Each organisation with its current members: an owner sees exactly who a grant reaches."""

    def label_from_instance(self, organisation: Organisation) -> str:
        members = [m for m in organisation.members.all() if m.is_active]
        if not members:
            return f"{organisation.name} (no approved members yet)"
        names = ", ".join(f"{m.display_name} ({m.username})" for m in members)
        return f"{organisation.name}: {names}"


def _default_expiry():
    return (timezone.now() + timedelta(days=settings.CONSENT_GRANT_DEFAULT_DAYS)).date()


class GrantForm(forms.Form):
    requesters = forms.ModelMultipleChoiceField(
        queryset=User.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Named requester accounts who may use your likeness.",
    )
    organisations = OrganisationChoiceField(
        queryset=Organisation.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Every approved requester of these organisations may use your likeness.",
    )
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
    expires_on = forms.DateField(
        initial=_default_expiry,
        widget=forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"}),
        help_text="At most one year from today.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["requesters"].queryset = User.objects.filter(
            role=Role.REQUESTER, is_active=True
        ).order_by("username")
        self.fields["organisations"].queryset = Organisation.objects.prefetch_related(
            "members"
        ).order_by("name")
        self.fields["max_clip_seconds"].max_value = settings.CONSENT_GRANT_MAX_CLIP_SECONDS

    def scope(self) -> dict:
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
        return {
            "requesters": list(data["requesters"]),
            "organisations": list(data["organisations"]),
            "purposes": data["purposes"],
            "max_clip_seconds": data["max_clip_seconds"],
            "allowed_emotions": data["allowed_emotions"],
            "allow_download": data["allow_download"],
            "expires_at": min(expires_at, max_expiry),
        }

    @classmethod
    def initial_from_grant(cls, grant) -> dict:
        return {
            "requesters": list(grant.requesters.all()),
            "organisations": list(grant.organisations.all()),
            "purposes": grant.purposes,
            "max_clip_seconds": grant.max_clip_seconds,
            "allowed_emotions": grant.allowed_emotions,
            "allow_download": grant.allow_download,
            "expires_on": grant.expires_at.date(),
        }
