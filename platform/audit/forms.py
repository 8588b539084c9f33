"""The auditor's search form: validates query parameters into an AuditFilter."""

from __future__ import annotations

from django import forms

from .models import Outcome
from .selectors import AuditFilter


class AuditFilterForm(forms.Form):
    actor = forms.CharField(required=False, max_length=150, help_text="user id or username")
    subject_type = forms.CharField(required=False, max_length=64)
    subject_id = forms.CharField(required=False, max_length=64)
    action = forms.CharField(
        required=False, max_length=64, help_text='exact code, or a domain prefix like "consent."'
    )
    outcome = forms.ChoiceField(required=False, choices=[("", "any")] + list(Outcome.choices))
    since = forms.DateTimeField(required=False, help_text="YYYY-MM-DD HH:MM (UTC)")
    until = forms.DateTimeField(required=False)
    client_ip = forms.GenericIPAddressField(required=False, label="IP address")
    before = forms.IntegerField(required=False, min_value=0, widget=forms.HiddenInput)
    after = forms.IntegerField(required=False, min_value=0, widget=forms.HiddenInput)

    def to_filter(self) -> AuditFilter:
        data = self.cleaned_data
        return AuditFilter(
            actor=data.get("actor") or "",
            subject_type=data.get("subject_type") or "",
            subject_id=data.get("subject_id") or "",
            action=data.get("action") or "",
            outcome=data.get("outcome") or "",
            since=data.get("since"),
            until=data.get("until"),
            client_ip=data.get("client_ip") or "",
        )


class ReportWindowForm(forms.Form):
    since = forms.DateTimeField(required=False)
    until = forms.DateTimeField(required=False)
