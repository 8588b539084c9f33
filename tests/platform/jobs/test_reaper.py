"""The reaper: a job whose worker died is queued again (bounded) or failed with a reason, and
what the dead attempt left on disk is removed. Real worker kills are in test_servers.py."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from audit.models import AuditEvent
from jobs.models import GenerationJob, JobStatus
from jobs.reaper import job_reap_stale

pytestmark = pytest.mark.django_db(transaction=True)  # files go on commit


def _running(job, *, attempts: int, silent_for: float) -> Path:
    """Make `job` look like an attempt that wrote its last progress `silent_for` seconds ago and
    left a partial file behind (what a SIGKILL leaves)."""
    GenerationJob.objects.filter(pk=job.pk).update(
        status=JobStatus.RUNNING,
        stage="rendering",
        attempts=attempts,
        run_token="dead-attempt",
        progress=0.31,
        started_at=timezone.now() - timedelta(seconds=silent_for + 5),
        progress_at=timezone.now() - timedelta(seconds=silent_for),
    )
    partial = Path(settings.MEDIA_ROOT) / "outputs" / str(job.pk) / ".x.mp4.ab12.unsigned.mp4"
    partial.parent.mkdir(parents=True)
    partial.write_bytes(b"partial")
    return partial


def test_a_running_job_whose_worker_went_silent_is_queued_again_without_its_partial_file(
    grant, submit
):
    job = submit()
    partial = _running(job, attempts=1, silent_for=settings.JOBS_LEASE_SECONDS + 1)
    report = job_reap_stale()
    assert report.requeued == (job.pk,) and report.failed == ()
    job.refresh_from_db()
    assert (job.status, job.stage, job.run_token, job.progress) == ("queued", "queued", "", 0.0)
    assert not partial.exists()
    assert (Path(settings.MEDIA_ROOT) / job.portrait_file).exists()  # the retry needs its inputs
    assert AuditEvent.objects.filter(action="job.requeued", subject_id=str(job.pk)).exists()
    assert job_reap_stale() == type(report)()  # requeued once, not at every tick


def test_a_job_whose_worker_died_too_often_fails_with_the_reason(grant, submit):
    job = submit()
    inputs = [
        Path(settings.MEDIA_ROOT) / job.audio_file,
        Path(settings.MEDIA_ROOT) / job.portrait_file,
    ]
    partial = _running(job, attempts=settings.JOBS_MAX_ATTEMPTS, silent_for=3600)
    assert job_reap_stale().failed == (job.pk,)
    job.refresh_from_db()
    assert (job.status, job.stage, job.failure_code) == ("failed", "failed", "worker_lost")
    assert f"stopped {settings.JOBS_MAX_ATTEMPTS} times" in job.failure_reason
    assert not partial.exists() and not any(path.exists() for path in inputs)
    event = AuditEvent.objects.get(action="job.failed", subject_id=str(job.pk))
    assert event.details["code"] == "worker_lost"


def test_a_job_whose_worker_still_reports_progress_is_left_alone(grant, submit):
    job = submit()
    partial = _running(job, attempts=1, silent_for=1)
    assert job_reap_stale() == type(job_reap_stale())()
    job.refresh_from_db()
    assert (job.status, job.run_token) == ("running", "dead-attempt")
    assert partial.exists()


def test_a_queued_job_no_worker_started_in_time_fails_with_the_reason(grant, submit):
    job = submit()
    GenerationJob.objects.filter(pk=job.pk).update(
        created_at=timezone.now() - timedelta(minutes=settings.JOBS_TICKET_MINUTES, seconds=1)
    )
    assert job_reap_stale().failed == (job.pk,)
    job.refresh_from_db()
    assert (job.status, job.failure_code) == ("failed", "queue_timeout")
    assert "No worker started this job" in job.failure_reason


def test_an_attempt_that_outlived_its_lease_leaves_the_new_attempts_job_and_files_alone(
    grant, submit
):
    from jobs.errors import JobRefusedError
    from jobs.finish import job_fail

    job = submit()
    _running(job, attempts=1, silent_for=settings.JOBS_LEASE_SECONDS + 1)
    slow = GenerationJob.objects.get(pk=job.pk)  # the attempt the reaper presumed dead
    job_reap_stale()
    GenerationJob.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING, run_token="next")
    new_partial = Path(settings.MEDIA_ROOT) / "outputs" / str(job.pk) / ".y.mp4.cd34.unsigned.mp4"
    new_partial.parent.mkdir(parents=True, exist_ok=True)
    new_partial.write_bytes(b"the next attempt's frames")

    # The slow attempt wakes up, finds its row taken and ends: nothing of the next one goes.
    job_fail(job=slow, error=JobRefusedError("taken", code="job_cancelled", cancel=True))
    job.refresh_from_db()
    assert (job.status, job.run_token) == ("running", "next")
    assert new_partial.exists()
