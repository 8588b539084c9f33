"""Detection from the in-memory registry: thousands of outputs around a real one, real indexes.

The registry is filled with synthetic outputs (random codewords, PDQ hashes of talking-head
clips), some of them PDQ look-alikes of the real output, so fingerprints name several records
and only the watermark may name one.
"""

from __future__ import annotations

import pytest

from detection import registry
from detection.index import VALUE_BYTES, load_registry
from detection.models import IndexedOutput
from detection.services import detection_run
from detection.synthetic import synthetic_registry_fill
from provenance.watermark.packed import packed_payload

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

SYNTHETIC = 3000


def test_publishing_stores_the_packed_codewords(registered_output, watermark_key):
    row = IndexedOutput.objects.get(record_id=registered_output.pk)
    packed = bytes(row.packed)
    assert int.from_bytes(packed[:VALUE_BYTES], "big") == int(registered_output.payload_hex, 16)
    assert packed[VALUE_BYTES:] == packed_payload(registered_output.payload_hex, watermark_key)
    assert bytes(row.fingerprints).hex() == "".join(registered_output.fingerprints)


def test_a_new_output_is_matchable_by_the_next_check_without_a_reload(
    request, platform_output, attacked_copies
):
    synthetic_registry_fill(
        SYNTHETIC, seed=3, lookalike_of=[platform_output.published.fingerprints]
    )
    live = registry.live_indexes()  # a worker that loaded before the output was published
    payloads, fingerprints = live.payloads, live.fingerprints
    assert len(payloads) == SYNTHETIC
    record = request.getfixturevalue("registered_output")
    result = detection_run(path=attacked_copies["crf30"])
    assert result.record_id == record.pk, result.summary
    assert result.summary["watermark"]["method"] == "registry_match"
    after = registry.live_indexes()
    assert after.payloads is payloads and after.fingerprints is fingerprints  # appended, kept
    assert len(after.payloads) == SYNTHETIC + 1


@pytest.mark.parametrize("attack", ["crf30", "half"])
def test_among_thousands_of_look_alikes_no_wrong_record_is_named(
    registered_output, platform_output, attacked_copies, attack
):
    synthetic_registry_fill(
        SYNTHETIC,
        seed=4,
        lookalike_of=[platform_output.published.fingerprints],
        lookalike_share=0.01,
    )
    result = detection_run(path=attacked_copies[attack])
    candidates = [c["record_id"] for c in result.summary["candidates"]]
    assert result.record_id in (None, registered_output.pk), result.summary
    if result.record_id is None:  # not proven: the real record is still the first candidate
        assert candidates[0] == registered_output.pk
    pdq_candidates = result.summary["fingerprint"]["candidates"]
    assert len(pdq_candidates) > 1  # look-alikes were in reach: the test could have gone wrong


def test_a_worker_reloads_when_the_row_it_holds_last_is_gone(registered_output):
    live = load_registry()
    assert live.payloads.view()[0].tolist() == [registered_output.pk]
    IndexedOutput.objects.filter(record_id=registered_output.pk).delete()  # a restored backup
    synthetic_registry_fill(5, seed=5)
    assert live.refresh() == 5
    assert registered_output.pk not in live.payloads.view()[0].tolist()
