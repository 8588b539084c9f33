"""The verifier's decision page, shared by requester applications and identity verifications:
approve or reject, with a reason that lands in the audit log."""

from __future__ import annotations

from collections.abc import Callable

from django import forms
from django.contrib import messages
from django.shortcuts import redirect, render

from core.errors import USER_FACING_ERRORS


class ReviewForm(forms.Form):
    decision = forms.ChoiceField(choices=[("approve", "Approve"), ("reject", "Reject")])
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), max_length=2000)


def review_page(
    request,
    *,
    decide: Callable[..., object],
    template: str,
    context: dict,
    done_url: str,
):
    """GET: the page with the form. POST: `decide(approve=..., reason=...)`, then back to the
    queue at `done_url`; a refusal from the service shows as a form error."""
    form = ReviewForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            decide(
                approve=form.cleaned_data["decision"] == "approve",
                reason=form.cleaned_data["reason"],
            )
        except USER_FACING_ERRORS as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, "Decision recorded.")
            return redirect(done_url)
    return render(request, template, {**context, "form": form})
