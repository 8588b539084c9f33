"""Detection: decode sampled frames, undo the schedule, correct with BCH, identify under a bound.

One procedure for every caller (`detect_sampled`; `detect_watermark` samples a whole clip
first): blind decoding, matching payloads a registry knows, and matching a caller's candidates,
with the 1e-9 budget split between every try that may identify.
"""

from __future__ import annotations

import dataclasses
import functools
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from provenance.errors import MediaError, WatermarkError
from provenance.media import probe, video_frames_at
from provenance.payload import (
    BCH_T,
    CODEWORD_BITS,
    RECORD_ID_BITS,
    WORD_BITS,
    WORD_COUNT,
    WatermarkPayload,
    codeword_bits,
    decode_codeword,
    payload_for_record,
)

from .bounds import MAX_FALSE_POSITIVE, binomial_false_positive, soft_false_positive
from .estimate import frame_agreement, groupings, pair_estimate, soft_bits
from .known import KnownMatch, KnownPayload, known_match
from .readings import Reading, readings_for
from .rivagan import as_rgb, frame_logits
from .schedule import (
    EARLY_FRAMES,
    GROUPINGS,
    SCHEDULE_FPS,
    detection_looks,
    holds_every_word,
    run_at,
    run_of,
    sample_positions,
    second_look_positions,
)

EARLY_LOOK_SHARE = 0.02  # of the 1e-9 budget, for the first look (see try_shares)
# Chase-II flips every subset of the 8 least reliable bits: 256 BCH decodes per grouping, 24
# groupings, ~0.2 s a look that does not identify. With 4 bits, half-size copies whose bound
# passed at 7 wrong bits were missed: BCH alone corrects 4 (measured on bench clips).
CHASE_BITS = 8
# Every valid record id, times the groupings tried.
BLIND_HYPOTHESES = 2**RECORD_ID_BITS * GROUPINGS
# A known payload the frames agree with beyond this is evidence that points at its record even
# when it cannot identify it (a still image carries one of the three words).
PARTIAL_MAX_FALSE_POSITIVE = 1e-6
# After a look that does not identify, decode more frames only if some known payload already
# explains the frames this much better than chance (unrelated media sits near 1).
EARLY_STOP_FALSE_POSITIVE = 1e-2
# Candidates matched at most: one person's clips from one portrait all look alike to PDQ, so a
# copy can sit near many records; 16 x 24 hypotheses still leave the bound within reach.
MAX_CANDIDATES = 16


@dataclass(frozen=True)
class WatermarkDetection:
    """What the frames say. `identified` only when the false-positive bound is <= 1e-9.

    `method`: how it identified ("decoded" blind, "registry_match" against every known payload,
    "candidate_match" against the caller's candidates alone), "" when it did not.
    `partial_record_id`: a known payload the frames agree with beyond 1e-6 but short of the bound
    (a still frame carries one word, so it can point at a record, never prove it).
    `candidate_matches`: each candidate's evidence when none identified: (record id, bit
    agreement with its payload, the bound for that one record alone).
    `frame_agreement`: a timeline, one value per frame at `frame_positions`, against the payload
    identified (or the partial or best candidate's); empty when there is none to compare with.
    """

    identified: bool
    record_id: int | None
    value_hex: str | None
    confidence: float  # fraction of the 96 codeword bits that agree with the payload read
    false_positive_probability: float  # union bound over every hypothesis, over its share
    frames_used: int
    method: str = ""
    partial_record_id: int | None = None
    partial_false_positive: float = 1.0
    candidate_matches: tuple[tuple[int, float, float], ...] = ()
    reading: str = ""  # how the frames were looked at: straight, mirrored, zoomed_out, luma, ...
    frame_positions: tuple[int, ...] = ()  # the deciding look's frames, their index in the clip
    frame_agreement: tuple[float, ...] = ()  # each one's bit agreement with the payload found


def _chase_decode(observed: np.ndarray, reliability: np.ndarray, key: bytes):
    """Chase-II: BCH-decode the observation with every flip pattern of its CHASE_BITS least
    reliable bits; keep the record whose codeword agrees most with the observation itself.

    The false-positive bound is a union over every valid codeword measured against the
    unflipped observation, so searching more patterns does not weaken it.
    """
    flips = np.zeros((2**CHASE_BITS, len(observed)), np.uint8)  # (P, 96): every flip pattern
    flips[:, np.argsort(reliability)[:CHASE_BITS]] = _flip_patterns()  # (P, CHASE_BITS)
    best = None
    for trial in observed[None, :] ^ flips:  # (96,) each
        decoded = decode_codeword(trial, key)
        if decoded is None:
            continue
        agreeing = int(np.sum(codeword_bits(int(decoded.value_hex, 16), key) == observed))
        if best is None or agreeing > best.agreeing_bits:
            best = dataclasses.replace(decoded, agreeing_bits=agreeing)
        if agreeing >= CODEWORD_BITS - BCH_T:
            break  # no other codeword comes as close: they are >= 2 * BCH_T + 1 bits apart
    return best


@functools.cache
def _flip_patterns() -> np.ndarray:
    """Every subset of CHASE_BITS positions as 0/1 rows, (2**CHASE_BITS, CHASE_BITS) uint8."""
    patterns = np.arange(2**CHASE_BITS)[:, None] >> np.arange(CHASE_BITS)[None, :] & 1
    return patterns.astype(np.uint8)


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


@dataclass
class _Evidence:
    """The best look so far at known payloads: the frames it read and how well they matched."""

    match: KnownMatch | None = None
    logits: np.ndarray = dataclasses.field(
        default_factory=lambda: np.zeros((0, WORD_BITS), np.float32)
    )
    runs: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0, np.int64))
    look: list[int] = dataclasses.field(default_factory=list)
    reading: str = ""

    def offer(
        self,
        match: KnownMatch | None,
        logits: np.ndarray,
        runs: np.ndarray,
        look: list[int],
        reading: str,
    ) -> None:
        """Keep this look when it explains the frames better: a known payload at a lower bound,
        or, with none known, the first reading's later (larger) look."""
        if match is not None:
            better = self.match is None or match.false_positive < self.match.false_positive
        else:
            better = self.match is None and reading == self.reading
        if not len(self.logits) or better:
            self.match, self.logits, self.runs, self.look = match, logits, runs, look
            self.reading = reading


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
    when payloads are known, a look that leaves none better than chance (1e-2) ends these looks,
    which can only lower the chance of identifying. Then the samples are read again in each
    search reading (mirrored, zoomed out: `readings_for`; a grey copy is read through its luma
    throughout), one more look each. Last, the best reading's frames are matched against
    `candidates` alone (k x 24 hypotheses; at most MAX_CANDIDATES): records the caller found by
    other evidence, such as PDQ fingerprints, which say nothing of an unmarked clip's watermark
    bits, so the union bound over them holds. Each try spends its share (`try_shares`), and a
    reported probability is the bound divided by its share.
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
    tries = [(first, look, share) for look, share in zip(looks, shares, strict=True)]
    sampled = list(range(len(frames)))
    tries += [(reading, sampled, search_share) for reading in searches]
    blind = WatermarkDetection(False, None, None, 0.0, 1.0, 0)
    evidence = _Evidence()
    decoded: dict[str, _LazyLogits] = {}
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
                _read(decoded, reading, everything, early), key, known, runs[early]
            )
            if glance is None or glance.false_positive > EARLY_STOP_FALSE_POSITIVE:
                continue
        read = _read(decoded, reading, everything, look)
        look_runs = runs[look]  # (k,)
        detection = detect_from_logits(read, key, share=blind_share, runs=look_runs)
        if detection.identified:
            return _with_timeline(
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
                found = _identified(match, known_share, len(look), "registry_match", reading.name)
                return _with_timeline(found, read, look_runs, at[look], key)
        if reading is first and (match is None or match.false_positive > EARLY_STOP_FALSE_POSITIVE):
            stopped = True
    logits, look_runs, frames_used = evidence.logits, evidence.runs, len(evidence.logits)
    times = at[evidence.look]
    among = known_match(logits, key, candidates, look_runs) if candidates else None
    if among is not None and frames_used >= WORD_COUNT:
        if among.false_positive / candidate_share <= MAX_FALSE_POSITIVE:
            found = _identified(
                among, candidate_share, frames_used, "candidate_match", evidence.reading
            )
            return _with_timeline(found, logits, look_runs, times, key)
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
    return _with_timeline(result, logits, look_runs, times, key, timeline_payload)


def _read(
    decoded: dict[str, _LazyLogits],
    reading: Reading,
    frames: list[np.ndarray],
    look: list[int],
) -> np.ndarray:
    """The decoder logits of `look`'s frames in `reading`, (k, 32): each reading decodes a frame
    once, when a look first needs it."""
    if reading.name not in decoded:
        decoded[reading.name] = _LazyLogits(frames, reading)
    return decoded[reading.name].logits(look)


class _LazyLogits:
    """One reading's decoder logits of a clip's sampled frames, decoded as looks ask for them."""

    def __init__(self, frames: list[np.ndarray], reading: Reading) -> None:
        self.frames, self.reading = frames, reading
        self.values = np.zeros((len(frames), WORD_BITS), np.float32)  # (n, 32), filled as read
        self.done: set[int] = set()

    def logits(self, look: list[int]) -> np.ndarray:
        fresh = [i for i in look if i not in self.done]
        if fresh:
            edited = [self.reading.edit(self.frames[i]) for i in fresh]
            self.values[fresh] = frame_logits(edited)  # (k, 32)
            self.done.update(fresh)
        return self.values[look]


def _with_timeline(
    detection: WatermarkDetection,
    logits: np.ndarray,
    runs: np.ndarray,
    times: np.ndarray,
    key: bytes,
    payload_hex: str | None = None,
) -> WatermarkDetection:
    """`detection` with the per-frame agreement timeline against the payload it found (or
    `payload_hex`, the best evidence it has), over the frames of the look that decided."""
    payload_hex = detection.value_hex or payload_hex
    if payload_hex is None or len(logits) == 0:
        return dataclasses.replace(detection, frame_positions=tuple(int(t) for t in times))
    codeword = codeword_bits(int(payload_hex, 16), key)  # (96,)
    agreement = frame_agreement(logits, runs, codeword)  # (k,)
    return dataclasses.replace(
        detection,
        frame_positions=tuple(int(t) for t in times),
        frame_agreement=tuple(round(float(a), 4) for a in agreement),
    )


def _identified(
    match: KnownMatch, share: float, frames_used: int, method: str, reading: str
) -> WatermarkDetection:
    return WatermarkDetection(
        reading=reading,
        identified=True,
        record_id=match.payload.record_id,
        value_hex=match.payload.payload_hex,
        confidence=match.agreement,
        false_positive_probability=match.false_positive / share,
        frames_used=frames_used,
        method=method,
    )


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


def detect_from_logits(
    logits: np.ndarray, key: bytes, share: float = 1.0, runs: np.ndarray | None = None
) -> WatermarkDetection:
    """The decision part of `detect_watermark`, from decoder logits (n, 32) of sampled frames
    in time order. `runs`: each sample's run number (default: consecutive runs, as
    `sample_positions` gives). `share`: the fraction of the 1e-9 budget this decision may spend,
    when the caller's procedure takes several that may each identify (union bound); the
    reported false-positive probability is the bound divided by it, so identification stays
    "at most 1e-9"."""
    nothing = WatermarkDetection(False, None, None, 0.0, 1.0, len(logits))
    if len(logits) < WORD_COUNT:
        return nothing  # fewer samples than words: 64 bits cannot be read from one word
    soft = soft_bits(logits)  # (n, 32)
    runs = np.arange(len(logits)) if runs is None else np.asarray(runs)
    best, fp = None, 1.0
    for estimate in groupings(soft, runs):  # (96,) each
        decoded = _chase_decode((estimate > 0).astype(np.uint8), np.abs(estimate), key)
        if decoded is None:
            continue
        codeword = codeword_bits(int(decoded.value_hex, 16), key)  # (96,)
        bound = soft_false_positive(estimate, codeword, BLIND_HYPOTHESES) / share
        if best is None or bound < fp:
            best, fp = decoded, bound
        if fp <= MAX_FALSE_POSITIVE:
            break  # identified: the bound already counts every grouping, tried or not
    if best is None:
        return nothing
    identified = fp <= MAX_FALSE_POSITIVE
    return WatermarkDetection(
        identified=identified,
        record_id=best.record_id if identified else None,
        value_hex=best.value_hex if identified else None,
        confidence=best.agreeing_bits / CODEWORD_BITS,
        false_positive_probability=fp,
        frames_used=len(logits),
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
