"""Mesh warp: the backward map inverts the forward field, and its setup skips LAPACK."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from scipy.spatial import Delaunay
from skimage import data

from generator import mesh_warp
from generator.face_analysis import analyse_portrait
from generator.mesh_warp import _barycentric_transforms
from generator.motion import CHANNEL, MOTION_CHANNELS
from generator.renderer import FaceRenderer

# Speech-like poses (a few degrees of head motion, the jaw, a blink) and the extremes.
POSES = [
    {"jaw_open": 0.6, "yaw": 0.3, "pitch": -0.2},
    {"jaw_open": 1.0, "yaw": -0.4, "smile": 0.5},
    {"blink_left": 1.0, "blink_right": 1.0, "pitch": 0.3},
    {"jaw_open": 0.8, "blink_left": 0.9, "gaze_x": 1.0, "roll": 0.05},
    {"yaw": 1.5, "jaw_open": 0.3},
]


@pytest.fixture(scope="module")
def renderer():
    return FaceRenderer(analyse_portrait(data.astronaut()))


def _latent(**channels: float) -> np.ndarray:
    latent = np.zeros(len(MOTION_CHANNELS), np.float32)
    for name, value in channels.items():
        latent[CHANNEL[name]] = value
    return latent


def _residual(renderer: FaceRenderer, latent: np.ndarray) -> np.ndarray:
    """|p + d(p) - q| in canvas pixels at every output grid point q, p from the backward map."""
    warp = renderer._warp
    moves, _ = renderer._deformer.displacement(latent)
    offsets = warp.grid_offsets(moves)  # (gh, gw, 2)
    forward = warp._field4(moves)  # (gh, gw, 4) canvas pixels
    px, py = warp._grid_x + offsets[..., 0], warp._grid_y + offsets[..., 1]
    scale, (ox, oy) = warp._to_grid, warp._grid_offset32
    at_p = cv2.remap(
        forward, px * scale + ox, py * scale + oy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )
    return np.hypot(px + at_p[..., 0] - warp._grid_x, py + at_p[..., 1] - warp._grid_y)


@pytest.mark.parametrize("pose", POSES)
def test_the_backward_map_inverts_the_forward_field(renderer, pose):
    residual = _residual(renderer, _latent(**pose))
    # Folds (closed lids, closed lips) have no inverse; they are far under 1 % of the grid.
    assert np.percentile(residual, 99) < 0.05


def test_a_cruder_inverse_fails_the_accuracy_check(renderer, monkeypatch):
    """The check can fail: one fixed-point step and no Newton leave pixels off."""
    monkeypatch.setattr(mesh_warp, "FIXED_POINT_STEPS", 1)
    monkeypatch.setattr(mesh_warp, "INVERSE_STEPS", 0)
    worst = max(np.percentile(_residual(renderer, _latent(**pose)), 99) for pose in POSES)
    assert worst > 0.05


def test_barycentric_transforms_are_scipys():
    rng = np.random.default_rng(0)
    points = np.concatenate([rng.uniform(0, 512, (300, 2)), [[0, 0], [511, 0], [0, 511]]])
    tri = Delaunay(points)
    ours = _barycentric_transforms(points, tri.simplices)
    np.testing.assert_allclose(ours, tri.transform, rtol=0, atol=1e-9)
    flat = np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0]])  # a degenerate triangle
    assert np.isnan(_barycentric_transforms(flat, np.array([[0, 1, 2]]))).all()


def test_the_warp_setup_gives_scipys_weights_without_its_lapack_transforms(renderer, monkeypatch):
    """SciPy's own transforms (one LAPACK solve per triangle, each waking OpenBLAS's threads)
    are never computed, and the weights are the ones they would give."""
    from scipy.spatial import _qhull

    vertices = renderer._warp.mesh.rest[:, :2]
    points = np.random.default_rng(1).uniform(0, 511, (5000, 2))
    tri = Delaunay(vertices)
    simplex = tri.find_simplex(points)  # SciPy alone, LAPACK included
    bary = np.einsum("pij,pj->pi", tri.transform[simplex, :2], points - tri.transform[simplex, 2])
    expected = np.zeros((len(points), len(vertices)))
    corners = tri.simplices[simplex]
    weights = np.clip(np.concatenate([bary, 1.0 - bary.sum(1, keepdims=True)], 1), 0, 1)
    np.put_along_axis(expected, corners, weights / weights.sum(1, keepdims=True), axis=1)

    def no_lapack(*args, **kwargs):
        raise AssertionError("SciPy computed its barycentric transforms")

    monkeypatch.setattr(_qhull, "_get_barycentric_transforms", no_lapack)
    ours = mesh_warp._barycentric_matrix(vertices, points).toarray()
    np.testing.assert_allclose(ours, expected, rtol=0, atol=1e-6)
