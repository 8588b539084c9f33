"""The TOTP enrolment and code pages (thin: forms + accounts.two_factor)."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from . import two_factor


class TokenForm(forms.Form):
    token = forms.RegexField(
        regex=r"^\d{6}$",
        label="Six-digit code",
        error_messages={"invalid": "Enter the six digits your authenticator app shows."},
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )


@login_required
@require_http_methods(["GET", "POST"])
def otp_setup(request):
    if two_factor.confirmed_device(request.user) is not None:
        return redirect("site:otp_verify")
    device = two_factor.totp_device_pending(user=request.user)
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if two_factor.totp_enrol_confirm(
            request=request, device=device, token=form.cleaned_data["token"]
        ):
            messages.success(request, "Two-factor authentication is on.")
            return redirect(two_factor.safe_next(request, "/"))
        form.add_error("token", "That code is not right; check your device's clock and retry.")
    return render(
        request,
        "accounts/otp_setup.html",
        {
            "form": form,
            "qr": two_factor.totp_qr_data_uri(device),
            "secret": two_factor.totp_secret_b32(device),
            "next": request.GET.get("next", ""),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def otp_verify(request):
    if two_factor.confirmed_device(request.user) is None:
        return redirect("site:otp_setup")
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if two_factor.totp_verify(request=request, token=form.cleaned_data["token"]):
            return redirect(two_factor.safe_next(request, "/"))
        form.add_error("token", "That code is not right (or too many tries: wait and retry).")
    return render(
        request, "accounts/otp_verify.html", {"form": form, "next": request.GET.get("next", "")}
    )
