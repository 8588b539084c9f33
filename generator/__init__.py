"""Talking-face engine: one portrait plus speech in, a 512x512 frame sequence out.

Laid out like VASA-1's decomposition: face analysis, audio features, motion, rendering,
pipeline. No Django, and it never writes a video file: publishing (watermark, encode, sign)
is `provenance.publish`'s job, so no unwatermarked output can exist.
"""
