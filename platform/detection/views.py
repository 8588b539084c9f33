"""Portal pages: the public upload form and verdict page, owners' likeness alerts, and the
auditors' full view of a detection with the record's decision trail. Thin: forms + services."""

from __future__ import annotations

import json
import math

from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from accounts.models import Role
from core.errors import ApplicationError
from core.permissions import role_required
from provenance.errors import ProvenanceError

from . import selectors, services
from .forms import DetectionUploadForm
from .presenters import detection_for_auditor, detection_public, timeline_bars
from .throttling import portal_upload_allowed


@require_http_methods(["GET", "POST"])
def upload(request):
    if request.method != "POST":
        return render(request, "detection/upload.html", {"form": DetectionUploadForm()})
    form = DetectionUploadForm(request.POST, request.FILES)
    allowed, wait = portal_upload_allowed(request)
    if not allowed:
        form.add_error(None, f"Too many checks; try again in {math.ceil(wait or 60)} s.")
        return render(request, "detection/upload.html", {"form": form}, status=429)
    if form.is_valid():
        try:
            result = services.detection_check_upload(
                upload=form.cleaned_data["file"], actor=request.user
            )
        except ProvenanceError as error:
            form.add_error("file", error.message)
        except ApplicationError as error:  # detection_busy
            form.add_error(None, error.message)
            return render(
                request, "detection/upload.html", {"form": form}, status=error.status_code
            )
        else:
            return redirect("detection:verdict", pk=result.detection_id)
    return render(request, "detection/upload.html", {"form": form}, status=400)


def verdict(request, pk):
    detection = selectors.detection_get(detection_id=pk)
    if detection is None:
        raise Http404
    result = detection_public(detection)
    return render(
        request,
        "detection/verdict.html",
        {"result": result, "timeline_bars": timeline_bars(result)},
    )


@role_required(Role.OWNER)
def alerts(request):
    listed = list(selectors.likeness_alerts_for_owner(owner=request.user))
    services.likeness_alerts_mark_seen(owner=request.user)
    return render(request, "detection/alerts.html", {"alerts": listed})


@role_required(Role.AUDITOR, Role.ADMIN)
def audit_list(request):
    return render(
        request, "detection/audit_list.html", {"detections": selectors.detection_list_recent()}
    )


@role_required(Role.AUDITOR, Role.ADMIN)
def audit_detail(request, pk):
    detection = selectors.detection_get(detection_id=pk)
    if detection is None:
        raise Http404
    record = detection.record
    trail = selectors.record_audit_trail(record=record) if record is not None else []
    result = detection_for_auditor(detection)
    return render(
        request,
        "detection/audit_detail.html",
        {
            "detection": detection,
            "result": result,
            "timeline_bars": timeline_bars(result),
            "summary_json": json.dumps(detection.summary, indent=2, sort_keys=True),
            "record": record,
            "consent_status": selectors.record_consent_status(record) if record else "",
            "trail": trail,
            "alerts": detection.alerts.select_related("identity", "owner"),
        },
    )
