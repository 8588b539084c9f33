"""The real clips `detect_bench --registry-size` checks, made in a child process.

The astronaut marked with the platform key, moving as a talking head, published and signed like
a platform output; each with a CRF 30 and a half-size copy and a still. Made in a spawned child
(`media_child`) so the bench process never holds the encoder or the rendered frames: its RSS is
a detection worker's. No Django model is imported at this module's top, so the child can import
it before `django.setup()`.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

SIDE, FPS, SECONDS = 512, 25, 10
CLIP_RECORD_IDS = (4_000_001, 4_000_002)  # two clips of one face: PDQ look-alikes of each other


def media_child(folder: str) -> tuple[list, list[tuple[int, Path, str]]]:
    """`_media` in a fresh interpreter: sets Django up first (the signing identity's keys)."""
    import django

    django.setup()
    from core.keys import c2pa_signing_identity, secret_bytes

    return _media(Path(folder), secret_bytes("watermark"), c2pa_signing_identity())


def _frames(appearance_for_frame, count: int, phase: float):
    for index in range(count):
        angle = 3.0 * np.sin(index / 12.0 + phase)
        scale = 1.0 + 0.02 * np.sin(index / 17.0 + phase)
        matrix = cv2.getRotationMatrix2D((SIDE / 2, SIDE / 2), angle, scale)
        matrix[0, 2] += 4.0 * np.sin(index / 9.0 + phase)
        yield cv2.warpAffine(
            appearance_for_frame(index), matrix, (SIDE, SIDE), borderMode=cv2.BORDER_REFLECT
        )


def _media(folder: Path, key: bytes, signer) -> tuple[list, list[tuple[int, Path, str]]]:
    """Publish the real clips; returns their (record id, payload hex, PDQ hashes) and the media
    to check as (true record id, path, kind)."""
    from skimage.data import astronaut

    from provenance.attacks import decode_video, encode_h264, h264, resize_half
    from provenance.manifest import ManifestInfo
    from provenance.payload import payload_for_record
    from provenance.publish import publish
    from provenance.watermark import mark_appearance

    attacks = {"crf30": h264(30), "half_size": resize_half}
    portrait = cv2.resize(astronaut(), (SIDE, SIDE), interpolation=cv2.INTER_AREA)
    clips, media = [], []
    for number, record_id in enumerate(CLIP_RECORD_IDS):
        payload = payload_for_record(record_id, key)
        marked = mark_appearance(portrait, payload)
        path = folder / f"clip{number}.mp4"
        info = ManifestInfo("bench", record_id, "bench", "bench", "bench")
        published = publish(
            _frames(marked.for_frame, SECONDS * FPS, phase=1.3 * number),
            None,
            payload,
            info,
            path,
            signer=signer,
            watermark_key=key,
            fps=FPS,
        )
        clips.append((record_id, published.payload_hex, list(published.fingerprints)))
        media.append((record_id, path, "video"))
        data = path.read_bytes()
        for name, attack in attacks.items():
            copy = folder / f"clip{number}_{name}.mp4"
            copy.write_bytes(encode_h264(attack(data), FPS, crf=23))
            media.append((record_id, copy, "video"))
        still = decode_video(data)[0][FPS * 3]
        image = folder / f"clip{number}.png"
        cv2.imwrite(str(image), cv2.cvtColor(still, cv2.COLOR_RGB2BGR))
        media.append((record_id, image, "image"))
    return clips, media
