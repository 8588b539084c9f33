"""Media I/O under caps: sniffing, probing and reading images and videos, streaming MP4 writing.

Every reader checks the bytes before trusting them: the kind comes from magic bytes (never the file
name, `sniff`), dimensions and durations from headers checked against `MediaLimits` before
anything is decoded (`limits`, `probe`), and truncation from a demux pass. Any failure is a
`MediaError`. Frames are decoded in `frames`; `mp4` writes the only videos this package makes.
"""

from __future__ import annotations

from .files import sha256_file
from .frames import iter_video_frames, sample_video_frames, video_frames_at
from .limits import MAX_ASPECT_RATIO, MAX_SIDE, MediaLimits
from .mp4 import AudioTrack, Mp4Writer
from .probe import MediaInfo, probe, read_image
from .sniff import Sniffed, sniff_bytes, sniff_file, sniff_kind

__all__ = [
    "MAX_ASPECT_RATIO",
    "MAX_SIDE",
    "AudioTrack",
    "MediaInfo",
    "MediaLimits",
    "Mp4Writer",
    "Sniffed",
    "iter_video_frames",
    "probe",
    "read_image",
    "sample_video_frames",
    "sha256_file",
    "sniff_bytes",
    "sniff_file",
    "sniff_kind",
    "video_frames_at",
]
