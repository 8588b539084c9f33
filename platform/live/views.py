"""The requester's Live page: pick a consenting person whose grant allows live use, talk, see
their face answer. The page only draws; signalling goes through /api/v1/live/sessions."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.shortcuts import render
from django.views.decorators.http import require_GET

from accounts.models import Role
from accounts.selectors import requester_is_approved
from consent.selectors import identities_for_requester
from core.permissions import role_required


@role_required(Role.REQUESTER)
@require_GET
def live_page(request):
    if not requester_is_approved(user=request.user):
        raise PermissionDenied
    people = [
        (identity, grant)
        for identity, grant in identities_for_requester(requester=request.user)
        if grant.allow_live
    ]
    return render(request, "live/live.html", {"people": people})
