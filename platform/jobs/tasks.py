"""The generation task: a thin Celery interface over jobs.run.job_run."""

from __future__ import annotations

import logging

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from celery.signals import worker_process_init
from django.conf import settings
from kombu.exceptions import OperationalError

from generator.pipeline import load_models as load_generator_models
from provenance.watermark import load_models as load_watermark_models

from .errors import JobRefusedError
from .finish import job_fail
from .models import GenerationJob
from .reaper import job_reap_stale
from .run import job_run

logger = logging.getLogger(__name__)


def load_job_models() -> None:
    """Load the generator's and the watermark's models into this process (~2 s, once)."""
    load_generator_models()
    load_watermark_models()


@worker_process_init.connect
def _load_models_at_worker_start(**kwargs) -> None:
    """Each worker process loads its models before its first job, not during it: a job's time
    from ticket to signed file is then rendering and publishing only."""
    load_job_models()


@shared_task(
    name="jobs.run_generation",
    bind=True,
    # Acknowledge after the work: a worker that dies mid-job leaves the message to be redelivered,
    # and job_run is idempotent (a final job is skipped, leftovers are removed first).
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=settings.JOBS_SOFT_TIME_LIMIT,
    time_limit=settings.JOBS_HARD_TIME_LIMIT,
    max_retries=None,
)
def run_generation(self, job_id: int) -> str:
    """Run generation job `job_id` once (idempotent). Returns the outcome's status."""
    try:
        outcome = job_run(job_id=job_id)
    except SoftTimeLimitExceeded:
        job_fail(
            job=GenerationJob.objects.get(pk=job_id),
            error=JobRefusedError(
                "The job ran past its time limit and was stopped.", code="time_limit"
            ),
        )
        return "failed"
    if outcome.status == "busy":
        # Another attempt is alive and owns the job: look again once its lease could lapse.
        raise self.retry(countdown=settings.JOBS_LEASE_SECONDS)
    logger.info("generation job %s: %s", job_id, outcome.status)
    return outcome.status


def job_enqueue(*, job_id: int) -> None:
    """Hand the job to a worker (or run it here when Celery is eager).

    Runs after commit: if the broker cannot take the task, the job is failed with that reason
    rather than left queued forever behind a request that already succeeded.
    """
    try:
        run_generation.delay(job_id)
    except (OperationalError, OSError) as error:
        logger.exception("could not enqueue generation job %s", job_id)
        job = GenerationJob.objects.get(pk=job_id)
        job_fail(
            job=job,
            error=JobRefusedError(
                f"The job queue is unavailable: {error}", code="queue_unavailable"
            ),
        )


@shared_task(name="jobs.reap_stale")
def reap_stale() -> dict:
    """Every JOBS_REAP_SECONDS from beat: requeue or fail jobs whose worker died (jobs.reaper)."""
    report = job_reap_stale()
    for job_id in report.requeued:  # after the reaper's commit: a worker sees them queued
        job_enqueue(job_id=job_id)
    if report.requeued or report.failed:
        logger.warning("reaped jobs: requeued %s, failed %s", report.requeued, report.failed)
    return {"requeued": list(report.requeued), "failed": list(report.failed)}
