"""Turn a browser recording into a constant-frame-rate H.264 file before it is checked.

MediaRecorder writes variable-frame-rate WebM with 1 ms timestamps and no frame rate or duration
in its header: FFmpeg guesses 1000 fps from it, which the media prober rightly refuses as absurd
(measured with Chromium 156: "absurd frame rate 1e+03"), and sampling every n-th frame of a
variable-rate stream is not sampling evenly in time. Re-timing every clip onto a fixed grid fixes
both; the original bytes are what is stored, hashed and shown to the verifier.
"""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np

MAX_SIDE = 4096  # webcams record at most 4K; anything bigger is not a webcam recording


class RecordingError(Exception):
    """The recording could not be decoded."""


def recording_constant_rate(source: Path, target: Path, *, fps: int, max_seconds: float) -> None:
    """Write `source`'s video to `target` (MP4, H.264) at exactly `fps`, each output frame being
    the latest source frame at that instant; stops after `max_seconds` (+1 s so an overlong clip
    still shows as overlong)."""
    limit = max_seconds + 1.0
    try:
        with av.open(str(source), mode="r") as container:
            if not container.streams.video:
                raise RecordingError("the file has no video stream")
            stream = container.streams.video[0]
            if stream.codec_context is None:  # a video stream FFmpeg knows no codec for
                raise RecordingError("the video stream has no codec FFmpeg can read")
            width, height = stream.codec_context.width, stream.codec_context.height
            if not (0 < width <= MAX_SIDE and 0 < height <= MAX_SIDE):
                raise RecordingError(f"unusual frame size {width}x{height}")
            with av.open(str(target), mode="w", format="mp4") as output:
                encoder = None
                index = 0
                first_time = None
                for frame in container.decode(stream):
                    time = frame.time
                    if time is None:
                        time = index / fps  # no timestamps: take frames as they come
                    if first_time is None:
                        first_time = time
                    time -= first_time
                    if time > limit:
                        break
                    if encoder is None:
                        encoder = _encoder(output, frame, fps)
                    pixels = np.ascontiguousarray(
                        frame.to_ndarray(format="rgb24")[: encoder.height, : encoder.width]
                    )
                    # Repeat the current frame until the grid catches up with its timestamp. A
                    # fresh frame object each time: the encoder's lookahead keeps references,
                    # so re-stamping one object would give two queued frames the same pts.
                    while index / fps <= time or index == 0:
                        image = av.VideoFrame.from_ndarray(pixels, format="rgb24")  # (H, W, 3)
                        image.pts = index
                        for packet in encoder.encode(image):
                            output.mux(packet)
                        index += 1
                if encoder is None:
                    raise RecordingError("the recording has no frames")
                for packet in encoder.encode():
                    output.mux(packet)
    except (av.FFmpegError, OSError, ValueError) as exc:
        raise RecordingError(str(exc)) from exc


def _encoder(output, frame, fps: int):
    encoder = output.add_stream("libx264", rate=fps)
    # H.264 with 4:2:0 needs even sides.
    encoder.width = frame.width - frame.width % 2
    encoder.height = frame.height - frame.height % 2
    encoder.pix_fmt = "yuv420p"
    encoder.options = {"preset": "ultrafast", "crf": "23"}
    return encoder
