"""Head pose from the 3D mesh: angles that follow the head, and acceptance that uses them."""

from __future__ import annotations

import math

import cv2
import face_recognition_models
import numpy as np
import pytest
from skimage import data

from generator.errors import FaceError
from generator.face_analysis import analyse_portrait, detect_faces
from generator.head_pose import head_pose
from generator.landmarks import FaceBox, default_provider


@pytest.fixture(scope="module")
def astronaut() -> np.ndarray:
    return data.astronaut()


@pytest.fixture(scope="module")
def mesh(astronaut) -> np.ndarray:
    """The astronaut's mesh in source pixels (she faces the camera within a few degrees)."""
    (box,) = detect_faces(astronaut)
    return default_provider().mesh(astronaut, box)


def _turned(mesh: np.ndarray, *, yaw: float = 0.0, pitch: float = 0.0) -> np.ndarray:
    """The mesh rotated about its centre in 3D (x right, y down, z away), degrees."""
    cy, sy = math.cos(math.radians(yaw)), math.sin(math.radians(yaw))
    cp, sp = math.cos(math.radians(pitch)), math.sin(math.radians(pitch))
    r_yaw = np.array([[cy, 0, -sy], [0, 1, 0], [sy, 0, cy]])
    r_pitch = np.array([[1, 0, 0], [0, cp, sp], [0, -sp, cp]])
    centre = mesh.mean(axis=0)
    return ((mesh - centre) @ (r_yaw @ r_pitch).T + centre).astype(np.float32)


class _Provider:
    """Stands in for the mesh model: the astronaut's real mesh, turned in 3D."""

    def __init__(self, mesh: np.ndarray) -> None:
        self._mesh = mesh

    def mesh(self, image: np.ndarray, box: FaceBox) -> np.ndarray:
        return self._mesh


def test_a_frontal_portrait_reads_near_zero(mesh):
    pose = head_pose(mesh)
    assert abs(pose.yaw) < 5 and abs(pose.roll) < 6 and abs(pose.pitch) < 12


@pytest.mark.parametrize("yaw", [-40.0, -20.0, 20.0, 40.0])
def test_yaw_follows_a_3d_turn_of_the_mesh(mesh, yaw):
    base = head_pose(mesh)
    turned = head_pose(_turned(mesh, yaw=yaw))
    assert turned.yaw - base.yaw == pytest.approx(yaw, abs=3.0)
    assert turned.pitch == pytest.approx(base.pitch, abs=3.0)


def test_the_mirror_image_turns_the_other_way(astronaut):
    mirrored = analyse_portrait(np.ascontiguousarray(astronaut[:, ::-1]))
    original = analyse_portrait(astronaut)
    assert mirrored.pose.yaw == pytest.approx(-original.pose.yaw, abs=2.0)
    assert mirrored.pose.roll == pytest.approx(-original.pose.roll, abs=2.0)


def test_a_tilted_photo_is_roll_not_turn_and_is_aligned_level(astronaut):
    centre = (256.0, 110.0)
    tilted = cv2.warpAffine(astronaut, cv2.getRotationMatrix2D(centre, 25, 1.0), (512, 512))
    analysis = analyse_portrait(tilted)
    upright = analyse_portrait(astronaut)
    assert analysis.pose.roll - upright.pose.roll == pytest.approx(-25.0, abs=3.0)
    assert abs(analysis.pose.yaw - upright.pose.yaw) < 4.0
    eyes = analysis.mesh[[468, 473], 1]
    assert abs(eyes[0] - eyes[1]) < 3.0  # roll is aligned away on the canvas


def test_grey_and_low_resolution_portraits_are_accepted(astronaut):
    grey = np.repeat(cv2.cvtColor(astronaut, cv2.COLOR_RGB2GRAY)[..., None], 3, axis=2)
    assert abs(analyse_portrait(grey).pose.yaw) < 10
    # A 45-px face blown up to about 100 px: the detail of a small, soft photo.
    tiny = cv2.resize(astronaut, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)
    soft = cv2.resize(tiny, None, fx=2.25, fy=2.25, interpolation=cv2.INTER_LINEAR)
    (box,) = detect_faces(soft)
    assert 90 <= box.width <= 115
    analysis = analyse_portrait(soft)
    assert abs(analysis.pose.yaw) < 10 and analysis.source_scale > 1.0


@pytest.mark.parametrize(("yaw", "pitch"), [(30.0, 0.0), (-30.0, 0.0), (0.0, 15.0)])
def test_turns_the_renderer_handles_are_accepted(astronaut, mesh, yaw, pitch):
    base = head_pose(mesh)
    turned = _turned(mesh, yaw=yaw - base.yaw, pitch=pitch - base.pitch)
    analysis = analyse_portrait(astronaut, provider=_Provider(turned))
    assert analysis.pose.yaw == pytest.approx(yaw, abs=3.0)


def test_a_profile_is_refused_with_its_angle_and_the_limit(astronaut, mesh):
    turned = _turned(mesh, yaw=50.0 - head_pose(mesh).yaw)
    with pytest.raises(FaceError) as caught:
        analyse_portrait(astronaut, provider=_Provider(turned))
    assert caught.value.code == "face_turned"
    assert caught.value.message == "face turned too far from the camera (yaw 50 degrees; limit 35)"


def test_a_face_tilted_far_up_is_refused_with_its_angle_and_the_limit(astronaut, mesh):
    turned = _turned(mesh, pitch=28.0 - head_pose(mesh).pitch)
    with pytest.raises(FaceError, match=r"^face tilted too far up or down \(pitch 28 degrees; "):
        analyse_portrait(astronaut, provider=_Provider(turned))


def test_the_68_point_model_is_not_used_to_analyse_a_portrait(astronaut, monkeypatch):
    def refuse() -> str:
        raise AssertionError("the non-commercial 68-point model was loaded")

    monkeypatch.setattr(face_recognition_models, "pose_predictor_model_location", refuse)
    assert analyse_portrait(astronaut).mesh.shape == (478, 3)
