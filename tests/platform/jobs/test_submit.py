"""job_submit: inputs stored and hashed, the policy decides, every decision is audit-logged."""

from __future__ import annotations

import pytest
from django.conf import settings

from audit.models import AuditEvent
from core.keys import public_key
from jobs.models import GenerationJob, JobStatus
from jobs.services import PolicyDenied
from policy.tickets import verify_ticket


def _stored_inputs() -> list:
    folder = settings.MEDIA_ROOT / "job-inputs"
    return sorted(folder.iterdir()) if folder.exists() else []


@pytest.mark.django_db
def test_it_queues_a_job_with_a_ticket_bound_to_the_inputs(
    grant, submit, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        job = submit()
    assert job.status == JobStatus.QUEUED
    assert len(callbacks) == 1  # the Celery task is enqueued only after commit
    ticket = verify_ticket(
        job.ticket,
        lambda key_id: public_key("ticket", key_id),
        portrait_sha256=job.portrait_sha256,
        audio_sha256=job.audio_sha256,
        job_id=job.pk,
        now=job.created_at,
    )
    assert ticket.grant_id == grant.pk
    assert ticket.decision_id == job.decision_id
    assert job.portrait_is_reference and job.portrait_distance == pytest.approx(0.0, abs=1e-4)


@pytest.mark.django_db
def test_it_logs_the_allowed_decision_and_the_submission(grant, submit):
    job = submit()
    decided = AuditEvent.objects.get(action="policy.decided")
    assert decided.outcome == "allowed"
    assert decided.details["decision_id"] == job.decision_id
    assert decided.details["reasons"] == []
    assert AuditEvent.objects.filter(action="job.submitted", subject_id=str(job.pk)).exists()


@pytest.mark.django_db
def test_it_denies_another_persons_portrait_under_a_consented_name(grant, submit, cameraman_png):
    with pytest.raises(PolicyDenied) as denied:
        submit(portrait_file=cameraman_png)
    assert [reason.code for reason in denied.value.reasons] == ["portrait_mismatch"]
    assert not GenerationJob.objects.exists()
    event = AuditEvent.objects.get(action="policy.decided")
    assert event.outcome == "denied"
    assert event.details["reasons"] == ["portrait_mismatch"]
    assert "does not show the person who consented" in event.reason


@pytest.mark.django_db
def test_a_denied_request_keeps_none_of_its_uploads(grant, submit, cameraman_png):
    with pytest.raises(PolicyDenied):
        submit(portrait_file=cameraman_png)
    assert _stored_inputs() == []


@pytest.mark.django_db
def test_it_denies_a_requester_the_consent_does_not_name(grant, submit, other_requester):
    with pytest.raises(PolicyDenied) as denied:
        submit(requester=other_requester)
    assert "no_consent" in [reason.code for reason in denied.value.reasons]
    assert denied.value.status_code == 403


@pytest.mark.django_db
def test_it_denies_an_emotion_outside_the_grant(grant, submit):
    with pytest.raises(PolicyDenied) as denied:
        submit(controls={"emotion": "serious"})
    assert [reason.code for reason in denied.value.reasons] == ["emotion_not_allowed"]


@pytest.mark.django_db
def test_it_rejects_audio_that_is_not_audio(grant, submit, astronaut_png):
    from generator.errors import GeneratorError

    # The generator's own error, unchanged: core.errors maps it to the API's 400 body.
    with pytest.raises(GeneratorError) as error:
        submit(audio_file=astronaut_png)
    assert error.value.code == "invalid_audio"
    assert _stored_inputs() == []
