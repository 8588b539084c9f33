"""Detection: decode sampled frames, undo the schedule, correct with BCH, identify under a bound.

One procedure for every caller (`detect_sampled`; `detect_watermark` samples a whole clip
first): blind decoding, matching payloads a registry knows, and matching a caller's candidates,
with the 1e-9 budget split between every try that may identify. This module is the look loop;
blind decoding is `blind`, what the loop keeps between tries is `evidence`, the registry match
is `known`.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator, Sequence

import numpy as np

from provenance.errors import MediaError, WatermarkError
from provenance.media import probe, video_frames_at
from provenance.payload import (
    CODEWORD_BITS,
    WORD_BITS,
    WORD_COUNT,
    WatermarkPayload,
    codeword_bits,
    payload_for_record,
)

from .blind import BLIND_HYPOTHESES, detect_from_logits
from .bounds import MAX_FALSE_POSITIVE, binomial_false_positive
from .estimate import pair_estimate, soft_bits
from .evidence import LazyLogits, LookEvidence, identified_detection, read_logits, with_timeline
from .known import KnownPayload, known_match, word_match_floor
from .readings import readings_for
from .result import WatermarkDetection
from .rivagan import as_rgb, frame_logits
from .schedule import (
    EARLY_FRAMES,
    SCHEDULE_FPS,
    detection_looks,
    holds_every_word,
    run_at,
    run_of,
    sample_positions,
    second_look_positions,
)

# Re-exported: callers import the detector's public names from here or from the package.
__all__ = [
    "BLIND_HYPOTHESES",
    "MAX_CANDIDATES",
    "WatermarkDetection",
    "decode_looks",
    "detect_file",
    "detect_from_logits",
    "detect_sampled",
    "detect_watermark",
    "frames_carry_payload",
    "try_shares",
]

EARLY_LOOK_SHARE = 0.02  # of the 1e-9 budget, for the first look (see try_shares)
# A known payload the frames agree with beyond this is evidence that points at its record even
# when it cannot identify it (a still image carries one of the three words).
PARTIAL_MAX_FALSE_POSITIVE = 1e-6
# After the 16-sample look (and a search reading's one-frame-per-word glance), decode more frames
# only if some known payload already explains the frames this much better than chance
# (unrelated media sits near 1).
EARLY_STOP_FALSE_POSITIVE = 1e-2
# Candidates matched at most: one person's clips from one portrait all look alike to PDQ, so a
# copy can sit near many records; 16 x 24 hypotheses still leave the bound within reach.
MAX_CANDIDATES = 16


def decode_looks(
    frames: Sequence[np.ndarray], looks: Sequence[list[int]]
) -> Iterator[tuple[list[int], np.ndarray]]:
    """Each look with its frames' decoder logits, (k, 32): a frame is decoded once, when the
    first look that needs it comes, so a caller that stops early never decodes the rest."""
    logits = np.zeros((len(frames), WORD_BITS), np.float32)  # (n, 32), filled as read
    decoded: set[int] = set()
    for look in looks:
        fresh = [i for i in look if i not in decoded]
        logits[fresh] = frame_logits([frames[i] for i in fresh])  # (k, 32)
        decoded.update(fresh)
        yield look, logits[look]


def try_shares(
    looks: int, early_look: bool, known: bool, candidates: bool, searches: int = 0
) -> tuple[list[tuple[float, float]], tuple[float, float], float]:
    """How the 1e-9 budget is split between the tries that may identify (a union bound).

    Each look tries blind decoding and, when payloads are known, matching them; each search
    reading (mirrored, zoomed out: `readings.SEARCH_READINGS`) is one more look of both kinds; a
    last try matches the caller's candidates alone. The first look, when it is the
    one-frame-per-word one, gets EARLY_LOOK_SHARE: intact clips clear it by orders of magnitude
    (measured bounds ~1e-17). The rest is split evenly, searches counted whether or not they
    are tried. Returns each look's (blind share, known share), a search's, and the candidates'.
    """
    per_look = 2 if known else 1
    later = (looks - 1 if early_look else looks) + searches
    later = later * per_look + (1 if candidates else 0)
    rest = (1.0 - EARLY_LOOK_SHARE if early_look else 1.0) / max(later, 1)
    shares = []
    for look in range(looks):
        share = EARLY_LOOK_SHARE / per_look if early_look and look == 0 else rest
        shares.append((share, share if known else 0.0))
    search = (rest, rest if known else 0.0) if searches else (0.0, 0.0)
    return shares, search, rest if candidates else 0.0


def detect_sampled(
    frames: Sequence[np.ndarray],
    key: bytes,
    *,
    positions: Sequence[int] | None = None,
    more_frames: Sequence[np.ndarray] = (),
    more_positions: Sequence[int] | None = None,
    fps: float | None = SCHEDULE_FPS,
    known: Sequence[KnownPayload] = (),
    candidates: Sequence[KnownPayload] = (),
    max_looks: int | None = None,
) -> WatermarkDetection:
    """Identify the payload of sampled frames at <= 1e-9, or report what evidence there is.

    `frames` were taken at `positions` of a clip playing at `fps` (default: the middles of
    consecutive runs, as `sample_positions` gives for a clip of 16 runs or more); `more_frames`
    (at `more_positions`) are settled frames for a last look at a faint mark. A copy that keeps
    the frame timing, or is mapped back to it by time (`run_at`), carries the word the schedule
    gives each index, which groups the frames exactly.

    Up to three looks at growing sets of frames (`detection_looks`), each decoded only when the
    last did not identify: one frame per word, every sample, then the more frames too. Each look
    decodes blind, then matches the `known` payloads (R x 24 hypotheses instead of 2^32 x 24);
    when payloads are known, a look of every sample that leaves none better than chance (1e-2)
    ends these looks, which can only lower the chance of identifying. Then the frames are read
    again in each search reading (mirrored, zoomed out: `readings_for`; a grey copy is read
    through its luma throughout), one more look each at every frame, taken only when a glance at
    one frame per word leaves some known payload above chance. Last, the best reading's frames
    are matched against `candidates` alone (k x 24 hypotheses; at most MAX_CANDIDATES): records
    the caller found by other evidence, such as PDQ fingerprints, which say nothing of an
    unmarked clip's watermark bits, so the union bound over them holds. Each try spends its
    share (`try_shares`), and a reported probability is the bound divided by its share.
    `max_looks`: stop after this many looks, for a caller that must stay cheap and needs only to
    recognise an intact or lightly altered output; fewer looks than there are skip the searches.
    Each look keeps its share, so stopping early can only lower the chance of identifying and
    the bound still holds.
    """
    # validated first: the readings look at the frames' colour before any is decoded
    frames, more_frames = [as_rgb(f) for f in frames], [as_rgb(f) for f in more_frames]
    if positions is not None and len(positions) != len(frames):
        raise WatermarkError("one position per frame")
    if more_frames and (more_positions is None or len(more_positions) != len(more_frames)):
        raise WatermarkError("one position per further frame")
    if positions is None:  # consecutive runs: each sample's run number is its own
        at = np.arange(len(frames) + len(more_frames))  # (n + m,) time order
        runs = at
    else:
        at = np.array([*positions, *(more_positions or ())], dtype=np.int64)  # (n + m,)
        runs = np.array([run_at(i, fps) for i in at.tolist()], dtype=np.int64)  # (n + m,)
    looks = detection_looks(runs, at, len(frames))
    first, *searches = readings_for(frames)
    candidates = list(candidates)[:MAX_CANDIDATES]
    shares, search_share, candidate_share = try_shares(
        len(looks), len(frames) > EARLY_FRAMES, bool(known), bool(candidates), len(searches)
    )
    if max_looks is not None and max_looks < len(looks):
        looks, shares, searches = looks[:max_looks], shares[:max_looks], []
    everything = frames + more_frames
    if (
        known
        and len(everything) < WORD_COUNT
        and word_match_floor(len(known), len(everything)) > PARTIAL_MAX_FALSE_POSITIVE
    ):
        # Too few frames to decode blind or to hold every word, and too many payloads known for
        # a word-by-word match to reach even partial evidence (a still against a large
        # registry): no reading could identify or point at a record, so none is read beyond
        # the first and the registry is not scanned. Candidates are still matched below.
        known, searches = (), []
    tries = [(first, look, share) for look, share in zip(looks, shares, strict=True)]
    # A search reads every frame the last look reads: its glance already kept unrelated media
    # out, and a 55% crop zoomed back out needs more than 16 (measured, bench clip 3: 4.8e-9).
    tries += [(reading, looks[-1], search_share) for reading in searches]
    blind = WatermarkDetection(False, None, None, 0.0, 1.0, 0)
    evidence = LookEvidence()
    decoded: dict[str, LazyLogits] = {}
    stopped = False
    early = looks[0] if len(frames) > EARLY_FRAMES else None
    for reading, look, (blind_share, known_share) in tries:
        if stopped and reading is first:
            continue
        if reading is not first and known and early is not None:
            # A filter, not a try: a search reading whose one-frame-per-word look leaves every
            # known payload at chance is not read further (unrelated media pays 6 frames, not
            # 16). Skipping can only lower the chance of identifying, so the bound holds.
            glance = known_match(
                read_logits(decoded, reading, everything, early), key, known, runs[early]
            )
            if glance is None or glance.false_positive > EARLY_STOP_FALSE_POSITIVE:
                continue
        read = read_logits(decoded, reading, everything, look)
        look_runs = runs[look]  # (k,)
        detection = detect_from_logits(read, key, share=blind_share, runs=look_runs)
        if detection.identified:
            return with_timeline(
                dataclasses.replace(detection, method="decoded", reading=reading.name),
                read,
                look_runs,
                at[look],
                key,
            )
        if blind.frames_used == 0 or detection.false_positive_probability < (
            blind.false_positive_probability
        ):
            blind = detection
        if not known:
            evidence.offer(None, read, look_runs, look, reading.name)
            continue
        match = known_match(read, key, known, look_runs)
        evidence.offer(match, read, look_runs, look, reading.name)
        if match is not None and len(look) >= WORD_COUNT:
            if match.false_positive / known_share <= MAX_FALSE_POSITIVE:
                found = identified_detection(
                    match, known_share, len(look), "registry_match", reading.name
                )
                return with_timeline(found, read, look_runs, at[look], key)
        # Not after the one-frame-per-word look: six frames of a copy both cropped and brightened
        # leave its own payload at chance where 16 identify it (measured, bench clip 1: 1.9e-13).
        at_chance = match is None or match.false_positive > EARLY_STOP_FALSE_POSITIVE
        if reading is first and at_chance and len(look) > EARLY_FRAMES:
            stopped = True
    logits, look_runs, frames_used = evidence.logits, evidence.runs, len(evidence.logits)
    times = at[evidence.look]
    among = known_match(logits, key, candidates, look_runs) if candidates else None
    if among is not None and frames_used >= WORD_COUNT:
        if among.false_positive / candidate_share <= MAX_FALSE_POSITIVE:
            found = identified_detection(
                among, candidate_share, frames_used, "candidate_match", evidence.reading
            )
            return with_timeline(found, logits, look_runs, times, key)
    # The evidence's reading was the best of those read: its bounds count every one of them.
    read_in = max(1, len(decoded))
    matches = tuple(
        (m.payload.record_id, m.agreement, min(1.0, m.false_positive * read_in))
        for m in (known_match(logits, key, [c], look_runs) for c in candidates)
        if m is not None
    )
    match = evidence.match
    if match is not None:
        match = dataclasses.replace(match, false_positive=min(1.0, match.false_positive * read_in))
    partial = (
        match if match is not None and match.false_positive <= PARTIAL_MAX_FALSE_POSITIVE else None
    )
    result = WatermarkDetection(
        identified=False,
        record_id=None,
        value_hex=None,
        confidence=partial.agreement if partial is not None else blind.confidence,
        false_positive_probability=blind.false_positive_probability,
        frames_used=frames_used,
        partial_record_id=partial.payload.record_id if partial is not None else None,
        partial_false_positive=partial.false_positive if partial is not None else 1.0,
        candidate_matches=matches,
        reading=evidence.reading,
    )
    timeline_payload = partial.payload.payload_hex if partial is not None else None
    if timeline_payload is None and candidates and matches:
        best = min(range(len(matches)), key=lambda i: matches[i][2])
        timeline_payload = next(
            c.payload_hex for c in candidates if c.record_id == matches[best][0]
        )
    return with_timeline(result, logits, look_runs, times, key, timeline_payload)


def detect_watermark(
    frames: Sequence[np.ndarray],
    key: bytes,
    fps: float | None = SCHEDULE_FPS,
    *,
    known: Sequence[KnownPayload] = (),
    candidates: Sequence[KnownPayload] = (),
    max_looks: int | None = None,
) -> WatermarkDetection:
    """Read the payload from every frame of a clip (any size) playing at `fps`: the frames
    `sample_positions` and `second_look_positions` name are handed to `detect_sampled`, which
    decodes only those its looks need."""
    positions = sample_positions(len(frames), fps)
    more = second_look_positions(len(frames), fps)
    return detect_sampled(
        [frames[i] for i in positions],
        key,
        positions=positions,
        more_frames=[frames[i] for i in more],
        more_positions=more,
        fps=fps,
        known=known,
        candidates=candidates,
        max_looks=max_looks,
    )


def detect_file(
    path: str | os.PathLike[str],
    key: bytes,
    *,
    fps: float | None = None,
    max_looks: int | None = None,
) -> WatermarkDetection:
    """Blind detection in a video file, decoding only the frames the looks read.

    `fps`: the rate to read the file at (default: the one its container reports). MediaError
    when the file is unreadable or holds fewer frames than its header promises.
    """
    info = probe(path)
    fps = info.fps if fps is None else fps
    positions = sample_positions(info.frame_count, fps)
    more = second_look_positions(info.frame_count, fps)
    frames = video_frames_at(path, positions + more)
    if len(frames) < len(set(positions + more)):
        raise MediaError("the video holds fewer frames than its header promises")
    return detect_sampled(
        [frames[i] for i in positions],
        key,
        positions=positions,
        more_frames=[frames[i] for i in more],
        more_positions=more,
        fps=fps,
        max_looks=max_looks,
    )


def frames_carry_payload(
    frames: Sequence[np.ndarray],
    payload: WatermarkPayload,
    key: bytes,
    indices: Sequence[int] | None = None,
) -> bool:
    """True when the frames carry this payload (publish's check before it signs).

    With `indices` (each frame's index in its output, as publish knows them), the frames are
    grouped by the word their index carries and each word's pair differenced as detection does;
    the 96 bits must agree with this payload's codeword beyond chance: one known hypothesis, so
    the binomial tail itself must be <= 1e-9 (at least 77 of 96 bits). Every word must be among
    the frames. Frames marked for another record or not at all agree on ~48 bits and are
    refused. Without `indices`, blind detection of the frames must identify this payload.
    """
    if payload_for_record(payload.record_id, key) != payload:
        raise WatermarkError("the payload was not made with this key")
    if indices is None:
        detection = detect_watermark(frames, key)
        return detection.identified and detection.value_hex == payload.value_hex
    if len(indices) != len(frames):
        raise WatermarkError("one index per frame")
    runs = np.array([run_of(i) for i in indices])  # (n,)
    if not holds_every_word(runs):
        return False
    estimate = pair_estimate(soft_bits(frame_logits(frames)), runs)  # (96,)
    observed = (estimate > 0).astype(np.uint8)  # (96,)
    agreeing = int(np.sum(observed == codeword_bits(int(payload.value_hex, 16), key)))
    return binomial_false_positive(agreeing, CODEWORD_BITS, 1) <= MAX_FALSE_POSITIVE
