"""Face deformation: the motion latent as per-vertex moves of the dense face mesh.

VASA-1's face decoder turns its latent into a warp of the source appearance; here the latent
is explicit and its decoder is geometric, on the 3D mesh:
- head rotation is a 3D rotation of the mesh about a centre behind the face, projected
  orthographically, so the far cheek compresses and the near one widens;
- the jaw rotates about the axis through both jaw joints and carries the chin; the lips part
  along their own contours (their rest gap closed at jaw_open = 0, so silence is closed);
- a blink slides the upper-lid skin down to the lower lid (the skin above stretches), gaze
  moves the iris points inside the eye opening;
- lip width, rounding, smile and brows are smooth local fields around their control points.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from generator.face_analysis import CANVAS
from generator.landmarks import MIRROR_PAIRS
from generator.mesh_warp import STILL_BAND_PX, WarpMesh
from generator.motion import CHANNEL

UPPER_INNER_LIP = np.array([78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308])
LOWER_INNER_LIP = np.array([78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308])
OUTER_LIP = np.array(
    [61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291, 375, 321, 405, 314, 17, 84, 181, 91, 146]
)
EYES = (  # (upper lid, lower lid), corner to corner; image-left eye first
    (
        np.array([33, 246, 161, 160, 159, 158, 157, 173, 133]),
        np.array([33, 7, 163, 144, 145, 153, 154, 155, 133]),
    ),
    (
        np.array([362, 398, 384, 385, 386, 387, 388, 466, 263]),
        np.array([362, 382, 381, 380, 374, 373, 390, 249, 263]),
    ),
)
IRISES = (np.arange(468, 473), np.arange(473, 478))
BROWS = np.array([70, 63, 105, 66, 107, 55, 65, 52, 53, 46, 336, 296, 334, 293, 300])
BROW_INNER = np.array([107, 55, 66, 336, 285, 296])
MOUTH_CORNERS = np.array([61, 291, 78, 308])
JAW_JOINTS = np.array([234, 454])
NOSE_BASE = 2
JAW_CHIN_SHARE = 0.75  # chin drop over lower-lip drop
LID_OVERLAP = 0.04  # iod: closed lids overlap this much, so no white is left between them


@dataclass(frozen=True)
class FaceGeometry:
    """Amplitudes of the latent units, in inter-ocular distances unless said otherwise."""

    # Inner-lip gap at jaw_open = 1, and opening = max_mouth_gap * jaw ** jaw_gamma: speech
    # opens wide (real speech reaches a p90 of 0.44) while the widest opening, with the lips
    # narrowed and rounded, does not fold the chin under the lower lip (it did at 0.56).
    max_mouth_gap: float = 0.53
    jaw_gamma: float = 0.5
    rest_gap_kept: float = 0.25  # share of a toothy smile's own gap kept at rest (identity)
    # jaw_open below this keeps the lips closed: breath, noise, and the viseme model's
    # bilabial closures, which reach 0.03-0.1 rather than 0 (measured on espeak-ng speech).
    jaw_dead_zone: float = 0.1
    upper_lip_share: float = 0.22  # of the gap taken by the upper lip moving up
    degrees_per_unit: float = 10.0  # yaw / pitch latent unit
    depth_reach: float = 0.3  # depth beyond the face's median is soft-limited to this
    head_centre_depth: float = 0.5  # rotation centre behind the face's median depth
    lip_width: float = 0.07
    smile: float = 0.06
    brow_raise: float = 0.08
    brow_furrow: float = 0.045
    gaze_shift: float = 0.085  # iris shift at gaze = 1
    lower_lid_share: float = 0.2  # of a blink taken by the lower lid rising
    lid_skin_reach: float = 0.45  # how far above the lid edge the skin still follows a blink


@dataclass(frozen=True)
class MouthPose:
    """The inner-lip contour of one frame in output pixels, for the mouth interior."""

    upper: np.ndarray  # (11, 2) upper inner lip, corner to corner
    lower: np.ndarray  # (11, 2) lower inner lip
    opening: float  # wanted inner-lip gap at the middle, pixels


class FaceDeformer:
    """Precomputes a portrait's per-vertex bases; `displacement(latent)` per frame."""

    def __init__(
        self,
        mesh: WarpMesh,
        iod: float,
        geometry: FaceGeometry = FaceGeometry(),
        *,
        shows_teeth: bool = False,
    ):
        self.geometry = geometry
        self._shows_teeth = shows_teeth
        self.mesh = mesh
        self.iod = iod
        rest = mesh.rest
        face = rest[: mesh.face_count]
        self._rest = rest
        n = len(rest)
        self._zero = np.zeros((n, 2), np.float64)
        # Head frame: lateral axis from the mirror pairs (as in head_pose), centre behind the face.
        lateral = (face[MIRROR_PAIRS[:, 1]] - face[MIRROR_PAIRS[:, 0]]).sum(axis=0)
        self._lateral = lateral / np.linalg.norm(lateral)
        eyes = face[[33, 133, 362, 263]].mean(axis=0)
        self._head_centre = np.array(
            [
                eyes[0],
                face[NOSE_BASE, 1],
                float(np.median(face[:, 2])) + geometry.head_centre_depth * iod,
            ]
        )
        self._eye_centre = eyes[:2]
        self._head_weight = mesh.head_weight[:, None]  # (V, 1)
        # Rotation depth: the mesh's own, soft-limited so the points near the silhouette
        # (ears, temples: far behind the face) cannot pass their neighbours when the head
        # turns, which would fold the warp; the far cheek still compresses, the near widens.
        median = float(np.median(face[:, 2]))
        reach = geometry.depth_reach * iod
        self._rot_points = rest.copy()
        self._rot_points[:, 2] = median + reach * np.tanh((rest[:, 2] - median) / reach)

        self._lips(face, n)
        self._jaw(face, n)
        self._eyes(face, n)
        self._bases = self._local_bases(face)  # (K, V, 2)
        self._base_index = [CHANNEL[name] for name in _LOCAL_CHANNELS]

    # ----- per-portrait precomputation -----

    def _lips(self, face: np.ndarray, n: int) -> None:
        upper, lower = face[UPPER_INNER_LIP, :2], face[LOWER_INNER_LIP, :2]
        xs = face[:, 0]
        order_u, order_l = np.argsort(upper[:, 0]), np.argsort(lower[:, 0])
        upper_y = np.interp(xs, upper[order_u, 0], upper[order_u, 1])  # (468+,) at each x
        lower_y = np.maximum(np.interp(xs, lower[order_l, 0], lower[order_l, 1]), upper_y)
        middle = (upper_y + lower_y) / 2.0
        outer = np.round(face[OUTER_LIP, :2]).astype(np.float32)
        inside = np.array(
            [cv2.pointPolygonTest(outer, (float(x), float(y)), True) for x, y in face[:, :2]]
        )
        lip = inside > -0.02 * self.iod  # on or within the outer lip line
        lip[UPPER_INNER_LIP] = lip[LOWER_INNER_LIP] = True
        self._upper_lip = np.flatnonzero(lip & (face[:, 1] <= middle))
        self._lower_lip = np.flatnonzero(lip & (face[:, 1] > middle))
        self._upper_lip = np.union1d(
            np.setdiff1d(self._upper_lip, LOWER_INNER_LIP), UPPER_INNER_LIP
        )
        self._lower_lip = np.union1d(
            np.setdiff1d(self._lower_lip, UPPER_INNER_LIP), LOWER_INNER_LIP
        )
        corner_l, corner_r = face[78, 0], face[308, 0]
        centre, half = (corner_l + corner_r) / 2.0, max(2.0, (corner_r - corner_l) / 2.0)
        # Gap profile across the mouth: full in the middle, closed at the inner corners.
        shape = np.sqrt(np.clip(1.0 - ((xs - centre) / half) ** 2, 0.0, 1.0))
        self._rest_gap = lower_y - upper_y  # (F,) portrait's own gap at each vertex's column
        # A smile showing teeth keeps part of its gap at rest (closing it over the teeth changes
        # who the face looks like); a mouth open on darkness closes fully.
        self._kept = self.geometry.rest_gap_kept if self._shows_teeth else 0.0
        self._gap_shape = shape
        self._mouth_centre = centre

    def _jaw(self, face: np.ndarray, n: int) -> None:
        """The jaw: everything under the mouth corners, tapering to nothing at the jaw joints.

        Rotating about the joints' axis moves a point in proportion to how far in front of the
        axis it is; the mesh's own depth is too noisy near the silhouette for that (points a
        few pixels apart differ by a third of their depth, which would fold the warp), so the
        lever is a smooth function of the position across the face: full at the chin, zero
        at the joints.
        """
        joints = face[JAW_JOINTS]
        across = (self._rest - face[[61, 291]].mean(axis=0)) @ self._lateral  # (V,)
        span = max(float(np.abs((joints[1] - joints[0]) @ self._lateral)) / 2.0, 1.0)
        lever = np.cos(np.clip(across / span, -1.0, 1.0) * np.pi / 2.0) ** 1.5
        corners_y = face[[61, 291], 1].mean()
        # Weight of the jaw: 0 above the mouth-corner line, 1 a fifth of an iod below it.
        below = np.clip((self._rest[:, 1] - corners_y) / (0.2 * self.iod), 0.0, 1.0)
        weight = below * below * (3.0 - 2.0 * below) * lever
        weight[: len(face)][self._upper_lip] = 0.0
        # The neck under the chin follows the jaw part way (rings fade toward the still band).
        ring = slice(len(face), None)
        parent_weight = weight[self.mesh.parent[ring]]
        weight[ring] = np.where(
            self.mesh.below_chin[ring], 0.8 * self.mesh.head_weight[ring] * parent_weight, 0.0
        )
        # The chin drops less than the lower lip (the lip also stretches down off the teeth),
        # and never more than half the neck left above the canvas's still band, so the neck
        # compresses rather than folds under it.
        room = CANVAS - STILL_BAND_PX - float(face[152, 1])
        self._chin_share = JAW_CHIN_SHARE
        self._chin_limit = max(0.0, 0.5 * room)
        self._jaw_weight = weight  # (V,)
        # 0 at the lower lip, 1 at the chin: where the drop eases from the lip's to the chin's.
        lip_y, chin_y = float(face[17, 1]), float(face[152, 1])
        self._toward_chin = np.clip((self._rest[:, 1] - lip_y) / max(chin_y - lip_y, 1.0), 0, 1)
        down = np.array([-self._lateral[1], self._lateral[0]])
        self._jaw_down = down / np.linalg.norm(down)  # (2,) image direction of the chin's drop

    def _eyes(self, face: np.ndarray, n: int) -> None:
        self._eye_parts = []
        for (upper_idx, lower_idx), iris in zip(EYES, IRISES, strict=True):
            upper, lower = face[upper_idx, :2], face[lower_idx, :2]
            x0, x1 = float(upper[0, 0]), float(upper[-1, 0])
            lo, hi = min(x0, x1), max(x0, x1)
            xs = face[:, 0]
            ou, ol = np.argsort(upper[:, 0]), np.argsort(lower[:, 0])
            up_y = np.interp(xs, upper[ou, 0], upper[ou, 1])
            low_y = np.maximum(np.interp(xs, lower[ol, 0], lower[ol, 1]), up_y)
            half = max(2.0, (hi - lo) / 2.0)
            bump = np.clip(1.0 - ((xs - (lo + hi) / 2.0) / half) ** 2, 0.0, 1.0)  # 0 at corners
            # Lid travel at each vertex's column: the opening, plus a little so that the lids
            # meet with no sliver of eye left between them at the warp's 2-px grid.
            height = (low_y - up_y + LID_OVERLAP * self.iod) * np.sqrt(bump)  # (F,)
            reach = self.geometry.lid_skin_reach * self.iod
            above = (up_y - face[:, 1]) / reach  # 0 at the lid edge, 1 well above
            lid_skin = np.where(
                (above >= -0.05) & (above < 1.0), (1.0 - np.clip(above, 0.0, 1.0)) ** 1.5, 0.0
            )
            lid_skin[lower_idx] = 0.0
            lid_skin[upper_idx] = 1.0
            lid_skin[BROWS] = 0.0
            lid_skin[468:] = 0.0  # iris points move with the opening, below
            inside = np.zeros(len(face), bool)
            inside[iris] = True
            self._eye_parts.append(
                _Eye(upper_idx, lower_idx, iris, height, lid_skin, up_y, low_y, inside)
            )

    def _local_bases(self, face: np.ndarray) -> np.ndarray:
        """(K, V, 2) forward moves per unit of the smooth local channels (_LOCAL_CHANNELS)."""
        g, iod = self.geometry, self.iod
        anchors = np.concatenate([np.arange(27, 35), [1, 4, 5, 6, 168], EYES[0][0], EYES[1][0]])
        lip_l = np.array([61, 78, 146, 185, 95, 191])
        lip_r = np.array([291, 308, 375, 409, 324, 415])

        def local(idx: np.ndarray, moves: np.ndarray, sigma: float) -> np.ndarray:
            pts = np.concatenate([face[idx, :2], face[anchors, :2]])
            mv = np.concatenate([moves * iod, np.zeros((len(anchors), 2))])
            field = _gaussian_field(pts, mv, sigma * iod, self._rest[:, :2])
            field[idx] = moves * iod
            return field * self._face_only

        self._face_only = np.zeros((len(self._rest), 1))
        self._face_only[: len(face)] = 1.0
        self._face_only[len(face) :] = 0.5 * (self.mesh.head_weight[len(face) :, None] > 0.6)
        ones = np.ones((6, 1))
        out = np.array([-1.0, 0.0]) * ones, np.array([1.0, 0.0]) * ones
        width = local(np.concatenate([lip_l, lip_r]), np.concatenate(out), 0.12) * g.lip_width
        rnd = np.concatenate([np.array([1.0, 0.0]) * ones, np.array([-1.0, 0.0]) * ones])
        rounding = local(np.concatenate([lip_l, lip_r]), rnd, 0.12) * g.lip_width
        up = np.concatenate([np.array([-0.4, -1.0]) * ones, np.array([0.4, -1.0]) * ones])
        smile = local(np.concatenate([lip_l, lip_r]), up, 0.14) * g.smile
        brow_up = np.tile([0.0, -1.0], (len(BROWS), 1))
        raise_ = local(BROWS, brow_up, 0.16) * g.brow_raise
        inner = face[BROW_INNER, 0]
        toward = np.sign(self._eye_centre[0] - inner)[:, None] * np.array([[0.5, 0.0]])
        furrow = local(BROW_INNER, toward + np.array([[0.0, 1.0]]), 0.14) * g.brow_furrow
        return np.stack([width, rounding, smile, raise_, furrow])  # order = _LOCAL_CHANNELS

    # ----- per frame -----

    def displacement(self, latent: np.ndarray) -> tuple[np.ndarray, MouthPose]:
        """(C,) latent -> (V, 2) forward moves of every vertex, and the frame's inner lips."""
        g, iod = self.geometry, self.iod
        rest = self._rest
        weights = latent[self._base_index].astype(np.float64)  # (K,)
        moves = np.tensordot(weights, self._bases, axes=1)  # (V, 2)

        # Mouth: close the portrait's own gap, then open to the wanted gap.
        jaw = float(latent[CHANNEL["jaw_open"]])
        jaw = max(0.0, (jaw - g.jaw_dead_zone) / (1.0 - g.jaw_dead_zone))
        opening = jaw**g.jaw_gamma * g.max_mouth_gap * iod
        gap = opening * self._gap_shape  # (F,)
        up, low = self._upper_lip, self._lower_lip
        closing = (1.0 - self._kept) * self._rest_gap / 2.0  # (F,)
        moves[up, 1] += closing[up] - g.upper_lip_share * gap[up]
        lip_drop = (1.0 - g.upper_lip_share) * opening
        chin_share = min(self._chin_share, self._chin_limit / max(lip_drop, 1e-6))
        drop = lip_drop * (1.0 - (1.0 - chin_share) * self._toward_chin)  # (V,)
        jaw_move = (self._jaw_weight * drop)[:, None] * self._jaw_down  # (V, 2)
        moves += jaw_move
        lip_target = -closing[low] + (1.0 - g.upper_lip_share) * gap[low]
        moves[low, 1] += lip_target - jaw_move[low, 1]

        # Eyes: lids (skin slides down), iris points with the gaze and squeezed by the lids.
        gaze = np.array([latent[CHANNEL["gaze_x"]], 0.5 * latent[CHANNEL["gaze_y"]]])
        for eye, blink in zip(
            self._eye_parts,
            (float(latent[CHANNEL["blink_right"]]), float(latent[CHANNEL["blink_left"]])),
            strict=True,
        ):
            eye.move(moves, rest, blink, gaze * g.gaze_shift * iod, g.lower_lid_share)

        # Head: 3D rotation about the centre behind the face, plus shift and scale.
        yaw = math.radians(float(latent[CHANNEL["yaw"]]) * g.degrees_per_unit)
        pitch = math.radians(float(latent[CHANNEL["pitch"]]) * g.degrees_per_unit)
        roll = float(latent[CHANNEL["roll"]])
        rotation = _rotation(yaw, pitch, roll)
        rel = self._rot_points - self._head_centre  # (V, 3)
        head = (rel @ rotation.T - rel)[self.mesh.parent]  # rings move as their oval point
        head[:, 0] += float(latent[CHANNEL["shift_x"]]) * iod
        head[:, 1] += float(latent[CHANNEL["shift_y"]]) * iod
        head[:, :2] += float(latent[CHANNEL["scale"]]) * (rest[:, :2] - self._eye_centre)
        # The face's own moves turn with the head (first order: they are small).
        moves = moves @ rotation[:2, :2].T
        moves += self._head_weight * head[:, :2]

        out = rest[:, :2] + moves
        mouth = MouthPose(out[UPPER_INNER_LIP], out[LOWER_INNER_LIP], opening)
        return moves, mouth


_LOCAL_CHANNELS = ("lip_width", "lip_round", "smile", "brow_raise", "brow_furrow")


@dataclass
class _Eye:
    upper: np.ndarray  # lid contour vertex indices
    lower: np.ndarray
    iris: np.ndarray
    height: np.ndarray  # (F,) opening height at each face vertex's column
    lid_skin: np.ndarray  # (F,) share of the lid travel each face vertex takes
    up_y: np.ndarray  # (F,) upper lid edge y at each vertex's column
    low_y: np.ndarray
    inside: np.ndarray  # (F,) bool, vertices inside the opening (the iris points)

    def move(
        self, moves: np.ndarray, rest: np.ndarray, blink: float, gaze: np.ndarray, lower: float
    ) -> None:
        f = len(self.height)
        travel = blink * self.height  # (F,)
        lid = (1.0 - lower) * travel
        moves[:f, 1] += self.lid_skin * lid
        moves[self.lower, 1] -= lower * travel[self.lower]
        # Points in the opening keep their place between the moving lids, then follow the gaze.
        iris = self.iris
        top = self.up_y[iris] + lid[iris]
        bottom = self.low_y[iris] - lower * travel[iris]
        span = np.maximum(self.low_y[iris] - self.up_y[iris], 1e-3)
        t = np.clip((rest[iris, 1] - self.up_y[iris]) / span, 0.0, 1.0)
        squeeze = top + t * (bottom - top) - rest[iris, 1]
        # Iris points under a lid (the iris is larger than the opening) stay: moving them
        # would drag lid skin and lashes with the gaze.
        opened = np.clip((rest[iris, 1] - self.up_y[iris]) / 2.0, 0.0, 1.0) * np.clip(
            (self.low_y[iris] - rest[iris, 1]) / 2.0, 0.0, 1.0
        )
        follow = opened * (1.0 - blink)
        moves[iris, 0] += gaze[0] * follow
        moves[iris, 1] += squeeze + gaze[1] * follow


def _rotation(yaw: float, pitch: float, roll: float) -> np.ndarray:
    """(3, 3) rotation in canvas axes (x right, y down, z away): yaw > 0 turns the face to
    image right, pitch > 0 up, roll > 0 clockwise."""
    cy, sy = math.cos(yaw), math.sin(yaw)
    cp, sp = math.cos(pitch), math.sin(pitch)
    cr, sr = math.cos(roll), math.sin(roll)
    r_yaw = np.array([[cy, 0.0, -sy], [0.0, 1.0, 0.0], [sy, 0.0, cy]])
    r_pitch = np.array([[1.0, 0.0, 0.0], [0.0, cp, sp], [0.0, -sp, cp]])
    r_roll = np.array([[cr, -sr, 0.0], [sr, cr, 0.0], [0.0, 0.0, 1.0]])
    return r_roll @ r_yaw @ r_pitch


def _rotate(points: np.ndarray, axis: np.ndarray, angle: float) -> np.ndarray:
    """Rodrigues: (N, 3) points rotated by `angle` radians about the unit `axis`."""
    cos, sin = math.cos(angle), math.sin(angle)
    cross = np.cross(axis, points)
    dot = points @ axis
    return points * cos + cross * sin + np.outer(dot, axis) * (1.0 - cos)


def _gaussian_field(
    points: np.ndarray, moves: np.ndarray, sigma: float, at: np.ndarray
) -> np.ndarray:
    """Forward displacement at `at` (N, 2) from control points' moves, Gaussian-weighted.

    Normalising by max(sum of weights, 1) gives each control point its own move and a smooth
    fall-off to zero away from all of them, with no RBF overshoot.
    """
    d2 = ((at[:, None, :] - points[None, :, :]) ** 2).sum(-1)  # (N, P)
    weight = np.exp(-0.5 * d2 / sigma**2)
    total = np.maximum(weight.sum(-1, keepdims=True), 1.0)
    return (weight @ moves) / total  # (N, 2)
