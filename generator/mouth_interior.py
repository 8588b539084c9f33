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
        """Draw the interior into `frame` (512, 512, 3) uint8 inside the inner lips, in place."""
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
        alpha = mask.astype(np.float32)[..., None] / 255.0  # (h, w, 1)
        xs = np.arange(x0, x1, dtype=np.float32)
        top = np.interp(xs, *_by_x(upper)).astype(np.float32)  # (w,)
        bottom = np.maximum(np.interp(xs, *_by_x(lower)).astype(np.float32), top + 1e-3)
        ys = np.arange(y0, y1, dtype=np.float32)[:, None]  # (h, 1)
        gap = bottom - top  # (w,)
        below_top = ys - top  # (h, w) pixels under the upper lip
        above_bottom = bottom - ys
        depth = np.clip(below_top / gap, 0.0, 1.0)
        centre = (upper[0, 0] + upper[-1, 0]) / 2.0
        half = max(1.0, abs(upper[-1, 0] - upper[0, 0]) / 2.0)
        across = np.clip(1.0 - np.abs((xs - centre) / half), 0.0, 1.0)  # (w,) 1 mid, 0 corners

        # Cavity: darkest up behind the upper teeth and in the corners (the cheeks shade
        # them), so a wide opening is not a flat dark oval.
        shade = (0.55 + 0.45 * np.sqrt(across)) * (0.7 + 0.3 * depth)  # (h, w)
        colour = _THROAT * shade[..., None]
        # Tongue: lies low in a wide opening, its lit top an arc higher in the middle.
        wide = np.clip((gap - 0.1 * self.iod) / (0.15 * self.iod), 0.0, 1.0)  # (w,)
        arc = 0.62 + 0.25 * (1.0 - across) ** 2  # (w,) depth of the tongue's top
        tongue = np.clip((depth - arc) / 0.12, 0.0, 1.0) * wide * np.sqrt(across)
        lit_top = 1.0 - 0.3 * np.clip((depth - arc) / 0.3, 0.0, 1.0)  # top lit, back shaded
        colour += (_TONGUE * lit_top[..., None] - colour) * (0.85 * tongue)[..., None]
        upper_h = np.minimum(0.11 * self.iod, 0.42 * gap) * np.sqrt(across)  # (w,)
        if self._own_teeth is not None:
            # A gap no wider than the portrait's own shows its teeth, as the portrait does,
            # not a dark line.
            upper_h = np.maximum(upper_h, np.minimum(0.9 * gap, self._own_teeth.shape[0]))
        lower_h = (
            np.minimum(0.07 * self.iod, 0.3 * gap)
            * np.clip((gap - 0.12 * self.iod) / (0.1 * self.iod), 0, 1)
            * across
        )
        upper_teeth = np.clip((upper_h - below_top) / 1.2, 0.0, 1.0)
        upper_teeth *= 0.75 + 0.25 * np.clip(below_top / 2.0, 0.0, 1.0)  # lip's shadow on them
        lower_teeth = np.clip((lower_h - above_bottom) / 1.2, 0.0, 1.0)
        # Separate teeth: a thin shadow between neighbours (incisors about 0.09 iod wide,
        # narrowing toward the corners as the arch turns away), and edges a little greyer,
        # so the band reads as teeth, not a plate.
        phase = (xs - centre) / (0.09 * self.iod * (0.55 + 0.45 * across))  # (w,) in teeth
        seam = np.exp(-0.5 * ((phase - np.round(phase)) / 0.1) ** 2)  # 1 between two teeth
        lit = (0.76 + 0.26 * across) * (1.0 - 0.16 * seam * np.sqrt(across))  # (w,)
        teeth = self._teeth * lit[:, None]  # (w, 3)
        edge = np.clip((below_top - 0.7 * upper_h) / np.maximum(0.3 * upper_h, 1.0), 0, 1)
        upper_colour = teeth * (1.0 - 0.12 * edge)[..., None]  # (h, w, 3)
        colour += (upper_colour - colour) * upper_teeth[..., None]
        lower_lit = (0.76 + 0.26 * across) * 0.92  # lower teeth: in the upper lip's shade
        colour += (self._teeth * lower_lit[:, None] - colour) * lower_teeth[..., None]
        if self._own_teeth is not None:
            colour = self._blend_own_teeth(colour, xs, below_top, upper_h, upper, mouth)

        # Match the portrait: light, colourfulness, blur, grain.
        colour *= self._light
        grey = colour @ np.array([0.299, 0.587, 0.114], np.float32)
        colour = grey[..., None] + (colour - grey[..., None]) * self._colour
        if self._blur > 0.3:
            colour = cv2.GaussianBlur(colour, (0, 0), self._blur)
        colour += self._noise_sigma * self._grain[y0:y1, x0:x1, None]
        region = frame[y0:y1, x0:x1]
        out = region.astype(np.float32) * (1.0 - alpha) + colour * alpha
        region[...] = np.clip(out, 0, 255).astype(np.uint8)

    def _blend_own_teeth(
        self,
        colour: np.ndarray,
        xs: np.ndarray,
        below_top: np.ndarray,
        upper_h: np.ndarray,
        upper: np.ndarray,
        mouth: MouthPose,
    ) -> np.ndarray:
        """Replace the painted upper teeth with the portrait's own, carried by the upper lip."""
        strip = self._own_teeth
        sh, sw = strip.shape[:2]
        x0, x1 = float(upper[:, 0].min()), float(upper[:, 0].max())
        u = np.clip((xs - x0) / max(x1 - x0, 1.0) * (sw - 1), 0, sw - 1)  # (w,)
        v = np.clip(below_top, 0, sh - 1)  # (h, w)
        map_x = np.broadcast_to(u, v.shape).astype(np.float32)
        own = cv2.remap(strip, map_x, v.astype(np.float32), cv2.INTER_LINEAR).astype(np.float32)
        # Undo the light match for these pixels: they are the portrait's own already.
        own /= self._light
        inside = np.clip((np.minimum(upper_h, sh) - below_top) / 1.2, 0.0, 1.0)[..., None]
        return colour + (own - colour) * inside


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
