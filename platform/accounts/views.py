"""Portal pages for sign-up, requester applications and their review. Thin: forms + services."""

from __future__ import annotations

import functools
import math

from django.contrib import messages
from django.contrib.auth import login
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from core.errors import USER_FACING_ERRORS
from core.permissions import role_required
from core.review import review_page
from core.throttling import portal_rate_allowed

from . import selectors, services
from .forms import ApplicationForm, SignUpForm
from .models import RequesterApplication, Role


@require_http_methods(["GET", "POST"])
def sign_up(request):
    form = SignUpForm(request.POST or None)
    if request.method == "POST":
        # The form shares the sign-up API's rate limit (per client address).
        allowed, wait = portal_rate_allowed(request, "signup")
        if not allowed:
            form = SignUpForm(request.POST)  # bound even when empty: add_error needs that
            form.is_valid()
            form.add_error(None, f"Too many sign-ups; try again in {math.ceil(wait or 60)} s.")
            return render(request, "accounts/sign_up.html", {"form": form}, status=429)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.user_sign_up(**form.cleaned_data)
        except USER_FACING_ERRORS as error:
            form.add_error(None, error.message)
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, "Welcome! Your account is ready.")
            return redirect("accounts:apply" if user.role == Role.REQUESTER else "site:home")
    return render(request, "accounts/sign_up.html", {"form": form})


@role_required(Role.REQUESTER)
@require_http_methods(["GET", "POST"])
def apply(request):
    latest = selectors.requester_latest_application(requester=request.user)
    form = ApplicationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.requester_application_submit(
                requester=request.user,
                organisation_name=form.cleaned_data["organisation"],
                invitation_code=form.cleaned_data["invitation_code"],
                intended_use=form.cleaned_data["intended_use"],
                accept_use_policy=form.cleaned_data["accept_use_policy"],
            )
        except USER_FACING_ERRORS as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, "Application sent. A verifier will review it.")
            return redirect("site:home")
    return render(request, "accounts/apply.html", {"form": form, "latest": latest})


@role_required(Role.REQUESTER)
@require_http_methods(["GET", "POST"])
def organisation(request):
    """The requester's organisation: its members, and invitations for its admin to give out."""
    own = selectors.requester_organisation(requester=request.user)
    code = None
    if request.method == "POST" and own is not None:
        try:
            _, code = services.organisation_invitation_create(
                organisation=own, inviter=request.user
            )
        except USER_FACING_ERRORS as error:
            messages.error(request, error.message)
    return render(
        request,
        "accounts/organisation.html",
        {
            "organisation": own,
            "members": selectors.organisation_members(organisation=own) if own else [],
            "is_admin": own is not None and own.admin_id == request.user.pk,
            "invitation_code": code,
            "invitation_days": services.INVITATION_DAYS,
        },
    )


@role_required(Role.VERIFIER, Role.ADMIN)
def application_queue(request):
    return render(
        request,
        "accounts/application_queue.html",
        {
            "pending": selectors.application_list_pending(),
            "reviewed": selectors.application_list_reviewed(),
        },
    )


@role_required(Role.VERIFIER, Role.ADMIN)
@require_http_methods(["GET", "POST"])
def application_review(request, pk: int):
    application = get_object_or_404(
        RequesterApplication.objects.select_related(
            "requester", "organisation", "invitation__created_by"
        ),
        pk=pk,
    )
    return review_page(
        request,
        decide=functools.partial(
            services.requester_application_review, application=application, verifier=request.user
        ),
        template="accounts/application_review.html",
        context={
            "application": application,
            "member_count": application.organisation.members.count(),
        },
        done_url=reverse("accounts:application_queue"),
    )


def home(request):
    """The home page: for a requester, where their application stands."""
    context = {}
    user = request.user
    if user.is_authenticated and user.role == Role.REQUESTER:
        context["approved"] = selectors.requester_is_approved(user=user)
        context["application"] = selectors.requester_latest_application(requester=user)
    return render(request, "accounts/home.html", context)
