"""Renderer: warp the aligned portrait by the motion latent, one 512x512 frame at a time.

VASA-1 decodes its holistic latent with a learned face decoder; this renderer decodes the
explicit latent geometrically, on the portrait's dense 3D face mesh:

1. `generator.deformation` turns the latent into per-vertex moves of the mesh (head rotation
   in 3D, jaw about its joints, lips along their contours, lids, irises, brows).
2. `generator.mesh_warp` turns the vertex moves into a per-pixel map: one sparse product with
   barycentric weights precomputed per portrait, a fixed-point inverse, one `cv2.remap`.
3. `generator.mouth_interior` paints cavity, teeth and tongue inside the frame's inner lips.

Everything is numpy/SciPy/OpenCV on the calling thread; no torch op is fast enough at this
size to be worth a dispatch.
"""

from __future__ import annotations

import cv2
import numpy as np

from generator.deformation import FaceDeformer, FaceGeometry, MouthPose
from generator.face_analysis import CANVAS, PortraitAnalysis
from generator.landmarks import inter_ocular
from generator.mesh_warp import MeshWarp, build_mesh
from generator.motion import CHANNEL
from generator.mouth_interior import MouthInterior


class FaceRenderer:
    """Precomputes a portrait's mesh warp once; `render(latent, canvas)` makes one frame."""

    def __init__(
        self,
        analysis: PortraitAnalysis,
        *,
        head_distance: float = 1.0,
        geometry: FaceGeometry | None = None,
    ) -> None:
        self.geometry = geometry = geometry or FaceGeometry()
        mesh = build_mesh(analysis.mesh)
        iod = inter_ocular(analysis.landmarks)
        # Nearer: zoom the whole canvas (all the content is there). Farther: shrink the head
        # under its weight instead, as zooming out would need pixels beyond the canvas.
        zoom = max(1.0, float(head_distance))
        centre = (CANVAS / 2.0, float(analysis.mesh[4, 1]))  # about the nose tip's height
        self._warp = MeshWarp(mesh, zoom=zoom, centre=centre)
        blur = float(np.clip(0.45 * analysis.source_scale - 0.25, 0.0, 2.5))
        self._mouth = MouthInterior(analysis.aligned, analysis.mesh, iod, blur)
        self._deformer = FaceDeformer(mesh, iod, geometry, shows_teeth=self._mouth.own_teeth)
        far = min(1.0, float(head_distance))
        self._far_scale = far - 1.0  # added to the latent's own scale channel
        self._canvas_cache: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def source_map(self, latent: np.ndarray) -> tuple[np.ndarray, list[MouthPose]]:
        """(C,) latent -> (512, 512, 2) float32 canvas coords per output pixel, and overlays."""
        latent = np.asarray(latent, np.float32).copy()
        if self._far_scale:
            latent[CHANNEL["scale"]] += self._far_scale
        moves, mouth = self._deformer.displacement(latent)  # (V, 2)
        return self._warp.source_map(moves), [mouth]

    def grid_offsets(self, latent: np.ndarray) -> tuple[np.ndarray, list[MouthPose]]:
        """The cheapest map `compose` reads: (gh, gw, 2) backward offsets on the warp's grid.

        The pipeline's path: outside the warp's box the map is the identity, and the
        upsampling to pixels is left to `compose`, which runs on the other core.
        """
        latent = np.asarray(latent, np.float32).copy()
        if self._far_scale:
            latent[CHANNEL["scale"]] += self._far_scale
        moves, mouth = self._deformer.displacement(latent)  # (V, 2)
        return self._warp.grid_offsets(moves), [mouth]

    def render(self, latent: np.ndarray, canvas: np.ndarray) -> np.ndarray:
        """(C,) latent + (512, 512, 3) uint8 canvas -> (512, 512, 3) uint8 RGB frame.

        Canvases are treated as immutable: their 4-channel copy is cached by identity
        (provenance hands in a few fixed marked canvases).
        """
        offsets, overlays = self.grid_offsets(latent)
        return self.compose(canvas, offsets, overlays)

    def compose(
        self, canvas: np.ndarray, coords: np.ndarray, overlays: list[MouthPose]
    ) -> np.ndarray:
        """Second half of `render`: warp the canvas by `coords`, then paint the mouth interior.

        `coords` is `source_map`'s (512, 512, 2) map or `grid_offsets`' (gh, gw, 2) one.

        Separate so a pipeline can run it for frame t on one core while `source_map` runs
        for frame t + 1 on the other (OpenCV releases the GIL).
        """
        # Only the box the head can move in is warped; the rest is the canvas itself. OpenCV's
        # 4-channel remap is vectorised and twice as fast as the 3-channel one.
        rows, cols = self._warp.box
        if coords.shape[:2] == self._warp.grid_shape:
            coords = self._warp.upsample(coords)  # (bh, bw, 2)
        else:
            coords = coords[rows, cols]
        warped = cv2.remap(
            self._rgba(canvas),
            coords,
            None,
            cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_REPLICATE,
        )
        frame = canvas.copy()  # (512, 512, 3)
        cv2.cvtColor(warped, cv2.COLOR_RGBA2RGB, dst=frame[rows, cols])  # in place, no temporary
        for mouth in overlays:
            self._mouth.paint(frame, mouth)
        return frame

    def _rgba(self, canvas: np.ndarray) -> np.ndarray:
        key = id(canvas)
        cached = self._canvas_cache.get(key)
        if cached is not None and cached[0] is canvas:
            return cached[1]
        rgba = cv2.cvtColor(canvas, cv2.COLOR_RGB2RGBA)
        if len(self._canvas_cache) >= 8:  # a few alternating watermark canvases at most
            self._canvas_cache.pop(next(iter(self._canvas_cache)))
        self._canvas_cache[key] = (canvas, rgba)
        return rgba
