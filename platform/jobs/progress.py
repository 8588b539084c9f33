"""Progress of a running job: stage weights, throttled saves, ETA.

The bar covers the whole job, so each stage owns a slice of it. Rendering and encoding happen in
one streaming pass (publish consumes frames as the generator makes them), so the rendering slice
moves with frames encoded; the tail (watermark check, consent re-check, C2PA signing) is short.
"""

from __future__ import annotations

import time
from datetime import timedelta

from django.utils import timezone

from .models import GenerationJob, JobStage, JobStatus

# Slice of the bar at which each stage starts.
STAGE_START = {
    JobStage.QUEUED: 0.0,
    JobStage.ANALYSING: 0.02,
    JobStage.RENDERING: 0.08,
    JobStage.PUBLISHING: 0.92,
    JobStage.SIGNING: 0.96,
    JobStage.DONE: 1.0,
}
SAVE_EVERY_S = 0.25  # at most ~4 progress writes a second: the DB is shared with the web


class JobCancelledError(Exception):
    """The job row left the running state under us (revocation or a cancel): stop now."""


class ProgressWriter:
    """Saves stage and progress of one running job, throttled; raises JobCancelledError when the
    row is no longer running (so a revoked job stops rendering at the next frame)."""

    def __init__(self, job_id: int, run_token: str, frames_total: int) -> None:
        self.job_id = job_id
        self.run_token = run_token
        self.frames_total = max(1, frames_total)
        self._last_save = 0.0

    def stage(self, stage: str, within: float = 0.0) -> None:
        """Enter `stage` (or move `within` it, 0..1 of its slice, for steps without frames)."""
        stages = list(STAGE_START)
        start = STAGE_START[stage]
        following = stages[stages.index(stage) + 1] if stage != JobStage.DONE else stage
        progress = start + (STAGE_START[following] - start) * min(max(within, 0.0), 1.0)
        self._save(stage=stage, progress=progress, force=True)

    def frame(self, frames_done: int) -> None:
        """Called after each encoded frame."""
        last = frames_done >= self.frames_total
        if not last and time.monotonic() - self._last_save < SAVE_EVERY_S:
            return
        span = STAGE_START[JobStage.PUBLISHING] - STAGE_START[JobStage.RENDERING]
        fraction = min(1.0, frames_done / self.frames_total)
        if last:
            self._save(
                stage=JobStage.PUBLISHING,
                progress=STAGE_START[JobStage.PUBLISHING],
                frames_done=frames_done,
                force=True,
            )
        else:
            self._save(
                stage=JobStage.RENDERING,
                progress=STAGE_START[JobStage.RENDERING] + span * fraction,
                frames_done=frames_done,
                force=True,
            )

    def _save(self, *, stage: str, progress: float, force: bool, frames_done: int | None = None):
        fields = {"stage": stage, "progress": round(progress, 4), "progress_at": timezone.now()}
        if frames_done is not None:
            fields["frames_done"] = frames_done
        updated = GenerationJob.objects.filter(
            pk=self.job_id, status=JobStatus.RUNNING, run_token=self.run_token
        ).update(**fields)
        self._last_save = time.monotonic()
        if not updated:
            raise JobCancelledError(f"job {self.job_id} is no longer running for this worker")


def job_eta_seconds(job: GenerationJob) -> float | None:
    """Seconds left, from the frame rate so far; None before rendering has a rate."""
    if job.status != JobStatus.RUNNING or not job.started_at or not job.progress_at:
        return None
    if job.stage in (JobStage.PUBLISHING, JobStage.SIGNING):
        return 3.0  # watermark check + signing take a few seconds whatever the length
    if job.stage != JobStage.RENDERING or job.frames_done <= 0 or job.frames_total <= 0:
        return None
    elapsed = (job.progress_at - job.started_at) / timedelta(seconds=1)
    rate = job.frames_done / max(elapsed, 1e-3)
    return round((job.frames_total - job.frames_done) / rate + 3.0, 1)
