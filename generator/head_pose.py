"""Head pose (yaw, pitch, roll) from a 3D fit of the face mesh.

The face's own frame is fitted to the 3D mesh: its lateral axis is the least-squares
direction of the mirror pairs (eye corners, cheeks, jaw, mouth corners, ...), its vertical
axis runs from the eyes to the mouth, and forward is their cross product. Angles are read
from that frame, so a laughing mouth, a tilted head or a small grey photo do not pass for a
turn, as a 2D nose-between-the-jaw-ends heuristic would.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from generator.landmarks import MIRROR_PAIRS

# Eye corners and mouth corners: near one plane on a real face, so the eyes-to-mouth axis is
# upright when the head is, whatever the mouth does (its corners barely move vertically).
_EYE_CORNERS = np.array([33, 133, 362, 263])
_MOUTH_CORNERS = np.array([61, 291])


@dataclass(frozen=True)
class HeadPose:
    """Degrees. yaw > 0: face turned toward image right; pitch > 0: up; roll > 0: clockwise."""

    yaw: float
    pitch: float
    roll: float


def head_pose(mesh: np.ndarray) -> HeadPose:
    """(478, 3) mesh in pixels (x right, y down, z away from the camera) -> HeadPose."""
    mesh = np.asarray(mesh, np.float64)
    across = mesh[MIRROR_PAIRS[:, 1]] - mesh[MIRROR_PAIRS[:, 0]]  # (P, 3) left -> right
    lateral = across.sum(axis=0)  # longer pairs (cheeks, jaw) weigh more: they are surer
    lateral /= np.linalg.norm(lateral)
    down = mesh[_MOUTH_CORNERS].mean(axis=0) - mesh[_EYE_CORNERS].mean(axis=0)
    down -= lateral * float(down @ lateral)
    down /= np.linalg.norm(down)
    forward = np.cross(down, lateral)  # (3,) toward the camera for a frontal face: -z
    yaw = math.degrees(math.atan2(forward[0], -forward[2]))
    pitch = math.degrees(math.atan2(-forward[1], math.hypot(forward[0], forward[2])))
    roll = math.degrees(math.atan2(lateral[1], lateral[0]))
    return HeadPose(yaw=yaw, pitch=pitch, roll=roll)
