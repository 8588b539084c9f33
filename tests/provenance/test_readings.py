"""The readings detection tries after the straight one: mirrored, zoomed out, luma for grey."""

from __future__ import annotations

import numpy as np
import pytest

from provenance.attacks import centre_crop, flip, greyscale
from provenance.watermark import KnownPayload, detect_watermark, frame_logits
from provenance.watermark.detect import try_shares
from provenance.watermark.estimate import pair_estimate, soft_bits
from provenance.watermark.readings import (
    LUMA_COLOURED,
    MIRRORED,
    SEARCH_READINGS,
    STRAIGHT,
    is_grey,
    luma_coloured,
    readings_for,
    zoomed_out,
)


def _sampled_agreement(frames, payload, key) -> int:
    """Codeword bits of 96 the pair-differenced samples of 16 consecutive runs get right."""
    from provenance.payload import codeword_bits
    from provenance.watermark import run_of, sample_positions

    positions = sample_positions(len(frames))
    runs = np.array([run_of(i) for i in positions])
    estimate = pair_estimate(soft_bits(frame_logits([frames[i] for i in positions])), runs)
    return int(np.sum((estimate > 0) == codeword_bits(int(payload.value_hex, 16), key)))


def test_it_identifies_a_mirrored_copy_by_reading_it_mirrored(marked_clip, payload, watermark_key):
    mirrored = [np.ascontiguousarray(flip(f)) for f in marked_clip]
    detection = detect_watermark(mirrored, watermark_key)
    assert detection.identified and detection.record_id == payload.record_id
    assert detection.reading == MIRRORED.name  # the straight looks did not see it


def test_it_identifies_a_copy_cropped_to_55_percent_by_zooming_back_out(
    marked_clip, payload, watermark_key
):
    cropped = [np.ascontiguousarray(centre_crop(0.55)(f)) for f in marked_clip]
    detection = detect_watermark(cropped, watermark_key)
    assert detection.identified and detection.record_id == payload.record_id
    assert detection.reading == "zoomed_out"


def test_a_grey_copy_is_read_through_its_luma_which_turns_its_bits_the_right_way(
    marked_clip, payload, watermark_key
):
    """Grey keeps the mark's luma only, read by the decoder with the opposite sign: most bits
    come out wrong straight, and most right through the luma reading. Not enough to identify
    (docs/watermark.md gives the arithmetic), but the evidence points the right way."""
    grey = [greyscale(f) for f in marked_clip]
    assert is_grey(grey) and readings_for(grey)[0] is LUMA_COLOURED
    straight = _sampled_agreement(grey, payload, watermark_key)
    luma = _sampled_agreement([luma_coloured(f) for f in grey], payload, watermark_key)
    assert straight < 48 < luma, (straight, luma)


def test_colour_frames_are_read_straight_first(marked_clip):
    assert not is_grey(marked_clip[:3])
    assert readings_for(marked_clip[:3]) == (STRAIGHT, *SEARCH_READINGS)


@pytest.mark.parametrize("known", [False, True])
@pytest.mark.parametrize("candidates", [False, True])
def test_every_look_and_every_search_reading_share_one_budget(known, candidates):
    shares, search, candidate = try_shares(3, True, known, candidates, len(SEARCH_READINGS))
    total = sum(b + k for b, k in shares) + len(SEARCH_READINGS) * sum(search) + candidate
    assert search[0] > 0 and total == pytest.approx(1.0)


def test_unmarked_frames_are_identified_in_no_reading(clean_clip, watermark_key, payload):
    known = [KnownPayload(payload.record_id, payload.value_hex)]
    for frames in (clean_clip, [flip(f) for f in clean_clip], [greyscale(f) for f in clean_clip]):
        detection = detect_watermark(frames, watermark_key, known=known)
        assert not detection.identified and detection.partial_record_id is None


def test_an_identified_clip_has_a_timeline_of_its_frames_agreement(
    marked_clip, payload, watermark_key
):
    detection = detect_watermark(marked_clip, watermark_key)
    assert detection.identified
    assert len(detection.frame_agreement) == len(detection.frame_positions) == detection.frames_used
    assert min(detection.frame_agreement) > 0.75
    assert list(detection.frame_positions) == sorted(detection.frame_positions)


def test_a_still_against_a_large_registry_is_read_once_and_never_scanned(
    marked_clip, payload, watermark_key, monkeypatch
):
    """No reading of one frame could identify it or point at one of 1000 records, so the
    searches are not decoded; with 100 records (partial evidence possible) they are."""
    from provenance.watermark import detect as detect_module
    from provenance.watermark import detect_sampled, evidence

    decoded = []

    def counting(frames, edit=None):
        decoded.append(len(frames))
        return frame_logits(frames, edit)

    monkeypatch.setattr(evidence, "frame_logits", counting)
    still = [marked_clip[40]]
    many = [KnownPayload(r, f"{r * 7919:016x}") for r in range(1, 1001)]
    large = detect_sampled(still, watermark_key, known=many)
    assert decoded == [1] and large.reading == STRAIGHT.name and not large.identified
    decoded.clear()
    detect_sampled(still, watermark_key, known=many[:100])
    assert len(decoded) == 1 + len(SEARCH_READINGS)  # every reading looked at
    assert detect_module.PARTIAL_MAX_FALSE_POSITIVE == 1e-6


def test_a_reading_is_applied_a_batch_at_a_time_with_the_same_logits(marked_clip):
    """Edited full-size copies (a zoomed-out 512-px frame is 2 MB) are made as the decoder
    takes them, never all at once, and decode exactly as a list of edited frames does."""
    import weakref

    from provenance.watermark.rivagan import DECODE_BATCH

    frames = list(marked_clip[: 3 * DECODE_BATCH])
    alive, most_alive = set(), [0]

    def tracked_zoom(frame):
        edited = zoomed_out(frame)
        alive.add(id(edited))
        weakref.finalize(edited, alive.discard, id(edited))
        most_alive[0] = max(most_alive[0], len(alive))
        return edited

    lazily = frame_logits(frames, tracked_zoom)
    assert most_alive[0] <= DECODE_BATCH
    assert np.array_equal(lazily, frame_logits([zoomed_out(f) for f in frames]))
