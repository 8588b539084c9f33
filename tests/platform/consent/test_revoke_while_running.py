"""Revocation while a job renders: the worker stops before publishing, so no signed output
appears, and the owner's list shows the job cancelled. Real worker code (jobs.run.job_run)
in a second thread; the owner revokes through consent_revoke from this one."""

from __future__ import annotations

import shutil
import subprocess
import threading
import time

import pytest

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


@pytest.fixture
def speech_wav(tmp_path):
    path = tmp_path / "speech.wav"
    if shutil.which("espeak-ng") is None:
        pytest.fail("espeak-ng is not installed")
    subprocess.run(
        ["espeak-ng", "-v", "en-us", "-w", str(path), "Good evening, here is the news tonight."],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return path


def test_revoking_while_a_job_renders_leaves_no_signed_output(
    active_grant, owner, requester, speech_wav, settings, memory_broker
):
    from django.db import connection

    from consent.services import consent_revoke
    from jobs.models import GenerationJob, JobStage, JobStatus, OutputRecord
    from jobs.run import job_run
    from jobs.selectors import likeness_uses_for_identity
    from jobs.services import job_submit

    job = job_submit(
        requester=requester,
        identity=active_grant.identity,
        purpose="news_explainer",
        audio_file=speech_wav,
        portrait_file=None,
        controls={"emotion": "neutral", "seed": 1},
    )
    outcome: dict = {}

    def worker() -> None:
        try:
            outcome["result"] = job_run(job_id=job.pk)
        except BaseException as error:  # noqa: BLE001 - reported by the assertion below
            outcome["error"] = error
        finally:
            connection.close()

    thread = threading.Thread(target=worker)
    thread.start()
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        stage, code = GenerationJob.objects.values_list("stage", "failure_code").get(pk=job.pk)
        if stage == JobStage.RENDERING or stage in (JobStage.FAILED, JobStage.DONE):
            break
        time.sleep(0.05)
    assert stage == JobStage.RENDERING, f"the job never started rendering ({stage} {code})"

    consent_revoke(grant=active_grant, owner=owner)
    thread.join(timeout=600)

    assert "error" not in outcome, outcome.get("error")
    assert outcome["result"].status == "cancelled"
    job.refresh_from_db()
    assert (job.status, job.failure_code) == (JobStatus.CANCELLED, "consent_revoked")
    assert not OutputRecord.objects.filter(pk=job.pk).exists()
    from jobs.inputs import job_output_dir

    job_outputs = job_output_dir(job.pk)  # this job's own folder: other tests publish elsewhere
    assert not job_outputs.exists() or not [p for p in job_outputs.rglob("*.mp4")]
    assert [use.status for use in likeness_uses_for_identity(identity=active_grant.identity)] == [
        "Cancelled"
    ]
