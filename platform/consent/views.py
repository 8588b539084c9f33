"""Portal pages for portrait owners (identities, verification, consent) and verifiers (review).
Thin: fetch, check who may see it, call a service, render."""

from __future__ import annotations

import functools
import json

from django.conf import settings
from django.contrib import messages
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from accounts.models import Role
from core.errors import USER_FACING_ERRORS
from core.permissions import role_required
from core.review import review_page
from policy.purposes import purpose_label
from provenance.media import SNIFF_BYTES, sniff_bytes

from . import portraits, selectors, services
from . import verification as identity_verification
from .forms import ClipUploadForm, GrantForm, IdentityForm, PortraitForm
from .models import (
    ConsentReceipt,
    Identity,
    IdentityVerification,
    ReferencePortrait,
    VerificationStatus,
)
from .parties import organisations_reach


@role_required(Role.OWNER)
@require_http_methods(["GET", "POST"])
def identity_list(request):
    form = IdentityForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            identity = services.identity_create(
                owner=request.user, display_name=form.cleaned_data["display_name"]
            )
        except USER_FACING_ERRORS as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, "Identity added. Now enrol a reference portrait.")
            return redirect("consent:identity_detail", identity.pk)
    return render(
        request,
        "consent/identity_list.html",
        {"identities": selectors.identity_list_for_owner(owner=request.user), "form": form},
    )


@role_required(Role.OWNER)
def identity_detail(request, pk: int):
    identity = selectors.identity_get_owned(owner=request.user, pk=pk)
    return render(
        request,
        "consent/identity_detail.html",
        {
            "identity": identity,
            "portraits": identity.portraits.filter(deleted_at__isnull=True),
            "portrait_form": PortraitForm(),
            "verification": selectors.verification_latest(identity=identity),
            "grants": selectors.grant_list_for_identity(identity=identity),
        },
    )


@role_required(Role.OWNER)
@require_POST
def portrait_enrol(request, pk: int):
    identity = selectors.identity_get_owned(owner=request.user, pk=pk)
    form = PortraitForm(request.POST, request.FILES)
    if form.is_valid():
        upload = form.cleaned_data["portrait"]
        if upload.size > settings.CONSENT_PORTRAIT_MAX_BYTES:
            messages.error(request, "The portrait is too large.")
            return redirect("consent:identity_detail", identity.pk)
        try:
            portraits.portrait_enrol(
                identity=identity, owner=request.user, data=upload.read(), filename=upload.name
            )
        except USER_FACING_ERRORS as error:
            messages.error(request, error.message)
        else:
            messages.success(request, "Reference portrait enrolled: exactly one face found.")
    else:
        messages.error(request, "Choose a photo to upload.")
    return redirect("consent:identity_detail", identity.pk)


@role_required(Role.OWNER)
@require_POST
def likeness_protection(request, pk: int):
    identity = selectors.identity_get_owned(owner=request.user, pk=pk)
    enabled = request.POST.get("enabled") == "on"
    services.identity_likeness_protection_set(
        identity=identity, owner=request.user, enabled=enabled
    )
    messages.success(
        request,
        "Likeness protection is on: the detector flags uploads showing your face."
        if enabled
        else "Likeness protection is off.",
    )
    return redirect("consent:identity_detail", identity.pk)


@role_required(Role.OWNER, Role.VERIFIER, Role.ADMIN)
def portrait_image(request, pk: int):
    portrait = get_object_or_404(ReferencePortrait.objects.select_related("identity"), pk=pk)
    _may_see_biometrics(request, portrait.identity)
    if not portrait.file:
        raise Http404
    return _stored_file_response(portrait.file)


def _stored_file_response(field) -> FileResponse:
    """Serve a stored portrait or recording (checked on the way in) as what its bytes say it is."""
    handle = field.open("rb")
    sniffed = sniff_bytes(handle.read(SNIFF_BYTES))
    handle.seek(0)
    return FileResponse(
        handle, content_type=sniffed.media_type if sniffed else "application/octet-stream"
    )


def _may_see_biometrics(request, identity: Identity) -> None:
    if identity.owner_id == request.user.pk or request.user.has_role(Role.VERIFIER, Role.ADMIN):
        return
    raise Http404


@role_required(Role.OWNER)
@require_http_methods(["GET", "POST"])
def verification_page(request, pk: int):
    identity = selectors.identity_get_owned(owner=request.user, pk=pk)
    if request.method == "POST":
        try:
            identity_verification.verification_start(identity=identity, owner=request.user)
        except USER_FACING_ERRORS as error:
            messages.error(request, error.message)
        return redirect("consent:verification_page", identity.pk)
    verification = selectors.verification_latest(identity=identity)
    return render(
        request,
        "consent/verification.html",
        {
            "identity": identity,
            "verification": verification,
            "awaiting": verification is not None
            and verification.status == VerificationStatus.AWAITING_CLIP
            and verification.code_used_at is None,
            "allow_upload": settings.CONSENT_ALLOW_CLIP_UPLOAD,
            "operator": settings.PLATFORM_OPERATOR,
            "upload_form": ClipUploadForm(),
            "min_seconds": settings.CONSENT_CLIP_MIN_SECONDS,
            "max_seconds": settings.CONSENT_CLIP_MAX_SECONDS,
        },
    )


@role_required(Role.OWNER)
@require_POST
def verification_clip(request, pk: int):
    """Receives the MediaRecorder blob (record.js) or, when allowed, an uploaded file."""
    verification = selectors.verification_get_owned(owner=request.user, pk=pk)
    upload = request.FILES.get("clip")
    source = "recording" if request.POST.get("source") == "recording" else "upload"
    if upload is None:
        messages.error(request, "No recording arrived. Try again.")
    elif upload.size > settings.CONSENT_CLIP_MAX_BYTES:
        messages.error(request, "The recording is too large.")
    else:
        try:
            result = identity_verification.verification_submit_clip(
                verification=verification,
                owner=request.user,
                data=upload.read(),
                source=source,
                nonce=request.POST.get("nonce", "")[:100],
            )
        except USER_FACING_ERRORS as error:
            messages.error(request, error.message)
        else:
            if result.status == VerificationStatus.PENDING_REVIEW:
                messages.success(request, "Checks passed. A verifier will review your recording.")
            else:
                messages.error(
                    request, "Automatic checks failed: " + " ".join(result.checks["failures"])
                )
    return redirect("consent:verification_page", verification.identity_id)


@role_required(Role.OWNER, Role.VERIFIER, Role.ADMIN)
def verification_clip_media(request, pk: int):
    verification = get_object_or_404(IdentityVerification.objects.select_related("identity"), pk=pk)
    _may_see_biometrics(request, verification.identity)
    if not verification.clip:
        raise Http404
    return _stored_file_response(verification.clip)


@role_required(Role.VERIFIER, Role.ADMIN)
def verification_queue(request):
    return render(
        request,
        "consent/verification_queue.html",
        {
            "pending": selectors.verification_queue(),
            "reviewed": selectors.verification_recently_reviewed(),
        },
    )


@role_required(Role.VERIFIER, Role.ADMIN)
@require_http_methods(["GET", "POST"])
def verification_review(request, pk: int):
    verification = get_object_or_404(
        IdentityVerification.objects.select_related("identity", "identity__owner"), pk=pk
    )
    return review_page(
        request,
        decide=functools.partial(
            identity_verification.verification_review,
            verification=verification,
            verifier=request.user,
        ),
        template="consent/verification_review.html",
        context={
            "verification": verification,
            "portraits": verification.identity.portraits.filter(deleted_at__isnull=True),
            "same_face": selectors.identity_face_matches(identity=verification.identity),
            "threshold": settings.CONSENT_FACE_MATCH_THRESHOLD,
        },
        done_url=reverse("consent:verification_queue"),
    )


@role_required(Role.OWNER)
@require_http_methods(["GET", "POST"])
def grant_create(request, pk: int):
    identity = selectors.identity_get_owned(owner=request.user, pk=pk)
    form = GrantForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            grant = services.consent_grant(
                identity=identity,
                owner=request.user,
                base_url=selectors.receipt_base_url(request=request),
                scope=form.scope(),
            )
        except USER_FACING_ERRORS as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, "Consent granted. Your signed receipt is below.")
            return redirect("consent:grant_detail", grant.pk)
    return render(
        request, "consent/grant_form.html", {"identity": identity, "form": form, "grant": None}
    )


@role_required(Role.OWNER)
@require_http_methods(["GET", "POST"])
def grant_change(request, pk: int):
    grant = selectors.grant_get_owned(owner=request.user, pk=pk)
    form = GrantForm(request.POST or None, initial=GrantForm.initial_from_grant(grant), grant=grant)
    if request.method == "POST" and form.is_valid():
        try:
            new = services.consent_change(
                grant=grant,
                owner=request.user,
                base_url=selectors.receipt_base_url(request=request),
                scope=form.scope(),
            )
        except USER_FACING_ERRORS as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, f"Consent changed: this is version {new.version}.")
            return redirect("consent:grant_detail", new.pk)
    return render(
        request,
        "consent/grant_form.html",
        {"identity": grant.identity, "form": form, "grant": grant},
    )


@role_required(Role.OWNER)
def grant_detail(request, pk: int):
    grant = selectors.grant_get_owned(owner=request.user, pk=pk)
    receipt = selectors.receipt_for_grant(grant=grant)
    return render(
        request,
        "consent/grant_detail.html",
        {
            "grant": grant,
            "current": selectors.grant_series_current(grant=grant),
            "reach": organisations_reach(grant.organisations.order_by("name")),
            "purposes": [purpose_label(code) for code in grant.purposes],
            "receipt": receipt,
            "receipts": ConsentReceipt.objects.filter(grant__series=grant.series),
            "receipt_json": json.dumps(receipt.document, indent=2) if receipt else "",
        },
    )


@role_required(Role.OWNER)
@require_http_methods(["GET", "POST"])
def grant_revoke(request, pk: int):
    """GET: the confirmation page the receipts' withdrawal link opens. POST: withdraw now."""
    grant = selectors.grant_get_owned(owner=request.user, pk=pk)
    if request.method == "POST":
        try:
            revoked = services.consent_revoke(
                grant=grant,
                owner=request.user,
                base_url=selectors.receipt_base_url(request=request),
            )
        except USER_FACING_ERRORS as error:
            messages.error(request, error.message)
            return redirect("consent:grant_detail", grant.pk)
        messages.success(
            request,
            "Consent withdrawn. New requests are refused, queued and running jobs are stopped "
            "and earlier videos are marked revoked.",
        )
        return redirect("consent:grant_detail", revoked.pk)
    return render(
        request,
        "consent/grant_revoke.html",
        {"grant": grant, "current": selectors.grant_series_current(grant=grant)},
    )


@role_required(Role.OWNER)
def receipt_download(request, receipt_id):
    receipt = get_object_or_404(
        ConsentReceipt, receipt_id=receipt_id, grant__identity__owner=request.user
    )
    response = HttpResponse(
        json.dumps(receipt.document, indent=2, ensure_ascii=False),
        content_type="application/json",
    )
    response["Content-Disposition"] = f'attachment; filename="consent-receipt-{receipt_id}.json"'
    return response


@role_required(Role.OWNER)
@require_http_methods(["GET", "POST"])
def biometrics_delete(request, pk: int):
    identity = selectors.identity_get_owned(owner=request.user, pk=pk)
    if request.method == "POST":
        try:
            services.identity_biometrics_delete(
                identity=identity,
                owner=request.user,
                base_url=selectors.receipt_base_url(request=request),
            )
        except USER_FACING_ERRORS as error:
            messages.error(request, error.message)
        else:
            messages.success(
                request,
                "Your portraits, face descriptors and recordings are deleted; only their hashes "
                "remain for the receipts and the audit log.",
            )
        return redirect("consent:identity_detail", identity.pk)
    return render(request, "consent/biometrics_delete.html", {"identity": identity})
