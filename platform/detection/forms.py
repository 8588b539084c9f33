from __future__ import annotations

from django import forms


class DetectionUploadForm(forms.Form):
    file = forms.FileField(
        label="Image or video to check",
        help_text="PNG, JPEG, WebP, MP4, MOV, WebM or MKV. The file is deleted after the check; "
        "only its SHA-256 is kept.",
        allow_empty_file=True,  # the service answers "the file is empty" with its own code
    )
