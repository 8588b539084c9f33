"""What a re-uploader does to a published clip, for measuring the watermark (provenance.bench).

Every attack takes the published MP4's bytes and returns the frames (RGB uint8) an attacker's copy
decodes to. Video attacks end with an H.264 encode, as any re-upload does. In-memory MP4s only:
this is attacking and measuring; real outputs go through provenance.publish.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from fractions import Fraction

import av
import cv2
import numpy as np

from provenance.errors import MediaError

ATTACK_CRF = 23  # x264's default: the quality a platform re-encodes uploads at
REENCODE_TWICE_CRF = 28
# The attacks whose copy plays at another frame rate, and that rate: a detector reads it from the
# copy's container, as the platform's sampler does.
RETIMED: dict[str, float] = {"fps_15": 15.0}


def encode_h264(
    frames: Sequence[np.ndarray], fps: float, crf: int = ATTACK_CRF, preset: str = "veryfast"
) -> bytes:
    """H.264 yuv420p MP4 bytes of RGB frames (sides made even, as yuv420p needs)."""
    if not frames:
        raise MediaError("no frames to encode")
    height, width = (s - s % 2 for s in frames[0].shape[:2])
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=Fraction(fps).limit_denominator(1001))
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"crf": str(crf), "preset": preset}
        for frame in frames:
            video_frame = av.VideoFrame.from_ndarray(
                np.ascontiguousarray(frame[:height, :width]), format="rgb24"
            )
            container.mux(stream.encode(video_frame))
        container.mux(stream.encode())
    return buffer.getvalue()


def decode_video(data: bytes) -> tuple[list[np.ndarray], float]:
    """All frames of an in-memory video as RGB uint8, and its frame rate."""
    try:
        with av.open(io.BytesIO(data)) as container:
            stream = container.streams.video[0]
            fps = float(stream.average_rate or stream.guessed_rate or 25)
            frames = [frame.to_ndarray(format="rgb24") for frame in container.decode(stream)]
    except (av.error.FFmpegError, IndexError) as error:
        raise MediaError("not a decodable video") from error
    return frames, fps


def _reencode(frames: Sequence[np.ndarray], fps: float, crf: int = ATTACK_CRF) -> list[np.ndarray]:
    return decode_video(encode_h264(frames, fps, crf))[0]


def no_attack(published: bytes) -> list[np.ndarray]:
    return decode_video(published)[0]


def h264(crf: int) -> Callable[[bytes], list[np.ndarray]]:
    def attack(published: bytes) -> list[np.ndarray]:
        frames, fps = decode_video(published)
        return _reencode(frames, fps, crf)

    return attack


def resize_half(published: bytes) -> list[np.ndarray]:
    frames, fps = decode_video(published)
    small = [
        cv2.resize(f, (f.shape[1] // 2, f.shape[0] // 2), interpolation=cv2.INTER_AREA)
        for f in frames
    ]
    return _reencode(small, fps)


def crop_90(published: bytes) -> list[np.ndarray]:
    """Keep the centre 90% of each side (81% of the area)."""
    frames, fps = decode_video(published)
    height, width = frames[0].shape[:2]
    top, left = round(height * 0.05), round(width * 0.05)
    cropped = [f[top : height - top, left : width - left] for f in frames]
    return _reencode(cropped, fps)


def brightness(delta: int) -> Callable[[bytes], list[np.ndarray]]:
    def attack(published: bytes) -> list[np.ndarray]:
        frames, fps = decode_video(published)
        shifted = [np.clip(f.astype(np.int16) + delta, 0, 255).astype(np.uint8) for f in frames]
        return _reencode(shifted, fps)

    return attack


def reencode_twice(published: bytes) -> list[np.ndarray]:
    frames, fps = decode_video(published)
    return _reencode(_reencode(frames, fps, REENCODE_TWICE_CRF), fps, REENCODE_TWICE_CRF)


def fps_15(published: bytes) -> list[np.ndarray]:
    """Resample to 15 fps by nearest earlier frame (25 -> 15 drops 2 frames in every 5)."""
    frames, fps = decode_video(published)
    rate = RETIMED["fps_15"]
    count = int(len(frames) * rate / fps)
    kept = [frames[min(len(frames) - 1, int(j * fps / rate))] for j in range(count)]
    return _reencode(kept, rate)


def jpeg50_frame(published: bytes) -> list[np.ndarray]:
    """One middle frame saved as JPEG quality 50: a screenshot."""
    frames, _ = decode_video(published)
    bgr = cv2.cvtColor(frames[len(frames) // 2], cv2.COLOR_RGB2BGR)
    ok, jpeg = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, 50])
    if not ok:
        raise MediaError("JPEG encoding failed")
    return [cv2.cvtColor(cv2.imdecode(jpeg, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)]


def brightness_20(published: bytes, sign: int = 1) -> list[np.ndarray]:
    """Brightness +20 (sign=1) or -20 (sign=-1) on every frame."""
    return brightness(20 * sign)(published)


ATTACKS: dict[str, Callable[[bytes], list[np.ndarray]]] = {
    "none": no_attack,
    "h264_crf23": h264(23),
    "h264_crf30": h264(30),
    "h264_crf35": h264(35),
    "resize_half": resize_half,
    "crop_90": crop_90,
    "brightness_20": brightness_20,
    "reencode_twice": reencode_twice,
    "fps_15": fps_15,
    "jpeg50_frame": jpeg50_frame,
}
