"""The new-video form: identity (among those whose consent names the requester), speech, an
optional portrait of the same person, and the controls VASA-1 exposes."""

from __future__ import annotations

from django import forms

from generator.config import EMOTIONS
from policy.purposes import purpose_choices


class NewVideoForm(forms.Form):
    identity = forms.TypedChoiceField(coerce=int, label="Person")
    purpose = forms.ChoiceField(choices=purpose_choices())
    audio = forms.FileField(
        label="Speech audio",
        help_text="WAV, MP3, M4A, OGG, FLAC or WebM; within the consent's clip length.",
        widget=forms.ClearableFileInput(attrs={"accept": "audio/*,video/webm"}),
    )
    portrait = forms.ImageField(
        required=False,
        label="Portrait for this video (optional)",
        help_text="Leave empty to use the enrolled portrait. Another photo must show the same "
        "person, or the request is denied.",
    )
    gaze_x = forms.FloatField(initial=0.0, min_value=-1.0, max_value=1.0, label="Gaze x")
    gaze_y = forms.FloatField(initial=0.0, min_value=-1.0, max_value=1.0, label="Gaze y")
    head_distance = forms.FloatField(initial=1.0, min_value=0.8, max_value=1.25)
    emotion = forms.ChoiceField(choices=[(e, e.capitalize()) for e in EMOTIONS])
    seed = forms.IntegerField(initial=0, min_value=0, max_value=2**31 - 1)

    def __init__(self, *args, identities=(), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        seen: dict[int, str] = {}
        for identity, _grant in identities:
            seen.setdefault(identity.pk, identity.display_name)
        self.fields["identity"].choices = list(seen.items())

    def controls(self) -> dict:
        data = self.cleaned_data
        return {
            "gaze": [data["gaze_x"], data["gaze_y"]],
            "head_distance": data["head_distance"],
            "emotion": data["emotion"],
            "seed": data["seed"],
        }
