"""What a re-uploader does to a published clip, for measuring the watermark (provenance.bench).

Every attack takes the published MP4's bytes and returns the frames (RGB uint8) an attacker's copy
decodes to. Video attacks end with an encode, as any re-upload does (H.264 at x264's default CRF
unless the attack is the codec itself). In-memory files only: this is attacking and measuring;
real outputs go through provenance.publish.

The set is Video Seal's (Fernandez et al., arXiv 2412.09492, its evaluation's "valid" and
"combined" augmentations) at its published strengths, plus AV1, single frames as JPEG 75 and 40,
and this project's earlier attacks (CRF 35, 90% crop, brightness +-20, two encodes, 15 fps).
"""

from __future__ import annotations

import io
import os
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
# Encoders by codec: (PyAV encoder, container format, options). VP9 and AV1 take a CRF on their
# own scales; these are their common "good web quality" settings (Video Seal uses the defaults).
CODECS: dict[str, tuple[str, str, dict[str, str]]] = {
    "h264": ("libx264", "mp4", {"preset": "veryfast"}),
    "h265": ("libx265", "mp4", {"preset": "veryfast", "x265-params": "log-level=error"}),
    "vp9": ("libvpx-vp9", "webm", {"b": "0", "deadline": "realtime", "cpu-used": "8"}),
    "av1": ("libsvtav1", "mp4", {"preset": "10"}),
}
DEFAULT_CRF = {"h264": ATTACK_CRF, "h265": 28, "vp9": 32, "av1": 35}
HUE_SHIFT_DEGREES = 36  # Video Seal's hue shift: 0.1 of the hue circle
BLUR_KERNEL, BLUR_SIGMA = 17, 1.5  # Video Seal's blur kernel; a sigma its range holds
COMBINED_CROP, COMBINED_BRIGHTNESS = 0.71, 1.5  # Video Seal's "H.264 + crop + brightness"


def encode_video(
    frames: Sequence[np.ndarray], fps: float, codec: str = "h264", crf: int | None = None
) -> bytes:
    """`codec` (a CODECS key) yuv420p bytes of RGB frames (sides made even, as yuv420p needs)."""
    if not frames:
        raise MediaError("no frames to encode")
    encoder, container_format, options = CODECS[codec]
    if codec == "av1":
        os.environ.setdefault("SVT_LOG", "1")  # SVT-AV1 prints its whole config on stderr else
    height, width = (s - s % 2 for s in frames[0].shape[:2])
    buffer = io.BytesIO()
    with av.open(buffer, "w", format=container_format) as container:
        stream = container.add_stream(encoder, rate=Fraction(fps).limit_denominator(1001))
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {**options, "crf": str(DEFAULT_CRF[codec] if crf is None else crf)}
        for frame in frames:
            video_frame = av.VideoFrame.from_ndarray(
                np.ascontiguousarray(frame[:height, :width]), format="rgb24"
            )
            container.mux(stream.encode(video_frame))
        container.mux(stream.encode())
    return buffer.getvalue()


def encode_h264(frames: Sequence[np.ndarray], fps: float, crf: int = ATTACK_CRF) -> bytes:
    """H.264 (x264 veryfast) yuv420p MP4 bytes of RGB frames."""
    return encode_video(frames, fps, "h264", crf)


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


def _reencode(
    frames: Sequence[np.ndarray], fps: float, crf: int = ATTACK_CRF, codec: str = "h264"
) -> list[np.ndarray]:
    return decode_video(encode_video(frames, fps, codec, crf))[0]


Attack = Callable[[bytes], list[np.ndarray]]


def per_frame(edit: Callable[[np.ndarray], np.ndarray]) -> Attack:
    """An attack that edits every frame with `edit`, then re-encodes (H.264 at ATTACK_CRF)."""

    def attack(published: bytes) -> list[np.ndarray]:
        frames, fps = decode_video(published)
        return _reencode([np.ascontiguousarray(edit(f)) for f in frames], fps)

    attack.__doc__ = edit.__doc__
    return attack


def no_attack(published: bytes) -> list[np.ndarray]:
    return decode_video(published)[0]


def codec_attack(codec: str, crf: int | None = None) -> Attack:
    def attack(published: bytes) -> list[np.ndarray]:
        frames, fps = decode_video(published)
        return _reencode(frames, fps, DEFAULT_CRF[codec] if crf is None else crf, codec)

    return attack


def h264(crf: int) -> Attack:
    return codec_attack("h264", crf)


# Frame edits, RGB uint8 -> RGB uint8.


def flip(frame: np.ndarray) -> np.ndarray:
    """Mirrored left to right."""
    return frame[:, ::-1]


def rotate(degrees: float) -> Callable[[np.ndarray], np.ndarray]:
    def edit(frame: np.ndarray) -> np.ndarray:
        """Turned about the centre, the corners filled by reflection (same size)."""
        height, width = frame.shape[:2]
        matrix = cv2.getRotationMatrix2D((width / 2, height / 2), degrees, 1.0)
        return cv2.warpAffine(frame, matrix, (width, height), borderMode=cv2.BORDER_REFLECT)

    return edit


def centre_crop(keep: float) -> Callable[[np.ndarray], np.ndarray]:
    def edit(frame: np.ndarray) -> np.ndarray:
        """The centre `keep` of each side."""
        height, width = frame.shape[:2]
        crop_h, crop_w = round(height * keep), round(width * keep)
        top, left = (height - crop_h) // 2, (width - crop_w) // 2
        return frame[top : top + crop_h, left : left + crop_w]

    return edit


def resize(scale: float) -> Callable[[np.ndarray], np.ndarray]:
    def edit(frame: np.ndarray) -> np.ndarray:
        """Every side times `scale` (area interpolation)."""
        size = (round(frame.shape[1] * scale), round(frame.shape[0] * scale))
        return cv2.resize(frame, size, interpolation=cv2.INTER_AREA)

    return edit


def _clip(values: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(values), 0, 255).astype(np.uint8)


def brightness_factor(factor: float) -> Callable[[np.ndarray], np.ndarray]:
    def edit(frame: np.ndarray) -> np.ndarray:
        """Every value times `factor` (torchvision's adjust_brightness)."""
        return _clip(frame.astype(np.float32) * factor)

    return edit


def contrast_factor(factor: float) -> Callable[[np.ndarray], np.ndarray]:
    def edit(frame: np.ndarray) -> np.ndarray:
        """Blended with the frame's mean grey (torchvision's adjust_contrast)."""
        mean = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY).mean()
        return _clip(mean + factor * (frame.astype(np.float32) - mean))

    return edit


def saturation_factor(factor: float) -> Callable[[np.ndarray], np.ndarray]:
    def edit(frame: np.ndarray) -> np.ndarray:
        """Blended with its own grey (torchvision's adjust_saturation)."""
        grey = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY).astype(np.float32)[:, :, None]
        return _clip(grey + factor * (frame.astype(np.float32) - grey))

    return edit


def hue_shift(frame: np.ndarray) -> np.ndarray:
    """Hue turned by HUE_SHIFT_DEGREES."""
    hsv = cv2.cvtColor(frame, cv2.COLOR_RGB2HSV)  # H in [0, 180)
    hsv[:, :, 0] = (hsv[:, :, 0].astype(np.int32) + HUE_SHIFT_DEGREES // 2) % 180
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)


def greyscale(frame: np.ndarray) -> np.ndarray:
    """Luma only, in all three channels."""
    return np.repeat(cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)[:, :, None], 3, axis=2)


def jpeg(quality: int) -> Callable[[np.ndarray], np.ndarray]:
    def edit(frame: np.ndarray) -> np.ndarray:
        """Saved as JPEG at `quality` and read back."""
        bgr = cv2.cvtColor(frame, cv2.COLOR_RGB2BGR)
        ok, data = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, quality])
        if not ok:
            raise MediaError("JPEG encoding failed")
        return cv2.cvtColor(cv2.imdecode(data, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)

    return edit


def gaussian_blur(frame: np.ndarray) -> np.ndarray:
    """Gaussian blur, BLUR_KERNEL px at BLUR_SIGMA."""
    return cv2.GaussianBlur(frame, (BLUR_KERNEL, BLUR_KERNEL), BLUR_SIGMA)


def crop_then_brighten(frame: np.ndarray) -> np.ndarray:
    """Video Seal's combined attack before its H.264 encode: crop, then brightness."""
    return brightness_factor(COMBINED_BRIGHTNESS)(centre_crop(COMBINED_CROP)(frame))


# Whole-clip attacks.


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


def brightness(delta: int) -> Attack:
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


def still_frame(quality: int) -> Attack:
    def attack(published: bytes) -> list[np.ndarray]:
        """One middle frame saved as JPEG at `quality`: a screenshot."""
        frames, _ = decode_video(published)
        return [jpeg(quality)(frames[len(frames) // 2])]

    return attack


jpeg50_frame = still_frame(50)


def brightness_20(published: bytes, sign: int = 1) -> list[np.ndarray]:
    """Brightness +20 (sign=1) or -20 (sign=-1) on every frame."""
    return brightness(20 * sign)(published)


ATTACKS: dict[str, Attack] = {
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
    # Video Seal's set
    "flip": per_frame(flip),
    "rotate_10": per_frame(rotate(10.0)),
    "crop_71": per_frame(centre_crop(0.71)),
    "crop_55": per_frame(centre_crop(0.55)),
    "resize_55": per_frame(resize(0.55)),
    "brightness_x0.5": per_frame(brightness_factor(0.5)),
    "brightness_x1.5": per_frame(brightness_factor(1.5)),
    "contrast_x0.5": per_frame(contrast_factor(0.5)),
    "contrast_x1.5": per_frame(contrast_factor(1.5)),
    "saturation_x0.5": per_frame(saturation_factor(0.5)),
    "saturation_x1.5": per_frame(saturation_factor(1.5)),
    "hue_shift": per_frame(hue_shift),
    "greyscale": per_frame(greyscale),
    "jpeg_40": per_frame(jpeg(40)),
    "gaussian_blur": per_frame(gaussian_blur),
    "h264_crf40": h264(40),
    "h265_crf23": codec_attack("h265", 23),
    "h265_crf30": codec_attack("h265", 30),
    "h265_crf40": codec_attack("h265", 40),
    "vp9": codec_attack("vp9"),
    "av1": codec_attack("av1"),
    "h264_crop_brightness": per_frame(crop_then_brighten),
    # beyond it: screenshots
    "jpeg75_frame": still_frame(75),
    "jpeg40_frame": still_frame(40),
}
# Single images: one word of three, never identifiable (docs/detection.md gives the arithmetic).
STILL_ATTACKS = ("jpeg50_frame", "jpeg75_frame", "jpeg40_frame")
