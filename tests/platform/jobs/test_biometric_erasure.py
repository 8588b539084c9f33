"""Job inputs live only as long as their job; deleting biometric data deletes every file that
shows the face (portraits, job inputs, published videos) and keeps the registry answering."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from django.conf import settings

from audit.models import AuditEvent
from audit.verification import verify_audit_log
from consent.services import consent_revoke, identity_biometrics_delete
from jobs.models import GenerationJob, JobStatus, OutputRecord
from jobs.run import job_run
from jobs.selectors import output_access, output_record_by_payload

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]  # files go on commit


def _media_files() -> list[Path]:
    return sorted(p for p in Path(settings.MEDIA_ROOT).rglob("*") if p.is_file())


def _input_files() -> list[Path]:
    return [p for p in _media_files() if p.parent.name == "job-inputs"]


def test_a_job_keeps_only_its_input_hashes_once_it_ends(grant, submit, owner):
    done = submit()
    job_run(job_id=done.pk)
    failed = submit()
    with open(Path(settings.MEDIA_ROOT) / failed.audio_file, "ab") as handle:
        handle.write(b"\0" * 64)  # changed after the decision: the run refuses it
    job_run(job_id=failed.pk)
    cancelled = submit()
    consent_revoke(grant=grant, owner=owner)

    jobs = {job.pk: job for job in GenerationJob.objects.all()}
    assert [jobs[j.pk].status for j in (done, failed, cancelled)] == [
        JobStatus.DONE,
        JobStatus.FAILED,
        JobStatus.CANCELLED,
    ]
    assert _input_files() == []
    for job in jobs.values():
        assert (job.audio_file, job.portrait_file) == ("", "")
        assert len(job.audio_sha256) == len(job.portrait_sha256) == 64


def test_after_biometric_deletion_no_file_under_media_root_holds_the_face(
    grant, submit, owner, requester, client, astronaut_png
):
    published = submit()
    job_run(job_id=published.pk)
    record = OutputRecord.objects.get(pk=published.pk)
    queued = submit(portrait_file=astronaut_png)  # an uploaded copy, waiting for a worker
    # A job that ended before inputs were deleted at the end: its copy is still on disk.
    leftover = Path(settings.MEDIA_ROOT) / "job-inputs" / "0123abcd.portrait"
    leftover.write_bytes(astronaut_png)
    GenerationJob.objects.filter(pk=published.pk).update(portrait_file=str(
        leftover.relative_to(settings.MEDIA_ROOT)
    ))  # fmt: skip
    face_hashes = {hashlib.sha256(astronaut_png).hexdigest(), record.file_sha256}
    assert face_hashes <= {hashlib.sha256(p.read_bytes()).hexdigest() for p in _media_files()}

    identity_biometrics_delete(identity=published.identity, owner=owner)

    for path in _media_files():
        data = path.read_bytes()
        assert hashlib.sha256(data).hexdigest() not in face_hashes, path
        assert astronaut_png not in data, path
        assert path.suffix not in (".mp4", ".portrait", ".png"), path
    queued.refresh_from_db()
    assert (queued.status, queued.portrait_file) == (JobStatus.CANCELLED, "")
    # The registry entry stays, so detection still names the video, now withdrawn.
    record.refresh_from_db()
    assert record.revoked_at is not None and record.media_deleted_at is not None
    assert output_record_by_payload(record.payload_hex) == record
    assert output_access(record=record).may_view is False
    client.force_login(requester)
    assert client.get(f"/jobs/{published.pk}/download/").status_code == 403
    page = client.get(f"/jobs/{published.pk}/result/").content.decode()
    assert "deleted this video with their face data" in page and 'id="result-video"' not in page
    event = AuditEvent.objects.get(action="job.media_erased")
    assert event.details["record_ids"] == [record.pk]
    assert event.details["file_sha256"] == [record.file_sha256]
    assert verify_audit_log().ok
