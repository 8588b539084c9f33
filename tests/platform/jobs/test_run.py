"""job_run: ticket and hashes checked, consent re-checked, one signed output, idempotent."""

from __future__ import annotations

import pytest
from django.conf import settings

from audit.models import AuditEvent
from jobs.models import GenerationJob, JobStage, JobStatus, OutputRecord
from jobs.revocation import job_revocation_apply
from jobs.run import job_run

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


def _media_files() -> list[str]:
    root = settings.MEDIA_ROOT
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def test_it_publishes_one_signed_output_registered_under_the_job_id(grant, submit):
    from provenance.c2pa_ca import ensure_platform_ca
    from provenance.manifest import read_manifest

    job = submit()
    outcome = job_run(job_id=job.pk)
    job.refresh_from_db()
    assert (outcome.status, job.status, job.stage, job.progress) == ("done", "done", "done", 1.0)
    record = OutputRecord.objects.get(pk=job.pk)
    path = settings.MEDIA_ROOT / record.file_path
    report = read_manifest(path, ensure_platform_ca(settings.PLATFORM_KEYS_DIR / "c2pa").root_pem)
    assert report.state == "trusted"
    assert report.manifest_id == record.manifest_id
    assert report.platform["record_id"] == str(job.pk)
    assert report.soft_binding["value"] == record.payload_hex
    assert record.frames == job.frames_total and record.consent_version == grant.version
    assert AuditEvent.objects.filter(action="job.published", subject_id=str(job.pk)).exists()
    # Only the inputs and the one signed output exist: no temporary or partial file.
    outputs = [name for name in _media_files() if name.startswith("outputs/")]
    assert outputs == [record.file_path]


def test_running_a_done_job_again_changes_nothing(grant, submit):
    job = submit()
    job_run(job_id=job.pk)
    before = _media_files()
    assert job_run(job_id=job.pk).status == "skipped"
    assert OutputRecord.objects.count() == 1
    assert _media_files() == before


def test_it_refuses_an_input_changed_after_the_decision(grant, submit):
    job = submit()
    with open(settings.MEDIA_ROOT / job.audio_file, "ab") as handle:
        handle.write(b"\0" * 64)
    assert job_run(job_id=job.pk).status == "failed"
    job.refresh_from_db()
    assert job.failure_code == "ticket_audio_mismatch"
    assert not OutputRecord.objects.exists()
    assert AuditEvent.objects.filter(action="job.failed", subject_id=str(job.pk)).exists()


def test_it_cancels_a_job_whose_consent_was_revoked_before_it_started(grant, submit):
    job = submit()
    grant.revoked_at = job.created_at
    grant.save(update_fields=["revoked_at"])
    assert job_run(job_id=job.pk).status == "cancelled"
    job.refresh_from_db()
    assert (job.status, job.failure_code) == (JobStatus.CANCELLED, "consent_revoked")
    assert not any(name.startswith("outputs/") for name in _media_files())


def test_revocation_cancels_queued_jobs_and_marks_published_outputs(grant, submit, owner):
    published = submit()
    job_run(job_id=published.pk)
    queued = submit()
    assert job_revocation_apply(grant=grant, actor=owner) == (1, 1)
    queued.refresh_from_db()
    assert (queued.status, queued.stage) == (JobStatus.CANCELLED, JobStage.CANCELLED)
    assert OutputRecord.objects.get(pk=published.pk).revoked_at is not None
    assert job_run(job_id=queued.pk).status == "skipped"


def test_a_new_attempt_removes_what_an_interrupted_one_left(grant, submit):
    job = submit()
    leftover_dir = settings.MEDIA_ROOT / "outputs" / str(job.pk)
    leftover_dir.mkdir(parents=True)
    (leftover_dir / ".x.mp4.abc.unsigned.mp4").write_bytes(b"partial")
    GenerationJob.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING, attempts=1)
    job_run(job_id=job.pk)
    record = OutputRecord.objects.get(pk=job.pk)
    assert sorted(p.name for p in leftover_dir.iterdir()) == [record.file_path.split("/")[-1]]
