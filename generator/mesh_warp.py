"""Dense mesh warp: per-vertex displacements in, a per-pixel backward map out.

The face mesh's 478 points plus three rings around the face oval (hair, ears, neck, then
background) and the canvas border are triangulated once per portrait (Delaunay, on their rest
positions). Every pixel of a half-resolution grid gets the barycentric weights of the
triangle it falls in, kept as one sparse (pixels x vertices) matrix, so a frame's
displacement field is a single sparse product. The field is a forward one (where each rest
point moves to); a few Newton steps invert it, which is exact wherever the warp does not
fold, and the result is upsampled to the 512 canvas for `cv2.remap`.

The border vertices never move, and the rings move less and less with the head, so the
background stays still where the head does not cover it and stretches smoothly, never tears.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from scipy.sparse import csr_matrix
from scipy.spatial import Delaunay

from generator.face_analysis import CANVAS

GRID = 256  # displacement grid side; the canvas is 2x finer (a closing lid needs it)
INVERSE_STEPS = 3  # Newton steps inverting the forward field (2 leave folds at 15 degrees)
MAX_STEP = np.float32(12.0)  # pixels: a Newton step never jumps further (near-singular spots)
TOLERANCE_PX = 0.1  # canvas pixels: an inverse this close needs no Newton step
FIXED_POINT_STEPS = 2  # cheap whole-grid steps p <- q - d(p) before Newton on what is left
FACE_OVAL = np.array(
    [10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377]
    + [152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109]
)
# Rings outside the oval: distance from the face centre (x the oval's), share of head motion.
# The outermost ring is still: beyond it the background is the canvas itself.
RINGS = ((1.25, 0.85), (1.6, 0.4), (2.1, 0.0))
BORDER_STEPS = 16  # still vertices per canvas side (and per row of the background lattice)
STILL_BAND_PX = 64.0
EDGE_FADE_PX = 96.0


@dataclass(frozen=True)
class WarpMesh:
    """The triangulated vertices of one portrait and what the renderer needs to know of them."""

    rest: np.ndarray  # (V, 3) float64 canvas x, y and depth z (toward the camera negative)
    head_weight: np.ndarray  # (V,) share of head motion: 1 on the face, 0 at the border
    below_chin: np.ndarray  # (V,) bool, ring vertices under the jaw line (neck)
    parent: np.ndarray  # (V,) int, the face-oval vertex a ring vertex follows (itself otherwise)
    face_count: int  # the first face_count vertices are the MediaPipe mesh


def build_mesh(face: np.ndarray) -> WarpMesh:
    """(478, 3) canvas mesh -> the face plus rings plus border, triangulated."""
    face = np.asarray(face, np.float64)
    oval = face[FACE_OVAL]  # (36, 3)
    centre = oval[:, :2].mean(axis=0)
    rings, weights, neck = [], [], []
    chin_y = float(face[152, 1])
    for reach, weight in RINGS:
        ring = oval.copy()
        ring[:, :2] = centre + (oval[:, :2] - centre) * reach
        ring[:, 2] = oval[:, 2] + (reach - 1.0) * 40.0  # further back than the oval
        rings.append(ring)
        below = ring[:, 1] > chin_y
        # The neck under the chin follows the head about half as much as the hair does.
        weights.append(np.where(below, 0.55 * weight, weight))
        neck.append(below)
    side = np.linspace(0.0, CANVAS - 1.0, BORDER_STEPS + 1)
    border = np.concatenate(
        [
            np.stack([side, np.zeros_like(side)], 1),
            np.stack([side, np.full_like(side, CANVAS - 1.0)], 1),
            np.stack([np.zeros_like(side), side], 1)[1:-1],
            np.stack([np.full_like(side, CANVAS - 1.0), side], 1)[1:-1],
        ]
    )
    # A still lattice over the background beyond the last ring: every triangle out there
    # has only still corners, so the background there is the canvas itself, exactly.
    lattice = np.stack(np.meshgrid(side[1:-1], side[1:-1]), -1).reshape(-1, 2)
    radius = np.interp(
        np.arctan2(*(lattice - centre).T[::-1]),
        *_polar_profile(oval[:, :2] - centre),
    )
    beyond = np.linalg.norm(lattice - centre, axis=1) > (RINGS[-2][0] + 0.3) * radius
    beyond |= np.minimum(lattice, CANVAS - 1.0 - lattice).min(axis=1) <= STILL_BAND_PX
    border = np.concatenate([border, lattice[beyond]])
    border = np.concatenate([border, np.zeros((len(border), 1))], axis=1)
    rest = np.concatenate([face, *rings, border])
    # Rings are clamped inside the canvas; one that reaches the border is held by it.
    rest[:, :2] = np.clip(rest[:, :2], 0.0, CANVAS - 1.0)
    head_weight = np.concatenate([np.ones(len(face)), *weights, np.zeros(len(border))]).astype(
        np.float64
    )
    below_chin = np.concatenate([np.zeros(len(face), bool), *neck, np.zeros(len(border), bool)])
    # Rings clamped onto the border must not move (the border holds them).
    on_edge = (rest[:, 0] <= 0.5) | (rest[:, 0] >= CANVAS - 1.5)
    on_edge |= (rest[:, 1] <= 0.5) | (rest[:, 1] >= CANVAS - 1.5)
    head_weight[on_edge] = 0.0
    # A band along the canvas edge never moves (it carries cut-off hair or shoulders, and the
    # warp must not sample beyond the canvas); the rings fade to still at its inner side.
    edge = np.minimum(rest[:, :2], CANVAS - 1.0 - rest[:, :2]).min(axis=1)
    fade = np.clip((edge - STILL_BAND_PX) / EDGE_FADE_PX, 0.0, 1.0)
    head_weight[len(face) :] *= (fade * fade * (3.0 - 2.0 * fade))[len(face) :]
    first_border = len(face) + len(RINGS) * len(FACE_OVAL)
    parent = np.concatenate(
        [np.arange(len(face)), *([FACE_OVAL] * len(RINGS)), np.arange(first_border, len(rest))]
    )
    return WarpMesh(
        rest=rest,
        head_weight=head_weight,
        below_chin=below_chin,
        parent=parent,
        face_count=len(face),
    )


class MeshWarp:
    """Per-portrait sparse barycentric matrix; `source_map(displacement)` per frame.

    zoom > 1 draws the canvas larger about `centre` (a nearer head): output pixel q shows
    canvas point centre + (q - centre) / zoom before any motion.
    """

    def __init__(self, mesh: WarpMesh, *, zoom: float = 1.0, centre: tuple = (256, 256)) -> None:
        self.mesh = mesh
        step = CANVAS / GRID
        centre = np.asarray(centre, np.float64)
        centres = (np.arange(GRID) + 0.5) * step - 0.5
        xs, ys = np.meshgrid(centres, centres)
        xs, ys = [centre[i] + (v - centre[i]) / zoom for i, v in enumerate((xs, ys))]
        points = np.stack([xs.ravel(), ys.ravel()], axis=1)  # (GRID*GRID, 2) canvas
        self._grid_x = xs.astype(np.float32)
        self._grid_y = ys.astype(np.float32)
        self._weights = _barycentric_matrix(mesh.rest[:, :2], points)
        # Canvas point c lies at grid index ((c - centre) * zoom + centre + 0.5) / step - 0.5.
        self._to_grid = np.float32(zoom / step)
        self._grid_offset = (centre * (1.0 - zoom) + 0.5) / step - 0.5  # (2,)
        full = np.arange(CANVAS, dtype=np.float64)
        xs_full, ys_full = np.meshgrid(
            centre[0] + (full - centre[0]) / zoom, centre[1] + (full - centre[1]) / zoom
        )
        self._identity = np.stack([xs_full, ys_full], axis=-1).astype(np.float32)  # (512, 512, 2)
        # Output pixels off the support of the moving vertices always map to themselves; only
        # this box (whole grid cells, two cells of zero margin) is computed and warped per frame.
        moving = mesh.head_weight > 0
        moving[: mesh.face_count] = True
        touched = (self._weights @ moving.astype(np.float32)).reshape(GRID, GRID) > 0
        rows, cols = np.flatnonzero(touched.any(axis=1)), np.flatnonzero(touched.any(axis=0))
        g0, g1 = max(rows[0] - 2, 0), min(rows[-1] + 3, GRID)
        h0, h1 = max(cols[0] - 2, 0), min(cols[-1] + 3, GRID)
        cell = CANVAS // GRID
        self.box = (slice(g0 * cell, g1 * cell), slice(h0 * cell, h1 * cell))  # output pixels
        self._box_shape = (g1 - g0, h1 - h0)
        self.grid_shape = (int(g1 - g0), int(h1 - h0))  # what `grid_offsets` returns, (gh, gw)
        inside = (np.arange(g0, g1)[:, None] * GRID + np.arange(h0, h1)[None, :]).ravel()
        self._weights = self._weights[inside]  # only the box's grid points, (P_box, V)
        self._grid_x = self._grid_x[g0:g1, h0:h1]
        self._grid_y = self._grid_y[g0:g1, h0:h1]
        self._grid_offset = self._grid_offset - np.array([h0, g0])  # into the box's grid
        self._grid_offset32 = tuple(np.float32(v) for v in self._grid_offset)
        # The output grid points in grid units (the identity up to rounding): Q = q * to_grid
        # + offset, for the inverse's fixed-point steps.
        self._grid_q = (
            self._grid_x * self._to_grid + self._grid_offset32[0],
            self._grid_y * self._to_grid + self._grid_offset32[1],
        )
        self._box_size = ((h1 - h0) * cell, (g1 - g0) * cell)  # (width, height) for cv2
        self._identity_box = self._identity[self.box].copy()  # (bh, bw, 2)

    def field(self, displacement: np.ndarray) -> np.ndarray:
        """(V, 2) forward vertex moves -> (gh, gw, 2) float32 forward field on the box's grid."""
        return (self._weights @ displacement.astype(np.float32)).reshape(*self._box_shape, 2)

    def source_map(self, displacement: np.ndarray) -> np.ndarray:
        """(V, 2) forward vertex moves -> (512, 512, 2) float32 source coords per output pixel."""
        rows, cols = self.box
        coords = self._identity.copy()  # (512, 512, 2)
        coords[rows, cols] = self.box_map(displacement)
        return coords

    def box_map(self, displacement: np.ndarray) -> np.ndarray:
        """(V, 2) forward vertex moves -> (bh, bw, 2) float32 source coords of `box`'s pixels."""
        return self.upsample(self.grid_offsets(displacement))

    def upsample(self, offsets: np.ndarray) -> np.ndarray:
        """`grid_offsets`' (gh, gw, 2) -> (bh, bw, 2) float32 source coords of `box`'s pixels.

        Offsets, not coordinates, are interpolated: the resize replicates the grid's edge,
        which is exact for the zero offsets there and would not be for coordinates.
        """
        return self._identity_box + cv2.resize(
            offsets, self._box_size, interpolation=cv2.INTER_LINEAR
        )

    def grid_offsets(self, displacement: np.ndarray) -> np.ndarray:
        """(V, 2) forward vertex moves -> (gh, gw, 2) float32 backward offsets on the box's grid.

        Solves p + d(p) = q for every output grid point q. Where the field is gentle (almost
        everywhere: the head turns a few degrees) a couple of fixed-point steps p <- q - d(p)
        reach TOLERANCE_PX, so only the points left over (a closing lid squeezes the eye
        opening to almost nothing, where those steps would crawl at rate |grad d| ~ 1) get
        Newton's method, on a compacted list of points rather than the whole grid.

        All of it runs in grid units (G = p * to_grid + offset, the field scaled to match),
        where a fixed-point step is one subtraction per axis: G <- Q - D(G).
        """
        forward = self._field4(displacement * self._to_grid)  # (gh, gw, 4): Dx, Dy, 0, 0
        gqx, gqy = self._grid_q  # (gh, gw) each: the output grid points in grid units
        first_x = gqx - forward[..., 0]  # (gh, gw) first guess
        first_y = gqy - forward[..., 1]
        gx, gy = first_x, first_y
        for _ in range(FIXED_POINT_STEPS):
            moved = cv2.remap(forward, gx, gy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
            last_x, last_y = gx, gy
            gx = gqx - moved[..., 0]  # G <- Q - D(G)
            gy = gqy - moved[..., 1]
        # Judged on the last step's size: it bounds the error where the steps contract.
        tolerance = np.float32(TOLERANCE_PX * self._to_grid)
        left = np.flatnonzero((np.abs(gx - last_x) > tolerance) | (np.abs(gy - last_y) > tolerance))
        if len(left):
            flat_x, flat_y = gx.reshape(-1), gy.reshape(-1)
            # Newton starts from the first guess: where |grad d| ~ 1 the fixed-point steps
            # oscillate and would leave it further away.
            flat_x[left], flat_y[left] = self._newton(
                forward,
                first_x.reshape(-1)[left],
                first_y.reshape(-1)[left],
                gqx.reshape(-1)[left],
                gqy.reshape(-1)[left],
            )
        to_canvas = np.float32(1.0 / self._to_grid)
        offsets = np.empty((*gx.shape, 2), np.float32)  # (gh, gw, 2) canvas pixels
        np.multiply(gx - gqx, to_canvas, out=offsets[..., 0])
        np.multiply(gy - gqy, to_canvas, out=offsets[..., 1])
        return offsets

    def _field4(self, displacement: np.ndarray) -> np.ndarray:
        """(V, 2) moves -> (gh, gw, 4) field dx, dy, 0, 0: a 4-channel remap is twice as fast.

        The zero channels go through the sparse product too: it is cheaper than copying the
        two-channel result into a four-channel array.
        """
        moves = np.zeros((len(displacement), 4), np.float32)
        moves[:, :2] = displacement
        return (self._weights @ moves).reshape(*self._box_shape, 4)

    def _newton(
        self, forward: np.ndarray, gx: np.ndarray, gy: np.ndarray, qx: np.ndarray, qy: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Newton's method on N points (N,) each, in grid units, the Jacobian by central
        differences.

        The piecewise-linear field is sampled at G and one grid cell either side of it in x and
        y, all five in one remap of a (1, 5N) map.
        """
        n = len(gx)
        shift_x = np.array([0.0, 1.0, -1.0, 0.0, 0.0], np.float32)[:, None]  # grid cells
        shift_y = np.array([0.0, 0.0, 0.0, 1.0, -1.0], np.float32)[:, None]
        max_step = np.float32(MAX_STEP * self._to_grid)
        for _ in range(INVERSE_STEPS):
            sx = gx[None, :] + shift_x  # (5, N)
            sy = gy[None, :] + shift_y
            samples = _remap_points(forward, sx.reshape(-1), sy.reshape(-1)).reshape(5, n, 4)
            fx = gx + samples[0, :, 0] - qx
            fy = gy + samples[0, :, 1] - qy
            # Central difference over two cells; the field is in grid units, so is the slope.
            a = 1.0 + (samples[1, :, 0] - samples[2, :, 0]) * np.float32(0.5)
            c = (samples[1, :, 1] - samples[2, :, 1]) * np.float32(0.5)
            b = (samples[3, :, 0] - samples[4, :, 0]) * np.float32(0.5)
            d = 1.0 + (samples[3, :, 1] - samples[4, :, 1]) * np.float32(0.5)
            det = np.maximum(a * d - b * c, np.float32(0.05))  # a fold never inverts the step
            gx = gx - np.clip((d * fx - b * fy) / det, -max_step, max_step)
            gy = gy - np.clip((a * fy - c * fx) / det, -max_step, max_step)
        return gx, gy


def _remap_points(image: np.ndarray, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """Bilinear samples of `image` (h, w, c) at N points (N,) -> (N, c).

    OpenCV's maps must stay under 32767 columns, so the points are laid out in rows of 1024.
    """
    n = len(xs)
    padded = -(-n // 1024) * 1024
    maps = np.zeros((2, padded), np.float32)
    maps[0, :n], maps[1, :n] = xs, ys
    out = cv2.remap(
        image,
        maps[0].reshape(-1, 1024),
        maps[1].reshape(-1, 1024),
        cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REPLICATE,
    )
    return out.reshape(padded, -1)[:n]


def _polar_profile(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Angle -> distance table of a closed contour around the origin, for np.interp."""
    angle = np.arctan2(points[:, 1], points[:, 0])
    order = np.argsort(angle)
    angle, dist = angle[order], np.linalg.norm(points, axis=1)[order]
    angle = np.concatenate([angle[-1:] - 2 * np.pi, angle, angle[:1] + 2 * np.pi])
    dist = np.concatenate([dist[-1:], dist, dist[:1]])
    return angle, dist


def _barycentric_matrix(vertices: np.ndarray, points: np.ndarray) -> csr_matrix:
    """(P, V) sparse matrix: row p holds point p's barycentric weights in its triangle."""
    tri = Delaunay(vertices)
    if getattr(tri, "_transform", False) is None:
        # SciPy computes these lazily with one LAPACK solve per triangle, each waking
        # OpenBLAS's thread pool: under load that took 12 ms a portrait at the median and
        # up to 0.5 s. The same transforms in closed form skip LAPACK; where SciPy keeps no
        # such cache, it computes them itself.
        tri._transform = _barycentric_transforms(vertices, tri.simplices)
    simplex = tri.find_simplex(points)
    inside = simplex >= 0
    # Points outside the hull (none: the border vertices span the canvas) keep the nearest.
    simplex = np.where(inside, simplex, 0)
    transform = tri.transform[simplex]  # (P, 3, 2)
    delta = points - transform[:, 2]
    bary = np.einsum("pij,pj->pi", transform[:, :2], delta)  # (P, 2)
    weights = np.concatenate([bary, 1.0 - bary.sum(axis=1, keepdims=True)], axis=1)  # (P, 3)
    weights = np.clip(weights, 0.0, 1.0)
    weights /= weights.sum(axis=1, keepdims=True)
    columns = tri.simplices[simplex]  # (P, 3)
    # Exactly three entries a row, columns sorted (as a COO -> CSR conversion would leave
    # them, so the sparse product sums in the same order), built directly as CSR.
    order = np.argsort(columns, axis=1)
    columns = np.take_along_axis(columns, order, axis=1)
    weights = np.take_along_axis(weights, order, axis=1)
    return csr_matrix(
        (weights.ravel().astype(np.float32), columns.ravel(), np.arange(0, 3 * len(points) + 1, 3)),
        shape=(len(points), len(vertices)),
    )


def _barycentric_transforms(vertices: np.ndarray, simplices: np.ndarray) -> np.ndarray:
    """(S, 3, 2) per triangle: the inverse of [v0 - v2, v1 - v2] and v2, as SciPy's
    `Delaunay.transform` (degenerate triangles NaN, at its reciprocal condition limit).
    """
    corners = np.asarray(vertices, np.float64)[simplices]  # (S, 3, 2)
    last = corners[:, 2]  # (S, 2)
    a, c = (corners[:, 0] - last).T  # first column: v0 - v2
    b, d = (corners[:, 1] - last).T  # second column: v1 - v2
    det = a * d - b * c
    with np.errstate(divide="ignore", invalid="ignore"):
        inverse = np.stack([np.stack([d, -b], -1), np.stack([-c, a], -1)], 1) / det[:, None, None]
        norm = np.maximum(np.abs(a) + np.abs(c), np.abs(b) + np.abs(d))  # 1-norms
        norm_inverse = np.maximum(np.abs(d) + np.abs(c), np.abs(b) + np.abs(a)) / np.abs(det)
        rcond = 1.0 / (norm * norm_inverse)
    out = np.empty((len(simplices), 3, 2))
    out[:, :2] = inverse
    out[:, 2] = last
    out[~(rcond >= 1000 * np.finfo(float).eps)] = np.nan  # SciPy's limit
    return out
