"""Renderer: warp the aligned portrait by the motion latent, one 512x512 frame at a time.

VASA-1 decodes its holistic latent with a learned face decoder; this renderer decodes the
explicit latent with three cheap parts, all driven by the portrait's 68 landmarks:

1. Smooth flow bases (head yaw/pitch/roll/shift/scale under a soft head mask, brows, lip
   width/rounding, smile) precomputed on a 128x128 grid: one frame's flow is a (K,) @ (K, N)
   product plus a bilinear upsample, so the background stretches smoothly and never tears.
2. Piecewise-linear column maps for the mouth and the eyes, exact at full resolution: they
   close the portrait's own lip gap, open the jaw, pull the upper lid down for blinks and
   shift the iris for gaze, which a smooth flow cannot do (it cannot collapse a region).
3. A synthesised mouth interior (dark cavity, upper and lower teeth) painted where the
   warped coordinates fall between the inner lips.

Everything is numpy/OpenCV on the calling thread (~3 ms a frame on one core); no torch op is
fast enough at this size to be worth a dispatch.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from generator.face_analysis import CANVAS, PortraitAnalysis
from generator.landmarks import (
    BROW_LEFT,
    BROW_RIGHT,
    EYE_LEFT,
    EYE_RIGHT,
    JAW,
    NOSE_TIP,
    eye_centres,
    inter_ocular,
)
from generator.motion import CHANNEL

GRID = 128  # flow-basis grid side; the canvas is 4x finer
SMOOTH_CHANNELS = (
    "lip_width",
    "lip_round",
    "smile",
    "brow_raise",
    "brow_furrow",
    "yaw",
    "pitch",
    "roll",
    "shift_x",
    "shift_y",
    "scale",
)


@dataclass(frozen=True)
class RendererGeometry:
    """Pixel amplitudes of the latent units, as fractions of the inter-ocular distance."""

    max_mouth_gap: float = 0.30  # inner-lip gap at jaw_open = 1
    upper_lip_share: float = 0.3  # of the gap taken by the upper lip moving up
    chin_drop: float = 0.65  # chin moves this fraction of the gap
    lip_width: float = 0.07
    smile: float = 0.06
    brow_raise: float = 0.09
    brow_furrow: float = 0.05
    head_depth: float = 0.10  # face-centre shift per unit of yaw / pitch
    gaze_shift: float = 0.085  # iris shift at gaze = 1


class FaceRenderer:
    """Precomputes a portrait's flow bases once; `render(latent, canvas)` makes one frame."""

    def __init__(
        self,
        analysis: PortraitAnalysis,
        *,
        head_distance: float = 1.0,
        geometry: RendererGeometry = RendererGeometry(),
    ) -> None:
        self.geometry = geometry
        landmarks = analysis.landmarks.astype(np.float64)  # (68, 2) canvas pixels
        self._landmarks = landmarks
        self._iod = inter_ocular(landmarks)
        # Zoom for head distance: output pixel q shows canvas point centre + (q - centre) / s.
        self._zoom_centre = np.array([CANVAS / 2.0, landmarks[NOSE_TIP, 1]])
        # Nearer: zoom the whole canvas (all the content is there). Farther: shrink the head
        # under its mask instead, as zooming out would need pixels beyond the (marked) canvas.
        self._zoom = max(1.0, float(head_distance))
        far = min(1.0, float(head_distance))
        # The scale basis is a backward flow -(q - c) * mask: weight 1 - 1/far samples
        # c + (q - c) / far, i.e. the head drawn at `far` times its size.
        self._scale_offset = np.float32(1.0 - 1.0 / far)
        lattice = _grid_points(GRID) / self._zoom + self._zoom_centre * (1 - 1 / self._zoom)
        bases = _smooth_bases(landmarks, self._iod, geometry, lattice)  # (K, GRID, GRID, 2)
        self._bases = bases.reshape(len(SMOOTH_CHANNELS), -1)  # (K, GRID*GRID*2)
        self._smooth_index = np.array([CHANNEL[name] for name in SMOOTH_CHANNELS])
        ys, xs = np.mgrid[0:CANVAS, 0:CANVAS].astype(np.float32)
        self._identity = np.stack(
            [
                (xs - self._zoom_centre[0]) / self._zoom + self._zoom_centre[0],
                (ys - self._zoom_centre[1]) / self._zoom + self._zoom_centre[1],
            ],
            axis=-1,
        ).astype(np.float32)  # (512, 512, 2) source coords with no motion
        self._mouth = _MouthMap(landmarks, self._iod, geometry)
        self._canvas_cache: dict[int, _PreparedCanvas] = {}
        self._eyes = [
            _EyeMap(landmarks[EYE_RIGHT], landmarks[BROW_RIGHT], self._iod, geometry),
            _EyeMap(landmarks[EYE_LEFT], landmarks[BROW_LEFT], self._iod, geometry),
        ]
        self._corner_cells([self._eyes[0].region, self._eyes[1].region, self._mouth.region])

    def _corner_cells(self, regions: list[tuple[float, float, float, float]]) -> None:
        """Precompute the output corners of each part's canvas box and their flow cells."""
        corners = np.array(
            [[(x0, y0), (x1, y0), (x0, y1), (x1, y1)] for x0, y0, x1, y1 in regions]
        ).reshape(-1, 2)  # (4R, 2) canvas
        out = (corners - self._zoom_centre) * self._zoom + self._zoom_centre
        cells = np.clip(((out + 0.5) * GRID / CANVAS).astype(int), 0, GRID - 1)
        self._corners_out = out.astype(np.float32)  # (4R, 2)
        self._corner_rows, self._corner_cols = cells[:, 1], cells[:, 0]

    def _output_boxes(self, flow: np.ndarray) -> list[tuple[slice, slice]]:
        """Output rows/cols showing each part's canvas box under this flow.

        flow: (GRID, GRID, 2) backward offsets; each box corner moves by the offset at its
        cell, then the box is padded for the flow's variation inside it (roll, yaw).
        """
        moved = self._corners_out - flow[self._corner_rows, self._corner_cols] * self._zoom
        moved = moved.reshape(-1, 4, 2)  # (R, 4, 2)
        pad = 4 + 0.02 * self._iod
        low = np.maximum(np.floor(moved.min(axis=1) - pad), 0).astype(int).tolist()
        high = np.minimum(np.ceil(moved.max(axis=1) + pad), CANVAS).astype(int).tolist()
        return [
            (slice(top, bottom), slice(left, right))
            for (left, top), (right, bottom) in zip(low, high, strict=True)
        ]

    def source_map(self, latent: np.ndarray) -> tuple[np.ndarray, list[_Overlay]]:
        """(C,) latent -> (512, 512, 2) float32 canvas coords per output pixel, and overlays."""
        weights = latent[self._smooth_index].astype(np.float32)  # (K,)
        weights[SMOOTH_CHANNELS.index("scale")] += self._scale_offset
        flow = (weights @ self._bases).reshape(GRID, GRID, 2)  # (128, 128, 2)
        coords = cv2.resize(flow, (CANVAS, CANVAS), interpolation=cv2.INTER_LINEAR)
        coords += self._identity  # (512, 512, 2)
        gaze = (float(latent[CHANNEL["gaze_x"]]), float(latent[CHANNEL["gaze_y"]]))
        overlays: list[_Overlay] = []
        eye_right, eye_left, mouth = self._output_boxes(flow)
        for eye, (rows, cols), blink in (
            (self._eyes[0], eye_right, float(latent[CHANNEL["blink_right"]])),
            (self._eyes[1], eye_left, float(latent[CHANNEL["blink_left"]])),
        ):
            overlay = eye.apply(coords[rows, cols], blink, gaze)
            if overlay is not None:
                overlays.append(_Overlay(rows, cols, overlay, eye))
        rows, cols = mouth
        overlay = self._mouth.apply(coords[rows, cols], float(latent[CHANNEL["jaw_open"]]))
        if overlay is not None:
            overlays.append(_Overlay(rows, cols, overlay, self._mouth))
        return coords, overlays

    def render(self, latent: np.ndarray, canvas: np.ndarray) -> np.ndarray:
        """(C,) latent + (512, 512, 3) uint8 canvas -> (512, 512, 3) uint8 RGB frame.

        Canvases are treated as immutable: their 4-channel copy and lid-filled copy are
        cached by identity (provenance hands in a few fixed marked canvases).
        """
        coords, overlays = self.source_map(latent)
        return self.compose(canvas, coords, overlays)

    def compose(
        self, canvas: np.ndarray, coords: np.ndarray, overlays: list[_Overlay]
    ) -> np.ndarray:
        """Second half of `render`: warp the canvas by `coords`, then paint the overlays.

        Separate so a pipeline can run it for frame t on one core while `source_map` runs
        for frame t + 1 on the other (OpenCV releases the GIL).
        """
        prepared = self._prepared(canvas)
        # OpenCV's 4-channel remap is vectorised and twice as fast as the 3-channel one.
        warped = cv2.remap(
            prepared.rgba, coords, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT
        )
        frame = cv2.cvtColor(warped, cv2.COLOR_RGBA2RGB)  # (512, 512, 3)
        for overlay in overlays:
            lids = prepared.lids(self._eyes) if isinstance(overlay.part, _EyeMap) else None
            region = frame[overlay.rows, overlay.cols]
            overlay.part.paint(region, overlay.data, coords[overlay.rows, overlay.cols], lids)
        return frame

    def _prepared(self, canvas: np.ndarray) -> _PreparedCanvas:
        key = id(canvas)
        cached = self._canvas_cache.get(key)
        if cached is not None and cached.canvas is canvas:
            return cached
        prepared = _PreparedCanvas(canvas, cv2.cvtColor(canvas, cv2.COLOR_RGB2RGBA))
        if len(self._canvas_cache) >= 8:  # a few alternating watermark canvases at most
            self._canvas_cache.pop(next(iter(self._canvas_cache)))
        self._canvas_cache[key] = prepared
        return prepared


class _PreparedCanvas:
    """One canvas, ready to warp: RGBA for the fast remap, lid-filled copy made on demand."""

    def __init__(self, canvas: np.ndarray, rgba: np.ndarray) -> None:
        self.canvas = canvas
        self.rgba = rgba  # (512, 512, 4)
        self._lids: np.ndarray | None = None

    def lids(self, eyes: list[_EyeMap]) -> np.ndarray:
        """The canvas with both eye openings filled with lid skin.

        Built from the canvas being warped, so a watermarked canvas keeps its own pixels
        everywhere but inside the eye openings while they are covered by a lid.
        """
        if self._lids is None:
            lids = self.canvas.copy()
            for eye in eyes:
                eye.fill_opening(lids)
            self._lids = lids
        return self._lids


@dataclass
class _Overlay:
    """Pixels a part paints after the warp: its output box and what it computed there."""

    rows: slice
    cols: slice
    data: tuple
    part: _MouthMap | _EyeMap


def _columns(lut: np.ndarray, box: np.ndarray) -> np.ndarray:
    """Look up per-column curves at each box column's canvas x (taken on its middle row).

    lut: (R, 513) values at integer canvas x; box: (h, w, 2) coords -> (R, 1, w).
    Sampling once per column instead of per pixel is 10x cheaper; head roll tilts a column
    by at most a pixel or two over the box, well inside the curves' smoothness.
    """
    x = _clamp(box[box.shape[0] // 2, :, 0], 0, CANVAS - 1)  # (w,)
    x0 = x.astype(np.int32)
    frac = x - x0
    return (lut[:, x0] * (1 - frac) + lut[:, x0 + 1] * frac)[:, None, :]


def _clamp(values: np.ndarray, low: float, high: float) -> np.ndarray:
    """np.clip without its Python-side overhead (~10 us a call, thousands of calls a second)."""
    return np.minimum(np.maximum(values, low), high)


def _curve_lut(*curves: np.ndarray) -> np.ndarray:
    """Stack per-x curves (each (512,)) into a (R, 513) float32 table padded for x0 + 1."""
    lut = np.stack(curves).astype(np.float32)
    return np.concatenate([lut, lut[:, -1:]], axis=1)


class _MouthMap:
    """Column-wise vertical map of the lower face: lips apart by the jaw, chin down.

    For each column x (canvas coords) the output rows split into: nose..upper inner lip
    (stretched from the portrait's upper lip), the gap (mouth interior), lower inner
    lip..chin (moved down), chin..neck (compressed). At jaw_open = 0 the gap is zero, so a
    portrait that shows its teeth is rendered with closed lips. When the portrait shows its
    teeth, the gap shows them too (upper teeth move with the upper lip, lower with the
    jaw, dark cavity between); otherwise teeth are painted.
    """

    def __init__(self, landmarks: np.ndarray, iod: float, geometry: RendererGeometry) -> None:
        self.geometry = geometry
        self._iod = iod
        xs = np.arange(CANVAS, dtype=np.float64)
        corner_l, corner_r = landmarks[60], landmarks[64]
        upper = landmarks[[60, 61, 62, 63, 64]]
        lower = landmarks[[60, 67, 66, 65, 64]]
        upper0 = np.interp(xs, upper[:, 0], upper[:, 1])  # flat beyond the corners
        lower0 = np.maximum(np.interp(xs, lower[:, 0], lower[:, 1]), upper0)
        half = max(2.0, (corner_r[0] - corner_l[0]) / 2.0)
        centre = (corner_r[0] + corner_l[0]) / 2.0
        shape = np.sqrt(np.clip(1.0 - ((xs - centre) / half) ** 2, 0.0, 1.0))
        jaw = landmarks[JAW][4:13]
        chin = np.interp(xs, jaw[:, 0], jaw[:, 1])
        span = max(4.0, (jaw[-1, 0] - jaw[0, 0]) / 2.0)
        jaw_centre = (jaw[-1, 0] + jaw[0, 0]) / 2.0
        taper = np.cos(np.clip((xs - jaw_centre) / span, -1.0, 1.0) * np.pi / 2) ** 2
        self.top = float(landmarks[33, 1] + 0.04 * iod)  # just under the nose
        self.bottom = float(np.max(chin) + 0.45 * iod)  # into the neck: a gentle squash
        self._lut = _curve_lut(upper0, lower0, (upper0 + lower0) / 2.0, shape, chin, taper)
        self.region = (float(jaw[0, 0]), self.top, float(jaw[-1, 0]), self.bottom)
        middle = np.abs(xs - centre) < half / 2
        # Real teeth only when the portrait shows a clear band of them across the middle.
        self.real_teeth = bool(np.median((lower0 - upper0)[middle]) > 0.05 * iod)

    def apply(self, box: np.ndarray, jaw_open: float) -> tuple | None:
        """Rewrite the y of box (h, w, 2) coords in place; return the cavity or None."""
        g = self.geometry
        gy = box[..., 1]  # (h, w) view
        upper0, lower0, mid0, shape, chin0, taper = _columns(self._lut, box)  # each (1, w)
        opening = jaw_open * g.max_mouth_gap * self._iod
        gap = opening * shape  # (1, w)
        upper = mid0 - g.upper_lip_share * gap
        lower = mid0 + (1 - g.upper_lip_share) * gap
        chin = chin0 + g.chin_drop * opening * taper
        top, bottom = self.top, self.bottom
        # Source y for each output y, segment by segment (each map is linear in y).
        seg_top = top + (gy - top) * ((upper0 - top) / np.maximum(upper - top, 1e-3))
        seg_lip = lower0 + (gy - lower) * ((chin0 - lower0) / np.maximum(chin - lower, 1e-3))
        seg_neck = chin0 + (gy - chin) * ((bottom - chin0) / np.maximum(bottom - chin, 1e-3))
        src = np.where(gy <= upper, seg_top, np.where(gy <= chin, seg_lip, seg_neck))
        cavity = None
        if jaw_open > 0.0 and float(gap.max()) > 0.5:
            # Only the rows the lips can be on: the gap's maths on 1/5 of the box.
            middle = gy[:, gy.shape[1] // 2]
            r0 = max(0, int(np.searchsorted(middle, float(upper.min()))) - 6)
            r1 = min(len(middle), int(np.searchsorted(middle, float(lower.max()))) + 6)
            cavity = (r0, *self._gap(gy[r0:r1], src[r0:r1], upper, lower, gap, upper0, lower0))

        np.copyto(gy, src, where=(gy > top) & (gy < bottom))
        return cavity

    def _gap(
        self,
        gy: np.ndarray,
        src: np.ndarray,
        upper: np.ndarray,
        lower: np.ndarray,
        gap: np.ndarray,
        upper0: np.ndarray,
        lower0: np.ndarray,
    ) -> tuple:
        """Inside the lips: map to the portrait's teeth or mark the dark cavity (in place)."""
        in_gap = (gy > upper) & (gy < lower)
        if self.real_teeth:
            teeth0 = lower0 - upper0  # the portrait's own visible teeth, (1, w)
            upper_teeth = np.minimum(gap, 0.55 * teeth0)
            lower_teeth = np.minimum(np.maximum(gap - upper_teeth, 0.0), 0.45 * teeth0)
            teeth_src = np.where(
                gy - upper < upper_teeth, upper0 + (gy - upper), lower0 - (lower - gy)
            )
            np.copyto(src, teeth_src, where=in_gap)
            dark_top, dark_bottom = upper + upper_teeth, lower - lower_teeth
        else:
            dark_top, dark_bottom = upper, lower
        # Cavity alpha: 1 in the dark part of the gap, soft 1.5-px edges.
        alpha = _clamp(np.minimum(gy - dark_top, dark_bottom - gy) / 1.5, 0.0, 1.0)
        alpha *= gap > 0.5
        depth = _clamp((gy - upper) / np.maximum(gap, 1.0), 0.0, 1.0)  # 0 top .. 1 bottom
        return alpha, depth, np.broadcast_to(gap, alpha.shape)

    def paint(
        self, region: np.ndarray, cavity: tuple, coords: np.ndarray, lids: np.ndarray | None
    ) -> None:
        """Composite dark cavity (and painted teeth if needed) into the mouth box, in place."""
        r0, alpha, depth, gap = cavity
        region = region[r0 : r0 + len(alpha)]
        rows = np.flatnonzero(alpha.any(axis=1))
        cols = np.flatnonzero(alpha.any(axis=0))
        if len(rows) == 0:
            return
        sub = (slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1))
        alpha, depth, gap = alpha[sub], depth[sub], gap[sub]
        # Interior: dark red-brown throat, darkest in the middle, the tongue low in a wide
        # opening.
        shade = (1.0 - 0.55 * np.sin(np.pi * depth))[..., None]
        throat = np.array([84, 34, 38], np.float32) * shade  # (h, w, 3)
        tongue = _clamp((depth - 0.55) / 0.35, 0.0, 1.0) * _clamp(gap / (0.2 * self._iod), 0, 1)
        colour = throat + (np.array([150, 70, 74], np.float32) - throat) * (0.7 * tongue)[..., None]
        if not self.real_teeth:
            teeth_h = np.minimum(0.3, 0.06 * self._iod / np.maximum(gap, 1.0))
            lower_h = np.minimum(0.15, 0.03 * self._iod / np.maximum(gap, 1.0))
            teeth = np.array([206, 196, 184], np.float32) * (0.9 + 0.1 * (1 - depth))[..., None]
            is_teeth = (depth < teeth_h) | ((depth > 1.0 - lower_h) & (gap > 0.12 * self._iod))
            colour = np.where(is_teeth[..., None], teeth, colour)
        view = region[sub]
        a = alpha[..., None]
        view[...] = (view * (1.0 - a) + colour * a).astype(np.uint8)


class _EyeMap:
    """One eye: upper lid slides down over the eyeball to blink; the iris shifts for gaze.

    The lid is drawn from a copy of the canvas whose eye opening is inpainted with the
    surrounding skin, with a lash line at its edge; the portrait's own lid above stays put.
    """

    def __init__(
        self, eye: np.ndarray, brow: np.ndarray, iod: float, geometry: RendererGeometry
    ) -> None:
        self.geometry = geometry
        self._iod = iod
        self._eye = eye
        xs = np.arange(CANVAS, dtype=np.float64)
        upper0 = _lid_curve(eye[[0, 1, 2, 3]], xs)
        lower0 = np.maximum(_lid_curve(eye[[0, 5, 4, 3]], xs), upper0)
        centre = float(eye[:, 0].mean())
        half = float(eye[3, 0] - eye[0, 0]) / 2.0
        bump = np.clip(1.0 - ((xs - centre) / max(half, 2.0)) ** 2, 0.0, 1.0)
        self._lut = _curve_lut(upper0, lower0, bump)
        pad = 0.1 * iod
        self.region = (
            float(eye[0, 0] - pad),
            float(eye[:, 1].min() - pad),
            float(eye[3, 0] + pad),
            float(eye[:, 1].max() + pad),
        )

    def fill_opening(self, canvas: np.ndarray) -> None:
        """Inpaint this eye's opening in `canvas` (in place) with the skin around it."""
        x0, y0, x1, y1 = (int(round(v)) for v in self.region)
        x0, y0 = max(0, x0 - 6), max(0, y0 - 6)
        patch = np.ascontiguousarray(canvas[y0 : y1 + 6, x0 : x1 + 6])
        mask = np.zeros(patch.shape[:2], np.uint8)
        polygon = np.round(self._eye - [x0, y0]).astype(np.int32)
        cv2.fillPoly(mask, [polygon], 255)
        reach = max(3, int(round(0.1 * self._iod)))  # lashes and lid line go too
        mask = cv2.dilate(mask, np.ones((2 * reach + 1, 2 * reach + 1), np.uint8))
        filled = cv2.inpaint(patch, mask, 5, cv2.INPAINT_TELEA)
        filled = cv2.GaussianBlur(filled, (7, 7), 0)  # inpainting leaves streaks
        soft = cv2.GaussianBlur(mask, (7, 7), 0)[..., None] / 255.0
        canvas[y0 : y1 + 6, x0 : x1 + 6] = (filled * soft + patch * (1 - soft)).astype(np.uint8)

    def apply(self, box: np.ndarray, blink: float, gaze: tuple[float, float]) -> tuple | None:
        """Shift the iris in box (h, w, 2) coords in place; return the lid overlay or None."""
        gx, gy = box[..., 0], box[..., 1]
        upper0, lower0, bump = _columns(self._lut, box)  # each (1, w)
        lid = upper0 + blink * (lower0 - upper0)  # (1, w) the lid edge now
        shift = self.geometry.gaze_shift * self._iod * bump  # (1, w)
        eyeball = (gy > lid - 1.0) & (gy < lower0 + 1.0)
        np.copyto(gx, gx - gaze[0] * shift, where=eyeball)
        np.copyto(gy, gy - 0.5 * gaze[1] * shift, where=eyeball)
        if blink < 0.03:
            return None
        # Lid covers from just above its resting edge down to the edge now, soft 1 px.
        rise = 0.1 * self._iod  # the portrait's lashes reach this far above the landmarks
        cover = _clamp(lid - gy + 0.5, 0.0, 1.0) * _clamp((gy - upper0 + rise) / rise, 0.0, 1.0)
        cover *= (lower0 - upper0) > 0.5
        lash = np.exp(-(((gy - lid - 0.5) / 1.6) ** 2)) * min(1.0, 3.0 * blink)
        lash *= _clamp((lower0 - upper0) / 3.0, 0.0, 1.0)
        return (cover, lash)

    def paint(
        self, region: np.ndarray, overlay: tuple, coords: np.ndarray, lids: np.ndarray | None
    ) -> None:
        """Draw the lid (from the inpainted canvas) and its lash line into the eye box."""
        cover, lash = overlay
        skin = cv2.remap(lids, coords, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        skin = skin.astype(np.float32) * 0.9  # a closed lid is a little darker than the brow
        lash_colour = np.array([40, 28, 26], np.float32)
        c, a = cover[..., None], 0.9 * lash[..., None]
        out = region * (1.0 - c) + skin * c
        region[...] = (out * (1.0 - a) + lash_colour * a).astype(np.uint8)


def _lid_curve(points: np.ndarray, xs: np.ndarray) -> np.ndarray:
    """Smooth lid line through 4 landmarks (corner, two lid points, corner) at canvas xs.

    A parabola, least-squares through the four: the piecewise-linear path through them has
    kinks that show as a polygonal lash line on a closed eye.
    """
    coeffs = np.polyfit(points[:, 0], points[:, 1], 2)
    inside = np.clip(xs, points[0, 0], points[-1, 0])  # flat beyond the corners
    curve = np.polyval(coeffs, inside)
    ends = np.interp(inside, points[[0, -1], 0], points[[0, -1], 1])
    # Pin the corners exactly: blend from the chord at the corners to the parabola inside.
    t = (inside - points[0, 0]) / max(points[-1, 0] - points[0, 0], 1.0)
    pin = np.clip(4 * t * (1 - t) * 2, 0.0, 1.0)
    return ends + (curve - ends) * pin


def _grid_points(n: int) -> np.ndarray:
    """(n, n, 2) canvas coords of the centres of an n x n grid's cells."""
    step = CANVAS / n
    centres = (np.arange(n) + 0.5) * step - 0.5
    xs, ys = np.meshgrid(centres, centres)
    return np.stack([xs, ys], axis=-1)


def _landmark_field(
    points: np.ndarray, moves: np.ndarray, sigma: float, lattice: np.ndarray
) -> np.ndarray:
    """Forward displacement at lattice points from landmark moves, Gaussian-weighted.

    Normalising by max(sum of weights, 1) gives each landmark's own move at the landmark and
    a smooth fall-off to zero away from all of them, with no RBF overshoot.
    points, moves: (P, 2); lattice: (n, n, 2) -> (n, n, 2).
    """
    lattice = lattice.astype(np.float32)
    points = points.astype(np.float32)
    dx = lattice[..., 0:1] - points[:, 0]  # (n, n, P)
    dy = lattice[..., 1:2] - points[:, 1]
    weight = np.exp((dx * dx + dy * dy) * np.float32(-0.5 / sigma**2))  # (n, n, P)
    total = np.maximum(weight.sum(-1, keepdims=True), 1.0)  # (n, n, 1)
    return (weight @ moves.astype(np.float32)) / total  # (n, n, 2)


def _head_mask(landmarks: np.ndarray, iod: float, lattice: np.ndarray) -> np.ndarray:
    """(n, n) weight of head motion: 1 on face and hair, fading to 0 over the background."""
    left, right = eye_centres(landmarks)
    centre = np.array([(left[0] + right[0]) / 2, (left[1] + right[1]) / 2 + 0.35 * iod])
    radius = np.array([1.25 * iod, 1.55 * iod])
    r = np.sqrt((((lattice - centre) / radius) ** 2).sum(-1))  # 1 on the ellipse
    # Smoothstep to exactly 0 at r = 1.9: the far background (and its watermark) never moves.
    t = np.clip((1.9 - r) / 0.9, 0.0, 1.0)
    # And to 0 at the canvas edges (where the hair or shoulders are cut off), so the warp
    # never samples beyond the canvas: no mirrored hair when the head shrinks or moves.
    edge = np.minimum(lattice, CANVAS - 1 - lattice).min(axis=-1) / (0.9 * iod)  # (n, n)
    e = np.clip(edge, 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t) * e * e * (3.0 - 2.0 * e)


def _smooth_bases(
    landmarks: np.ndarray, iod: float, g: RendererGeometry, lattice: np.ndarray
) -> np.ndarray:
    """(K, n, n, 2) backward flows (output -> source offsets) per unit of each smooth channel."""
    anchors = np.concatenate([landmarks[27:36], landmarks[36:48], landmarks[0:17]])  # still
    still = np.zeros_like(anchors)

    def local(moving_idx: list[int], moves: list[tuple[float, float]], sigma: float) -> np.ndarray:
        pts = np.concatenate([landmarks[moving_idx], anchors])
        mv = np.concatenate([np.array(moves, dtype=np.float64) * iod, still])
        return _landmark_field(pts, mv, sigma * iod, lattice)

    mouth_corners = [48, 54, 60, 64, 49, 53, 59, 55]
    width = (
        local(
            mouth_corners,
            [(-1, 0), (1, 0), (-1, 0), (1, 0), (-0.5, 0), (0.5, 0), (-0.5, 0), (0.5, 0)],
            0.12,
        )
        * g.lip_width
    )
    rounding = (
        local(
            [*mouth_corners, 50, 51, 52, 56, 57, 58],
            [
                (1, 0),
                (-1, 0),
                (1, 0),
                (-1, 0),
                (0.6, 0),
                (-0.6, 0),
                (0.6, 0),
                (-0.6, 0),
                (0, -0.3),
                (0, -0.3),
                (0, -0.3),
                (0, 0.3),
                (0, 0.3),
                (0, 0.3),
            ],
            0.12,
        )
        * g.lip_width
    )
    smile = (
        local(
            [48, 54, 60, 64, 49, 53, 59, 55],
            [
                (-0.4, -1),
                (0.4, -1),
                (-0.4, -1),
                (0.4, -1),
                (-0.2, -0.5),
                (0.2, -0.5),
                (-0.2, -0.5),
                (0.2, -0.5),
            ],
            0.14,
        )
        * g.smile
    )
    brows = list(range(17, 27))
    raise_ = local(brows, [(0, -1)] * 10, 0.16) * g.brow_raise
    furrow = (
        local(
            brows,
            [
                (0, 0.2),
                (0, 0.4),
                (0.2, 0.8),
                (0.5, 1),
                (0.6, 1),
                (-0.6, 1),
                (-0.5, 1),
                (-0.2, 0.8),
                (0, 0.4),
                (0, 0.2),
            ],
            0.14,
        )
        * g.brow_furrow
    )

    mask = _head_mask(landmarks, iod, lattice)[..., None]  # (n, n, 1)
    left, right = eye_centres(landmarks)
    face_centre = np.array([(left[0] + right[0]) / 2, landmarks[NOSE_TIP, 1]])
    # Depth of a head-sized ellipsoid plus the nose: what moves most when the head turns.
    rel = (lattice - face_centre) / np.array([1.2 * iod, 1.6 * iod])
    # (1 - r^2)^1.5 rather than a sphere's sqrt: flat at the rim, so the warp never folds there.
    depth = np.clip(1.0 - (rel**2).sum(-1), 0.0, 1.0) ** 1.5
    nose = np.exp(-((lattice - landmarks[NOSE_TIP]) ** 2).sum(-1) / (2 * (0.25 * iod) ** 2))
    depth = (0.7 * depth + 0.3 * nose)[..., None] * g.head_depth * iod / 0.7
    yaw = np.concatenate([depth, np.zeros_like(depth)], axis=-1) * mask
    pitch = np.concatenate([np.zeros_like(depth), depth], axis=-1) * mask
    pivot = np.array([face_centre[0], landmarks[8, 1] + 0.6 * iod])  # tilt about the neck
    offset = lattice - pivot
    roll = np.stack([-offset[..., 1], offset[..., 0]], axis=-1) * mask
    shift_x = np.concatenate([np.ones_like(depth), np.zeros_like(depth)], axis=-1) * mask * iod
    shift_y = np.concatenate([np.zeros_like(depth), np.ones_like(depth)], axis=-1) * mask * iod
    eye_line = np.array([face_centre[0], (left[1] + right[1]) / 2])  # shrink toward the eyes:
    scale = (lattice - eye_line) * mask  # less hair has to stretch above the head
    forward = np.stack(
        [width, rounding, smile, raise_, furrow, yaw, pitch, roll, shift_x, shift_y, scale]
    )  # (K, n, n, 2), order = SMOOTH_CHANNELS
    # Backward map to first order: the output pixel at p + d shows the source pixel at p.
    return (-forward).astype(np.float32)
