"""Portal pages for portrait owners about the jobs made with their likeness (the list and its CSV
export). They live in jobs because they read jobs; consent links to them."""

from __future__ import annotations

import csv

from django.http import HttpResponse
from django.shortcuts import render

from accounts.models import Role
from consent.selectors import identity_get_owned
from core.permissions import role_required

from . import selectors


@role_required(Role.OWNER)
def likeness_uses(request, pk: int):
    identity = identity_get_owned(owner=request.user, pk=pk)
    return render(
        request,
        "jobs/likeness_uses.html",
        {"identity": identity, "uses": selectors.likeness_uses_for_identity(identity=identity)},
    )


CSV_COLUMNS = (
    "job_id",
    "created_at",
    "requester",
    "organisation",
    "purpose",
    "status",
    "grant_id",
    "grant_version",
    "published_at",
    "output_revoked_at",
)


@role_required(Role.OWNER)
def likeness_uses_csv(request, pk: int):
    identity = identity_get_owned(owner=request.user, pk=pk)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="generations-identity-{pk}.csv"'
    writer = csv.writer(response)
    writer.writerow(CSV_COLUMNS)
    for use in selectors.likeness_uses_for_identity(identity=identity):
        writer.writerow([_csv_cell(getattr(use, column)) for column in CSV_COLUMNS])
    return response


def _csv_cell(value) -> str:
    if value is None:
        return ""
    text = value.isoformat() if hasattr(value, "isoformat") else str(value)
    # Requester names are user input: stop spreadsheets from running them as formulas.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
