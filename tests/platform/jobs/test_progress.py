"""Progress: throttled saves (at most ~4 a second), a revoked job stops at its next save."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from jobs.models import GenerationJob, JobStage, JobStatus
from jobs.progress import JobCancelledError, ProgressWriter
from jobs.revocation import job_revocation_apply


@pytest.fixture
def running_job(grant, submit):
    job = submit()
    GenerationJob.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING, run_token="t" * 32)
    job.refresh_from_db()
    return job


@pytest.mark.django_db
def test_a_burst_of_frames_costs_at_most_one_save(running_job):
    writer = ProgressWriter(running_job.pk, running_job.run_token, frames_total=1000)
    writer.stage(JobStage.RENDERING)
    with CaptureQueriesContext(connection) as queries:
        for frame in range(1, 200):
            writer.frame(frame)
    assert len([q for q in queries if q["sql"].startswith("UPDATE")]) <= 1


@pytest.mark.django_db
def test_the_last_frame_is_always_saved_and_moves_to_publishing(running_job):
    writer = ProgressWriter(running_job.pk, running_job.run_token, frames_total=10)
    writer.stage(JobStage.RENDERING)
    for frame in range(1, 11):
        writer.frame(frame)
    running_job.refresh_from_db()
    assert (running_job.stage, running_job.frames_done) == (JobStage.PUBLISHING, 10)
    assert 0.9 <= running_job.progress < 1.0


@pytest.mark.django_db
def test_a_revoked_job_stops_at_its_next_progress_save(running_job, grant, owner):
    writer = ProgressWriter(running_job.pk, running_job.run_token, frames_total=10)
    job_revocation_apply(grant=grant, actor=owner)
    with pytest.raises(JobCancelledError):
        writer.stage(JobStage.RENDERING)


@pytest.mark.django_db
def test_an_attempt_that_lost_the_job_cannot_write_progress(running_job):
    writer = ProgressWriter(running_job.pk, "someone-else", frames_total=10)
    with pytest.raises(JobCancelledError):
        writer.stage(JobStage.ANALYSING)
