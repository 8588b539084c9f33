"""The deny-by-default policy: one allow case and one row per deny reason."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from policy.decisions import (
    POLICY_VERSION,
    RULES,
    DecisionContext,
    GrantFacts,
    IdentityFacts,
    PolicyLimits,
    RequesterFacts,
    decide,
    rule_grant_active,
    rule_portrait_matches_identity,
)

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
REFERENCE = tuple([0.1] * 128)
SAME_PERSON = tuple([0.1] * 127 + [0.3])  # distance 0.2
OTHER_PERSON = tuple([0.2] * 128)  # distance ~1.13


def allowed_context() -> DecisionContext:
    return DecisionContext(
        now=NOW,
        requester=RequesterFacts(requester_id=7, approved=True, active=True, organisation_id=3),
        identity=IdentityFacts(identity_id=11, verified=True, reference_descriptor=REFERENCE),
        grant=GrantFacts(
            grant_id=21,
            identity_id=11,
            version=2,
            requester_ids=frozenset({7}),
            organisation_ids=frozenset(),
            purposes=frozenset({"news_explainer"}),
            max_clip_seconds=30,
            allowed_emotions=frozenset({"neutral", "serious"}),
            allow_download=False,
            expires_at=NOW + timedelta(days=30),
        ),
        purpose="news_explainer",
        audio_seconds=12.0,
        emotion="neutral",
        wants_download=False,
        portrait_descriptors=(SAME_PERSON,),
        requester_jobs_last_24h=0,
        identity_jobs_last_24h=0,
    )


def with_grant(**changes) -> DecisionContext:
    context = allowed_context()
    return replace(context, grant=replace(context.grant, **changes))


def with_requester(**changes) -> DecisionContext:
    context = allowed_context()
    return replace(context, requester=replace(context.requester, **changes))


def with_identity(**changes) -> DecisionContext:
    context = allowed_context()
    return replace(context, identity=replace(context.identity, **changes))


DENIALS = [
    ("requester_not_approved", with_requester(approved=False)),
    ("requester_inactive", with_requester(active=False)),
    ("identity_unknown", replace(allowed_context(), identity=None)),
    ("identity_not_verified", with_identity(verified=False)),
    ("no_consent", replace(allowed_context(), grant=None)),
    ("grant_wrong_identity", with_grant(identity_id=99)),
    ("consent_revoked", with_grant(revoked_at=NOW - timedelta(seconds=1))),
    ("grant_superseded", with_grant(superseded_at=NOW - timedelta(seconds=1))),
    ("consent_expired", with_grant(expires_at=NOW)),
    ("requester_not_named", with_grant(requester_ids=frozenset({8}))),
    ("unknown_purpose", replace(allowed_context(), purpose="surveillance")),
    ("purpose_not_granted", replace(allowed_context(), purpose="marketing")),
    ("clip_too_long_for_grant", replace(allowed_context(), audio_seconds=31.0)),
    ("emotion_not_allowed", replace(allowed_context(), emotion="happy")),
    ("download_not_allowed", replace(allowed_context(), wants_download=True)),
    ("no_reference_face", with_identity(reference_descriptor=None)),
    ("portrait_face_count", replace(allowed_context(), portrait_descriptors=())),
    (
        "portrait_face_count",
        replace(allowed_context(), portrait_descriptors=(SAME_PERSON, OTHER_PERSON)),
    ),
    ("portrait_mismatch", replace(allowed_context(), portrait_descriptors=(OTHER_PERSON,))),
    (
        "audio_too_long",
        replace(
            with_grant(max_clip_seconds=600),
            audio_seconds=61.0,
        ),
    ),
    ("audio_length_unknown", replace(allowed_context(), audio_seconds=float("nan"))),
    ("audio_length_unknown", replace(allowed_context(), audio_seconds=0.0)),
    ("audio_too_short", replace(allowed_context(), audio_seconds=1.0)),
    ("requester_quota_exceeded", replace(allowed_context(), requester_jobs_last_24h=50)),
    ("identity_quota_exceeded", replace(allowed_context(), identity_jobs_last_24h=100)),
]


def test_it_allows_a_job_inside_a_verified_active_grant():
    decision = decide(allowed_context())
    assert decision.allowed
    assert decision.reasons == ()
    assert decision.policy_version == POLICY_VERSION
    assert len(decision.decision_id) == 32
    assert decision.portrait_distance == pytest.approx(0.2, abs=1e-6)


@pytest.mark.parametrize(("code", "context"), DENIALS, ids=[code for code, _ in DENIALS])
def test_it_denies_with_the_reason(code, context):
    decision = decide(context)
    assert not decision.allowed
    assert code in decision.reason_codes
    assert all(reason.message for reason in decision.reasons)


def test_every_denial_code_of_every_rule_is_in_the_table():
    codes_in_table = {code for code, _ in DENIALS}
    codes_denied = set()
    for _, context in DENIALS:
        codes_denied.update(decide(context).reason_codes)
    assert codes_denied <= codes_in_table


def test_it_allows_a_requester_named_through_their_organisation():
    context = with_grant(requester_ids=frozenset(), organisation_ids=frozenset({3}))
    assert decide(context).allowed


def test_it_denies_when_the_organisation_is_another():
    context = replace(
        with_grant(requester_ids=frozenset(), organisation_ids=frozenset({4})),
    )
    assert decide(context).reason_codes == ["requester_not_named"]


def test_it_reports_every_reason_at_once():
    context = replace(with_requester(approved=False), emotion="happy", audio_seconds=31.0)
    assert set(decide(context).reason_codes) == {
        "requester_not_approved",
        "emotion_not_allowed",
        "clip_too_long_for_grant",
    }


def test_a_rule_that_crashes_denies():
    def rule_broken(context):
        raise RuntimeError("boom")

    decision = decide(allowed_context(), rules=(*RULES, rule_broken))
    assert not decision.allowed
    assert decision.reason_codes == ["rule_failed"]


def test_no_rules_means_deny():
    assert not decide(allowed_context(), rules=()).allowed


def test_the_face_threshold_comes_from_the_limits():
    context = replace(allowed_context(), limits=PolicyLimits(face_match_threshold=0.1))
    assert [r.code for r in rule_portrait_matches_identity(context)] == ["portrait_mismatch"]


def test_a_grant_revoked_later_than_now_is_still_active():
    context = with_grant(revoked_at=NOW + timedelta(minutes=1))
    assert rule_grant_active(context) == []


def test_each_decision_has_its_own_id():
    assert decide(allowed_context()).decision_id != decide(allowed_context()).decision_id
