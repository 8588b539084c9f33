"""Mouth interior: cavity, teeth and tongue inside the frame's inner-lip contour.

A closed-mouth portrait has no pixels for the inside of the mouth, so the warp alone would
show stretched lip. This part paints the interior inside the inner-lip polygon of each frame
(which follows the lips at any pose): upper teeth under the upper lip, lower teeth above the
lower lip once the jaw has dropped, a dark cavity and the tongue low in a wide opening. When
the portrait shows its own teeth, they are used instead of painted ones.

The painted interior is matched to the portrait: lit like its lips, as colourful as its skin
(grey photos get grey teeth), blurred like its own detail and given its grain.
"""

from __future__ import annotations

import cv2
import numpy as np

from generator.deformation import LOWER_INNER_LIP, OUTER_LIP, UPPER_INNER_LIP, MouthPose

_THROAT = np.array([58, 22, 24], np.float32)
_TONGUE = np.array([128, 58, 62], np.float32)
_TEETH = np.array([226, 212, 190], np.float32)
_LIPS_REFERENCE_LUMA = 150.0  # luma of lips in an evenly lit colour portrait


class MouthInterior:
    """Per-portrait look of the mouth; `paint(frame, mouth)` per frame, in place."""

    def __init__(self, canvas: np.ndarray, mesh: np.ndarray, iod: float, blur_sigma: float):
        self.iod = iod
        face = np.asarray(mesh, np.float64)
        lips = np.zeros(canvas.shape[:2], np.uint8)
        cv2.fillPoly(lips, [np.round(face[OUTER_LIP, :2]).astype(np.int32)], 255)
        inner = np.round(
            np.concatenate([face[UPPER_INNER_LIP, :2], face[LOWER_INNER_LIP[::-1], :2]])
        )
        cv2.fillPoly(lips, [inner.astype(np.int32)], 0)
        pixels = canvas[lips > 0].astype(np.float32)
        luma = float((pixels @ np.array([0.299, 0.587, 0.114], np.float32)).mean())
        self._light = float(np.clip(luma / _LIPS_REFERENCE_LUMA, 0.35, 1.2))
        chroma = float(np.abs(pixels - pixels.mean(axis=1, keepdims=True)).mean())
        self._colour = float(np.clip(chroma / 25.0, 0.0, 1.0))  # 0 for a grey photo
        self._blur = blur_sigma
        self._noise_sigma = _noise_sigma(canvas, face)
        rng = np.random.default_rng(0)
        self._grain = rng.normal(0.0, 1.0, canvas.shape[:2]).astype(np.float32)  # canvas-fixed
        self._own_teeth = self._teeth_from(canvas, face)
        self._teeth = _teeth_colour(canvas, face) / self._light  # light is applied in paint
        # Light and colourfulness as one linear map of colour, applied to each layer's colour
        # once here instead of to every painted pixel: light x (k x + (1 - k) luma(x)).
        luma_row = np.array([[0.299, 0.587, 0.114]], np.float32)
        tone = self._light * (
            self._colour * np.eye(3, dtype=np.float32) + (1.0 - self._colour) * luma_row
        )  # (3, 3), rows: output channel
        layers = np.stack([_THROAT, _TONGUE, self._teeth])  # (3 layers, 3 channels)
        self._layer_colours = (tone @ layers.T).astype(np.float32)  # column k: layer k toned
        self._own_teeth_toned = None
        if self._own_teeth is not None:
            # The portrait's own teeth are lit already: colourfulness only.
            own = self._own_teeth.astype(np.float32) @ (tone / self._light).T
            self._own_teeth_toned = np.ascontiguousarray(own, np.float32)  # (sh, sw, 3)

    @property
    def own_teeth(self) -> bool:
        """Whether the portrait shows its own teeth (they are reused in the interior)."""
        return self._own_teeth is not None

    def _teeth_from(self, canvas: np.ndarray, face: np.ndarray) -> np.ndarray | None:
        """The portrait's own upper teeth as a (h, w, 3) strip, if it shows them clearly."""
        upper, lower = face[UPPER_INNER_LIP, :2], face[LOWER_INNER_LIP, :2]
        gap = lower[3:8, 1] - upper[3:8, 1]
        if float(np.median(gap)) < 0.06 * self.iod:
            return None
        x0, x1 = float(upper[:, 0].min()), float(upper[:, 0].max())
        width = max(8, int(round(x1 - x0)))
        height = max(3, int(round(float(np.median(gap)) * 0.7)))
        xs = np.linspace(x0, x1, width, dtype=np.float32)
        top = np.interp(xs, *_by_x(upper)).astype(np.float32)
        rows = np.arange(height, dtype=np.float32)[:, None]
        map_x = np.broadcast_to(xs, (height, width)).astype(np.float32)
        map_y = (top[None, :] + 1.0 + rows).astype(np.float32)
        strip = cv2.remap(canvas, map_x, map_y, cv2.INTER_LINEAR)
        # Only bright enough strips are teeth (a dark open mouth shows no teeth to reuse).
        if float(strip.mean()) < 0.8 * _LIPS_REFERENCE_LUMA * self._light:
            return None
        return strip

    def paint(self, frame: np.ndarray, mouth: MouthPose) -> None:
        """Draw the interior into `frame` (512, 512, 3) uint8 inside the inner lips, in place.

        The layers (cavity, tongue, teeth, own teeth) are blended as scalar (h, w) weights,
        and their colours, already matched to the portrait's light and colourfulness (both
        linear in colour), are mixed in by one `cv2.transform`: a frame's interior is then
        a few (h, w, 3) passes, mostly inside OpenCV, which releases the GIL for the
        pipeline's other thread.
        """
        upper, lower = mouth.upper, mouth.lower
        if float(np.max(lower[:, 1] - upper[:, 1])) < 0.8:
            return
        polygon = np.concatenate([upper, lower[::-1]])
        x0 = max(int(np.floor(polygon[:, 0].min())) - 1, 0)
        y0 = max(int(np.floor(polygon[:, 1].min())) - 1, 0)
        x1 = min(int(np.ceil(polygon[:, 0].max())) + 2, frame.shape[1])
        y1 = min(int(np.ceil(polygon[:, 1].max())) + 2, frame.shape[0])
        if x1 - x0 < 3 or y1 - y0 < 2:
            return
        h, w = y1 - y0, x1 - x0
        mask = np.zeros((h, w), np.uint8)
        points = np.round((polygon - [x0, y0]) * 16).astype(np.int32)
        cv2.fillPoly(mask, [points], 255, lineType=cv2.LINE_AA, shift=4)
        iod = np.float32(self.iod)
        xs = np.arange(x0, x1, dtype=np.float32)
        top = np.interp(xs, *_by_x(upper)).astype(np.float32)  # (w,)
        bottom = np.maximum(np.interp(xs, *_by_x(lower)).astype(np.float32), top + 1e-3)
        ys = np.arange(y0, y1, dtype=np.float32)[:, None]  # (h, 1)
        gap = bottom - top  # (w,)
        below_top = ys - top  # (h, w) pixels under the upper lip
        above_bottom = bottom - ys
        depth = _unit(below_top / gap)
        centre = np.float32((upper[0, 0] + upper[-1, 0]) / 2.0)
        half = np.float32(max(1.0, abs(upper[-1, 0] - upper[0, 0]) / 2.0))
        across = _unit(1.0 - np.abs((xs - centre) / half))  # (w,) 1 mid, 0 corners
        root_across = np.sqrt(across)

        # Cavity: darkest up behind the upper teeth and in the corners (the cheeks shade
        # them), so a wide opening is not a flat dark oval.
        shade = (0.55 + 0.45 * root_across) * (0.7 + 0.3 * depth)  # (h, w)
        # Tongue: lies low in a wide opening, its lit top an arc higher in the middle.
        wide = _unit((gap - 0.1 * iod) / (0.15 * iod))  # (w,)
        arc = 0.62 + 0.25 * (1.0 - across) ** 2  # (w,) depth of the tongue's top
        under_arc = depth - arc  # (h, w)
        tongue = _unit(under_arc / 0.12) * (0.85 * wide * root_across)
        lit_top = 1.0 - 0.3 * _unit(under_arc / 0.3)  # top lit, back shaded
        upper_h = np.minimum(0.11 * iod, 0.42 * gap) * root_across  # (w,)
        if self._own_teeth is not None:
            # A gap no wider than the portrait's own shows its teeth, as the portrait does,
            # not a dark line.
            upper_h = np.maximum(upper_h, np.minimum(0.9 * gap, self._own_teeth.shape[0]))
        lower_h = (
            np.minimum(0.07 * iod, 0.3 * gap) * _unit((gap - 0.12 * iod) / (0.1 * iod)) * across
        )
        upper_teeth = _unit((upper_h - below_top) / 1.2)
        upper_teeth *= 0.75 + 0.25 * _unit(below_top / 2.0)  # lip's shadow on them
        lower_teeth = _unit((lower_h - above_bottom) / 1.2)
        # Separate teeth: a thin shadow between neighbours (incisors about 0.09 iod wide,
        # narrowing toward the corners as the arch turns away), and edges a little greyer,
        # so the band reads as teeth, not a plate.
        phase = (xs - centre) / (0.09 * iod * (0.55 + 0.45 * across))  # (w,) in teeth
        seam = np.exp(-0.5 * ((phase - np.round(phase)) / 0.1) ** 2)  # 1 between two teeth
        lit = (0.76 + 0.26 * across) * (1.0 - 0.16 * seam * root_across)  # (w,)
        edge = _unit((below_top - 0.7 * upper_h) / np.maximum(0.3 * upper_h, 1.0))
        lower_lit = (0.76 + 0.26 * across) * 0.92  # lower teeth: in the upper lip's shade

        # Each layer covers the ones before it: cavity, tongue, upper teeth, lower teeth,
        # own teeth. Its weight in the mix is its cover times what the later ones leave.
        left = 1.0 - lower_teeth  # (h, w)
        teeth = lower_teeth * lower_lit
        own_cover = None
        if self._own_teeth is not None:
            own_cover = _unit((np.minimum(upper_h, self._own_teeth.shape[0]) - below_top) / 1.2)
            left *= 1.0 - own_cover
            teeth *= 1.0 - own_cover
        teeth += (upper_teeth * left) * ((1.0 - 0.12 * edge) * lit)
        left *= 1.0 - upper_teeth
        weights = cv2.merge([shade * (1.0 - tongue) * left, tongue * lit_top * left, teeth])
        colour = cv2.transform(weights, self._layer_colours)  # (h, w, 3), toned
        if own_cover is not None:
            colour += self._own_teeth_at(xs, below_top, upper) * own_cover[..., None]

        # Match the portrait: blur and grain (light and colourfulness are in the colours).
        if self._blur > 0.3:
            colour = cv2.GaussianBlur(colour, (0, 0), self._blur)
        grain = self._noise_sigma * self._grain[y0:y1, x0:x1]  # (h, w)
        colour = cv2.add(colour, cv2.merge([grain, grain, grain]), dtype=cv2.CV_8U)
        alpha = mask.astype(np.float32) * np.float32(1.0 / 255.0)  # (h, w)
        region = frame[y0:y1, x0:x1]
        cv2.blendLinear(region, colour, 1.0 - alpha, alpha, dst=region)

    def _own_teeth_at(self, xs: np.ndarray, below_top: np.ndarray, upper: np.ndarray) -> np.ndarray:
        """The portrait's own upper teeth (toned), carried by the upper lip: (h, w, 3)."""
        sh, sw = self._own_teeth.shape[:2]
        x0, x1 = float(upper[:, 0].min()), float(upper[:, 0].max())
        u = np.clip((xs - x0) / max(x1 - x0, 1.0) * (sw - 1), 0, sw - 1)  # (w,)
        v = np.clip(below_top, 0, sh - 1)  # (h, w)
        map_x = np.broadcast_to(u, v.shape).astype(np.float32)
        return cv2.remap(self._own_teeth_toned, map_x, v.astype(np.float32), cv2.INTER_LINEAR)


def _teeth_colour(canvas: np.ndarray, face: np.ndarray) -> np.ndarray:
    """(3,) float32 RGB for painted teeth: the portrait's own eye whites, a little yellower.

    The whites of the eyes are lit like the mouth and carry the photo's colour cast and
    exposure, so teeth made from them sit in the picture (a fixed ivory looks grey-blue on a
    warm photo). Falls back to ivory where the eyes show too little white.
    """
    from generator.deformation import EYES

    whites = []
    for upper, lower in EYES:
        mask = np.zeros(canvas.shape[:2], np.uint8)
        contour = np.concatenate([face[upper, :2], face[lower[::-1], :2]])
        cv2.fillPoly(mask, [np.round(contour).astype(np.int32)], 255)
        mask = cv2.erode(mask, np.ones((3, 3), np.uint8))
        pixels = canvas[mask > 0].astype(np.float32)
        if len(pixels) >= 8:
            luma = pixels @ np.array([0.299, 0.587, 0.114], np.float32)
            whites.append(pixels[luma >= np.percentile(luma, 75)])  # sclera, not iris or lashes
    skin = _skin_colour(canvas, face)
    if not whites or skin is None:
        return _TEETH
    white = np.concatenate(whites).mean(axis=0)
    # Small or shaded eyes let lid skin into the sample: keep only the white's cast (at most
    # 12 % per channel) and hold its brightness between the skin's and 1.4 times it.
    cast = 1.0 + np.clip(white / max(float(white.mean()), 1.0) - 1.0, -0.12, 0.12)
    level = float(np.clip(white.mean(), 1.0 * skin.mean(), 1.4 * skin.mean()))
    # Teeth are a little yellower than the eye whites beside them.
    teeth = level * cast * np.array([1.03, 1.0, 0.9], np.float32)
    return np.clip(teeth, 0.0, 255.0).astype(np.float32)


def _skin_colour(canvas: np.ndarray, face: np.ndarray) -> np.ndarray | None:
    """(3,) mean RGB of the cheeks, or None when they are off the canvas."""
    patches = []
    for idx in (205, 425, 50, 280):  # cheek points
        x, y = (int(round(v)) for v in face[idx, :2])
        patch = canvas[max(y - 6, 0) : y + 6, max(x - 6, 0) : x + 6]
        if patch.size:
            patches.append(patch.reshape(-1, 3).astype(np.float32))
    return np.concatenate(patches).mean(axis=0) if patches else None


def _unit(values: np.ndarray) -> np.ndarray:
    """Clip a fresh temporary to [0, 1] in place (np.clip costs more than the maths here)."""
    return np.minimum(np.maximum(values, 0.0, out=values), 1.0, out=values)


def _by_x(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    order = np.argsort(points[:, 0])
    return points[order, 0], points[order, 1]


def _noise_sigma(canvas: np.ndarray, face: np.ndarray) -> float:
    """The portrait's grain on the cheeks: robust std of the residual after a median filter."""
    grey = cv2.cvtColor(canvas, cv2.COLOR_RGB2GRAY).astype(np.float32)
    residual = grey - cv2.medianBlur(grey.astype(np.uint8), 3).astype(np.float32)
    values = []
    for idx in (205, 425, 50, 280):  # cheek points
        x, y = (int(round(v)) for v in face[idx, :2])
        patch = residual[max(y - 6, 0) : y + 6, max(x - 6, 0) : x + 6]
        if patch.size:
            values.append(np.abs(patch).ravel())
    if not values:
        return 0.0
    return float(np.clip(1.4826 * np.median(np.concatenate(values)), 0.0, 8.0))
