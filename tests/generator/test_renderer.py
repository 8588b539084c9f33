"""Renderer: each latent channel moves what it should, measured with dlib on the frames.

The judge is dlib's 68-point model, independent of the MediaPipe mesh the renderer is built
on (its non-commercial licence allows this research use; the generator itself never loads it).
"""

from __future__ import annotations

from functools import lru_cache

import dlib
import face_recognition_models
import numpy as np
import pytest
from skimage import data

from generator.face_analysis import analyse_portrait
from generator.landmarks import inter_ocular
from generator.motion import CHANNEL, MOTION_CHANNELS
from generator.renderer import FaceRenderer


@pytest.fixture(scope="module")
def analysis():
    return analyse_portrait(data.astronaut())


@pytest.fixture(scope="module")
def renderer(analysis):
    return FaceRenderer(analysis)


@pytest.fixture(scope="module")
def portrait_points(analysis) -> np.ndarray:
    """The judge's 68 points on the aligned portrait itself: what frames are compared with."""
    return _landmarks(analysis.aligned, analysis.landmarks)


def _latent(**channels: float) -> np.ndarray:
    latent = np.zeros(len(MOTION_CHANNELS), np.float32)
    for name, value in channels.items():
        latent[CHANNEL[name]] = value
    return latent


@lru_cache(maxsize=1)
def _dlib68() -> dlib.shape_predictor:
    return dlib.shape_predictor(face_recognition_models.pose_predictor_model_location())


def _landmarks(frame: np.ndarray, near: np.ndarray) -> np.ndarray:
    """dlib 68 points on a rendered frame, in a box around where the face was (fast)."""
    left, top = near.min(axis=0) - 8
    right, bottom = near.max(axis=0) + 8
    rect = dlib.rectangle(int(left), int(top), int(right), int(bottom))
    shape = _dlib68()(np.ascontiguousarray(frame), rect)
    return np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float32)  # (68, 2)


def _opening(points: np.ndarray) -> float:
    gaps = [np.linalg.norm(points[a] - points[b]) for a, b in ((61, 67), (62, 66), (63, 65))]
    return float(np.mean(gaps)) / inter_ocular(points)


def _eye_aspect(points: np.ndarray) -> float:
    def one(eye: np.ndarray) -> float:
        vertical = np.linalg.norm(eye[1] - eye[5]) + np.linalg.norm(eye[2] - eye[4])
        return float(vertical / (2 * np.linalg.norm(eye[0] - eye[3])))

    return (one(points[36:42]) + one(points[42:48])) / 2


def test_a_rest_latent_keeps_the_face_in_place(renderer, analysis, portrait_points):
    frame = renderer.render(_latent(), analysis.aligned)
    points = _landmarks(frame, analysis.landmarks)
    moved = np.linalg.norm(points[:48] - portrait_points[:48], axis=1)
    assert np.median(moved) < 2.0
    # Above the mouth the rest frame is the portrait itself.
    top = slice(0, int(analysis.landmarks[33, 1]))
    assert np.abs(frame[top].astype(int) - analysis.aligned[top]).mean() < 1.0


def test_the_rest_mouth_is_closed_although_the_portrait_shows_teeth(
    renderer, analysis, portrait_points
):
    assert _opening(portrait_points) > 0.1  # the astronaut smiles with her teeth showing
    frame = renderer.render(_latent(), analysis.aligned)
    assert _opening(_landmarks(frame, analysis.landmarks)) < 0.05


def test_jaw_open_opens_the_inner_lips_in_step(renderer, analysis):
    openings = [
        _opening(
            _landmarks(renderer.render(_latent(jaw_open=j), analysis.aligned), analysis.landmarks)
        )
        for j in (0.0, 0.4, 0.8)
    ]
    assert openings[0] < openings[1] < openings[2]
    assert openings[2] > 0.15


def test_a_blink_closes_both_eyes(renderer, analysis):
    open_eyes = _eye_aspect(
        _landmarks(renderer.render(_latent(), analysis.aligned), analysis.landmarks)
    )
    frame = renderer.render(_latent(blink_left=1.0, blink_right=1.0), analysis.aligned)
    assert _eye_aspect(_landmarks(frame, analysis.landmarks)) < 0.6 * open_eyes


def test_one_eye_can_blink_alone(renderer, analysis):
    frame = renderer.render(_latent(blink_right=1.0), analysis.aligned)
    rest = renderer.render(_latent(), analysis.aligned)
    right_eye = np.s_[150:230, 130:230]  # image-left eye on the canvas
    left_eye = np.s_[150:230, 290:390]
    assert np.abs(frame[right_eye].astype(int) - rest[right_eye]).mean() > 3.0
    assert np.abs(frame[left_eye].astype(int) - rest[left_eye]).mean() < 0.5


def test_gaze_shifts_the_iris_not_the_eye(renderer, analysis, portrait_points):
    def iris_x(frame: np.ndarray) -> float:
        eye = analysis.landmarks[36:42]
        x0, x1 = int(eye[0, 0]), int(eye[3, 0])
        y0, y1 = int(eye[[1, 2], 1].mean()) + 2, int(eye[[4, 5], 1].mean()) - 1  # between lashes
        patch = frame[y0:y1, x0:x1].astype(float).mean(axis=2)
        darkness = np.clip(patch.max() - patch, 0, None) ** 2
        return float((darkness.sum(axis=0) * np.arange(x1 - x0)).sum() / darkness.sum())

    right = renderer.render(_latent(gaze_x=1.0), analysis.aligned)
    left = renderer.render(_latent(gaze_x=-1.0), analysis.aligned)
    assert iris_x(right) - iris_x(left) > 4.0
    corners = portrait_points[[36, 39]]
    moved = _landmarks(right, analysis.landmarks)[[36, 39]] - corners
    assert np.abs(moved).max() < 3.0


def test_head_yaw_moves_the_nose_and_leaves_the_background(renderer, analysis, portrait_points):
    frame = renderer.render(_latent(yaw=1.0), analysis.aligned)
    nose = _landmarks(frame, analysis.landmarks)[30]
    assert nose[0] - portrait_points[30, 0] > 0.04 * inter_ocular(analysis.landmarks)
    corner = np.s_[:40, :40]
    assert np.abs(frame[corner].astype(int) - analysis.aligned[corner]).max() <= 1


@pytest.mark.parametrize(
    "pose",
    [
        {"yaw": 1.5, "pitch": -1.2, "roll": 0.08, "shift_x": 0.1, "shift_y": -0.08, "scale": 0.04},
        {"yaw": -1.5, "pitch": 1.2, "roll": -0.08, "shift_x": -0.1, "jaw_open": 1.0, "smile": 1.0},
        {"jaw_open": 1.0, "lip_width": -1.0, "lip_round": 1.0, "brow_furrow": 1.0},
    ],
)
def test_strong_head_motion_never_folds_or_tears_the_image(renderer, analysis, pose):
    coords, _ = renderer.source_map(_latent(**pose))
    dx = np.diff(coords, axis=1)[:-1]  # (511, 511, 2) d/dx
    dy = np.diff(coords, axis=0)[:, :-1]  # d/dy
    jacobian = dx[..., 0] * dy[..., 1] - dx[..., 1] * dy[..., 0]
    step = np.maximum(np.abs(dx).max(axis=-1), np.abs(dy).max(axis=-1))
    # Inside the eyes and lips the maps cut on purpose (lids, closed lips, cavity); everywhere
    # else, where head meets background, orientation is kept and neighbours stay neighbours.
    (x0, y0), (x1, y1) = (
        analysis.landmarks[36:68].min(0) - 30,
        analysis.landmarks[36:68].max(0) + 30,
    )
    outside = np.ones_like(jacobian, dtype=bool)
    outside[int(y0) : int(y1), int(x0) : int(x1)] = False
    assert jacobian[outside].min() > 0.2
    # The far side of a head turned 15 degrees compresses about 3x (a 3D turn, not a slide);
    # a tear is a jump of many pixels between neighbours.
    assert step[outside].max() < 4.0


def test_happy_lifts_the_mouth_corners(renderer, analysis):
    frame = renderer.render(_latent(smile=1.0), analysis.aligned)
    points = _landmarks(frame, analysis.landmarks)
    rest = _landmarks(renderer.render(_latent(), analysis.aligned), analysis.landmarks)
    assert (rest[[48, 54], 1] - points[[48, 54], 1]).mean() > 2.0


def test_brow_raise_lifts_the_brows(renderer, analysis, portrait_points):
    frame = renderer.render(_latent(brow_raise=1.0), analysis.aligned)
    points = _landmarks(frame, analysis.landmarks)
    assert (portrait_points[17:27, 1] - points[17:27, 1]).mean() > 3.0


def test_it_warps_the_canvas_it_is_given(renderer, analysis):
    """The watermarked canvas, not analysis.aligned, is what every frame is made of."""
    rng = np.random.default_rng(0)
    marked = np.clip(analysis.aligned.astype(int) + rng.integers(-3, 4, (512, 512, 3)), 0, 255)
    marked = marked.astype(np.uint8)
    latent = _latent(jaw_open=0.5, yaw=0.5, blink_left=0.5)
    plain = renderer.render(latent, analysis.aligned).astype(int)
    frame = renderer.render(latent, marked).astype(int)
    warped_mark = frame - plain
    corner = np.s_[:60, :60]  # the background there does not move: the mark is there as is
    assert np.array_equal(
        warped_mark[corner], marked[corner].astype(int) - analysis.aligned[corner]
    )
    assert np.abs(warped_mark).mean() > 1.0


def test_nearer_head_distance_makes_the_face_bigger(analysis, portrait_points):
    near = FaceRenderer(analysis, head_distance=1.2).render(_latent(), analysis.aligned)
    expected = analysis.landmarks * 1.2 - np.array([256, analysis.landmarks[30, 1]]) * 0.2
    points = _landmarks(near, expected)
    assert inter_ocular(points) / inter_ocular(portrait_points) == pytest.approx(1.2, abs=0.05)


def test_farther_head_distance_makes_the_head_smaller_without_mirrored_edges(
    analysis, portrait_points
):
    far = FaceRenderer(analysis, head_distance=0.8).render(_latent(), analysis.aligned)
    centre = analysis.landmarks[36:48].mean(axis=0)  # the head shrinks toward the eyes
    expected = centre + (analysis.landmarks - centre) * 0.8
    points = _landmarks(far, expected)
    assert inter_ocular(points) / inter_ocular(portrait_points) == pytest.approx(0.8, abs=0.05)
    corner = np.s_[:16, :16]  # the far background is the canvas itself, not a reflection
    assert np.array_equal(far[corner], analysis.aligned[corner])


def test_a_full_blink_reads_as_closed_eyes_to_the_face_mesh(renderer, analysis):
    from generator.landmarks import FaceBox, default_provider

    def eye_aspect(frame: np.ndarray) -> float:
        (x0, y0), (x1, y1) = analysis.mesh[:, :2].min(0), analysis.mesh[:, :2].max(0)
        mesh = default_provider().mesh(frame, FaceBox(int(x0), int(y0), int(x1), int(y1), 1.0))
        assert mesh is not None

        def one(top: int, bottom: int, left: int, right: int) -> float:
            height = np.linalg.norm(mesh[top, :2] - mesh[bottom, :2])
            return float(height / np.linalg.norm(mesh[left, :2] - mesh[right, :2]))

        return (one(159, 145, 33, 133) + one(386, 374, 362, 263)) / 2

    opened = eye_aspect(renderer.render(_latent(), analysis.aligned))
    closed = eye_aspect(renderer.render(_latent(blink_left=1.0, blink_right=1.0), analysis.aligned))
    # The quality benchmark counts a blink below 0.6 of the median; lids that only darken or
    # draw a line stay near 0.65 (the mesh then reads them as open).
    assert closed < 0.5 * opened
