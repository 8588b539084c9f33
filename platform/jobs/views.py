"""Requester portal: dashboard, new video, job list, live job page, result, video and download.

Thin: forms and selectors in, services out. Files are only ever served here, after the checks.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, JsonResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_GET, require_http_methods

from accounts.models import Role
from accounts.selectors import requester_is_approved
from consent.models import Identity
from consent.selectors import identities_for_requester
from core.errors import USER_FACING_ERRORS, ApplicationError
from core.permissions import role_required

from . import selectors, services
from .forms import NewVideoForm
from .inputs import media_path
from .media_links import output_view_token, output_view_token_valid
from .progress import job_eta_seconds
from .provenance_panel import provenance_panel


def _approved_requester(request) -> None:
    if not requester_is_approved(user=request.user):
        raise PermissionDenied


def _own_job(request, pk: int):
    job = selectors.job_get_for_requester(requester=request.user, job_id=pk)
    if job is None:
        raise Http404
    return job


def job_status_payload(job) -> dict:
    """What the job page's script and the API show about a job."""
    return {
        "id": job.pk,
        "status": job.status,
        "stage": job.stage,
        "stage_label": job.get_stage_display(),
        "progress": round(job.progress, 4),
        "percent": round(job.progress * 100),
        "frames_done": job.frames_done,
        "frames_total": job.frames_total,
        "eta_seconds": job_eta_seconds(job),
        "failure_code": job.failure_code,
        "failure_reason": job.failure_reason,
        "created_at": job.created_at.isoformat(),
        "finished_at": job.finished_at.isoformat() if job.finished_at else None,
    }


@role_required(Role.REQUESTER)
def dashboard(request):
    approved = requester_is_approved(user=request.user)
    rows = identities_for_requester(requester=request.user) if approved else []
    return render(
        request,
        "jobs/dashboard.html",
        {
            "approved": approved,
            "rows": rows,
            "jobs": selectors.job_list_for_requester(requester=request.user)[:5],
        },
    )


@role_required(Role.REQUESTER)
@require_http_methods(["GET", "POST"])
def job_new(request):
    _approved_requester(request)
    identities = identities_for_requester(requester=request.user)
    initial = {"identity": request.GET.get("identity")} if request.GET.get("identity") else None
    form = NewVideoForm(
        request.POST or None, request.FILES or None, identities=identities, initial=initial
    )
    denial = None
    if request.method == "POST" and form.is_valid():
        identity = Identity.objects.filter(pk=form.cleaned_data["identity"]).first()
        try:
            if identity is None:
                raise ApplicationError("No such person.", code="identity_unknown")
            job = services.job_submit(
                requester=request.user,
                identity=identity,
                purpose=form.cleaned_data["purpose"],
                audio_file=form.cleaned_data["audio"],
                portrait_file=form.cleaned_data.get("portrait"),
                controls=form.controls(),
            )
        except services.PolicyDenied as denied:
            denial = denied.reasons
            form.add_error(None, "The policy denied this request.")
        except USER_FACING_ERRORS as error:
            form.add_error(None, error.message)
        else:
            return redirect("jobs:detail", pk=job.pk)
    return render(request, "jobs/new.html", {"form": form, "denial": denial})


@role_required(Role.REQUESTER)
def job_list(request):
    return render(
        request,
        "jobs/list.html",
        {"jobs": selectors.job_list_for_requester(requester=request.user)},
    )


@role_required(Role.REQUESTER)
def job_detail(request, pk: int):
    job = _own_job(request, pk)
    if job.status == "done":
        return redirect("jobs:result", pk=job.pk)
    return render(
        request,
        "jobs/detail.html",
        {"job": job, "status": job_status_payload(job)},
    )


@role_required(Role.REQUESTER)
@require_GET
def job_status(request, pk: int):
    job = _own_job(request, pk)
    payload = job_status_payload(job)
    payload["result_url"] = reverse("jobs:result", args=[job.pk]) if job.status == "done" else None
    return JsonResponse(payload)


@role_required(Role.REQUESTER)
def job_result(request, pk: int):
    job = _own_job(request, pk)
    record = selectors.output_for_job(job=job)
    if record is None:
        return redirect("jobs:detail", pk=job.pk)
    receipt_url = None
    panel = provenance_panel(record)
    if panel.receipt_id:
        try:
            receipt_url = reverse("consent:receipt_download", args=[panel.receipt_id])
        except NoReverseMatch:
            receipt_url = None
    access = selectors.output_access(record=record)
    video_url = None
    if access.may_view:
        token = output_view_token(record=record, user=request.user)
        video_url = f"{reverse('jobs:video', args=[job.pk])}?{urlencode({'t': token})}"
    response = render(
        request,
        "jobs/result.html",
        {
            "job": job,
            "record": record,
            "panel": panel,
            "receipt_url": receipt_url,
            "access": access,
            "video_url": video_url,
        },
    )
    response["Cache-Control"] = "private, no-store"  # it holds a signed player link
    return response


def _output_file(record, *, attachment: bool) -> FileResponse:
    response = FileResponse(
        open(media_path(record.file_path), "rb"),  # noqa: SIM115 - FileResponse closes it
        content_type="video/mp4",
        as_attachment=attachment,
        filename=f"talking-face-{record.pk}.mp4",
    )
    response["Cache-Control"] = "private, no-store"
    return response


def _own_record(request, pk: int):
    record = selectors.output_for_job(job=_own_job(request, pk))
    if record is None:
        raise Http404
    return record


@role_required(Role.REQUESTER)
@require_GET
def job_video(request, pk: int):
    """The video for the player (inline), only through the result page's fresh signed link and
    only while the consent lets the requester view it."""
    record = _own_record(request, pk)
    if not selectors.output_access(record=record).may_view:
        raise PermissionDenied
    if not output_view_token_valid(request.GET.get("t", ""), record=record, user=request.user):
        raise PermissionDenied
    return _output_file(record, attachment=False)


@role_required(Role.REQUESTER)
@require_GET
def job_download(request, pk: int):
    """The file as a download, only when the consent allows downloads."""
    record = _own_record(request, pk)
    if not selectors.output_access(record=record).may_download:
        raise PermissionDenied
    return _output_file(record, attachment=True)
