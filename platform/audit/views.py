"""Audit review pages for auditors (and admins): search, event + proof, export, reports.

Read-only apart from two audited side effects: an export is recorded (and signs a checkpoint so
it covers what it exports), and "verify now" records its result for the integrity panel.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from accounts.models import Role
from core.permissions import role_required

from . import selectors
from .exports import audit_export
from .forms import AuditFilterForm, ReportWindowForm
from .reports import audit_report
from .services import audit_verification_note
from .verification import verify_audit_log

REVIEW_ROLES = (Role.AUDITOR, Role.ADMIN)


@role_required(*REVIEW_ROLES)
@require_GET
def event_list(request):
    form = AuditFilterForm(request.GET or None)
    page = None
    if form.is_bound and not form.is_valid():
        filters = None
    else:
        if not form.is_bound:
            form = AuditFilterForm({})
            form.is_valid()
        filters = form.to_filter()
        page = selectors.audit_event_page(
            filters=filters,
            before=form.cleaned_data.get("before"),
            after=form.cleaned_data.get("after"),
        )
    query = urlencode(filters.as_query()) if filters else ""
    return render(
        request,
        "audit/event_list.html",
        {
            "form": form,
            "page": page,
            "query": query,
            "integrity": selectors.audit_integrity_status(),
            "actions": selectors.audit_distinct_actions(),
        },
    )


@role_required(*REVIEW_ROLES)
@require_GET
def event_detail(request, seq: int):
    event = selectors.audit_event_get(seq=seq)
    if event is None:
        raise Http404
    return render(
        request,
        "audit/event_detail.html",
        {
            "event": event,
            "proof": selectors.audit_event_proof(event=event),
            "integrity": selectors.audit_integrity_status(),
        },
    )


@role_required(*REVIEW_ROLES)
@require_GET
def export(request):
    fmt = request.GET.get("format", "jsonl")
    form = AuditFilterForm(request.GET)
    if fmt not in ("csv", "jsonl") or not form.is_valid():
        return HttpResponse("Invalid export request.", status=400, content_type="text/plain")
    result = audit_export(filters=form.to_filter(), fmt=fmt, actor=request.user)
    response = HttpResponse(result.content, content_type=result.content_type)
    response["Content-Disposition"] = f'attachment; filename="{result.filename}"'
    response["X-Audit-Export-Count"] = str(result.count)
    response["X-Audit-Export-Truncated"] = "1" if result.truncated else "0"
    return response


@role_required(*REVIEW_ROLES)
@require_GET
def reports(request):
    form = ReportWindowForm(request.GET or None)
    report = None
    if not form.is_bound or form.is_valid():
        data = form.cleaned_data if form.is_bound else {}
        report = audit_report(since=data.get("since"), until=data.get("until"))
    return render(request, "audit/reports.html", {"form": form, "report": report})


@role_required(*REVIEW_ROLES)
@require_POST
def verify_now(request):
    report = verify_audit_log()
    audit_verification_note(ok=report.ok)
    (messages.success if report.ok else messages.error)(request, report.summary())
    return redirect("audit:event_list")
