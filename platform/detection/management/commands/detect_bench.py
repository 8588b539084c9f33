"""`python manage.py detect_bench`: time the detector on 10 s 512x512 clips and on an image.

Makes its own media in a temporary folder: a clip published exactly like a platform output (the
astronaut's appearance marked with the platform key, moved by smooth warps, signed by the
platform CA), that clip re-encoded at CRF 30 (what a re-upload does), the same motion without
any mark, and a 512x512 PNG still of a marked frame. The bench output's payload and
fingerprints join the registry in memory only. Times every stage of the check with one
protected identity (the astronaut), so the face check always runs: the worst case. Writes
nothing to the database. Reports medians of wall time and of this process's CPU time (on a
shared machine the CPU time shows what an idle machine's wall time would be).
"""

from __future__ import annotations

import json
import statistics
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import torch
from django.core.management.base import BaseCommand
from skimage.data import astronaut

from core.keys import c2pa_signing_identity, secret_bytes
from detection import registry
from detection.checks import fingerprint_check, likeness_check
from detection.sampling import sample_upload
from detection.services import detection_limits
from generator.face_analysis import face_descriptors
from provenance.attacks import decode_video, encode_h264
from provenance.manifest import ManifestInfo, read_manifest
from provenance.media import Mp4Writer
from provenance.payload import payload_for_record
from provenance.publish import publish
from provenance.watermark import KnownPayload, detect_sampled, mark_appearance

BENCH_RECORD_ID = 987_654_321  # not in any registry: the watermark is read blind
SIDE, FPS, SECONDS = 512, 25, 10


def _frames(appearance_for_frame, count: int):
    for index in range(count):
        angle = 3.0 * np.sin(index / 12.0)
        scale = 1.0 + 0.02 * np.sin(index / 17.0)
        matrix = cv2.getRotationMatrix2D((SIDE / 2, SIDE / 2), angle, scale)
        matrix[0, 2] += 4.0 * np.sin(index / 9.0)
        yield cv2.warpAffine(
            appearance_for_frame(index), matrix, (SIDE, SIDE), borderMode=cv2.BORDER_REFLECT
        )


class Command(BaseCommand):
    help = "Time the detection checks on a 10 s 512x512 clip and a 512x512 image."

    def add_arguments(self, parser):
        parser.add_argument("--repeat", type=int, default=5)
        parser.add_argument("--threads", type=int, default=2, help="torch threads (2 cores)")
        parser.add_argument("--json", action="store_true")

    def handle(self, *args, **options):
        torch.set_num_threads(options["threads"])
        cv2.setNumThreads(options["threads"])
        key = secret_bytes("watermark")
        signer = c2pa_signing_identity()
        portrait = cv2.resize(astronaut(), (SIDE, SIDE), interpolation=cv2.INTER_AREA)
        (descriptor,) = face_descriptors(portrait)
        protected = [(0, descriptor), *registry.protected_descriptors()]
        results = {}
        with tempfile.TemporaryDirectory() as folder:
            payload = payload_for_record(BENCH_RECORD_ID, key)
            marked = mark_appearance(portrait, payload)
            clip = Path(folder) / "clip.mp4"
            info = ManifestInfo("bench", BENCH_RECORD_ID, "bench", "bench", "bench")
            published = publish(
                _frames(marked.for_frame, SECONDS * FPS),
                None,
                payload,
                info,
                clip,
                signer=signer,
                watermark_key=key,
                fps=FPS,
            )
            # The worst case: nothing to find, so every sampled frame is decoded and matched.
            unmarked = Path(folder) / "unmarked.mp4"
            with Mp4Writer(unmarked, width=SIDE, height=SIDE, fps=FPS, audio=None) as writer:
                for frame in _frames(lambda index: portrait, SECONDS * FPS):
                    writer.write(frame)
            # What a re-upload does: decoded and re-encoded at CRF 30, manifest gone.
            frames, _ = decode_video(clip.read_bytes())
            copy = Path(folder) / "crf30.mp4"
            copy.write_bytes(encode_h264(frames, FPS, crf=30))
            # The bench output is registered in memory only, so the registry match runs as it
            # would for a real output (nothing is written to the database).
            self.payloads = [
                *registry.registered_payloads(),
                KnownPayload(BENCH_RECORD_ID, published.payload_hex),
            ]
            self.fingerprints = [
                *registry.registered_fingerprints(),
                *((BENCH_RECORD_ID, h) for h in published.fingerprints),
            ]
            image = Path(folder) / "still.png"
            still = next(_frames(marked.for_frame, 1))
            cv2.imwrite(str(image), cv2.cvtColor(still, cv2.COLOR_RGB2BGR))
            for name, path in (
                ("platform_clip_10s_512", clip),
                ("unmarked_clip_10s_512", unmarked),
                ("crf30_copy_10s_512", copy),
                ("image_512", image),
            ):
                results[name] = self._time(path, key, signer.root_pem, protected, options)
        results["load_average_1min"] = round(__import__("os").getloadavg()[0], 2)
        results["torch_threads"] = options["threads"]
        if options["json"]:
            self.stdout.write(json.dumps(results))
            return
        for name, stages in results.items():
            self.stdout.write(f"{name}: {stages}")

    def _time(self, path, key, anchor, protected, options) -> dict:
        payloads, fingerprints = self.payloads, self.fingerprints
        payload_of = {p.record_id: p for p in payloads}
        stages: dict[str, list[float]] = {}
        identified = []

        def timed(stage: str, function):
            wall, cpu = time.perf_counter(), time.process_time()
            value = function()
            stages.setdefault(f"{stage}_wall_s", []).append(time.perf_counter() - wall)
            stages.setdefault(f"{stage}_cpu_s", []).append(time.process_time() - cpu)
            return value

        for _ in range(options["repeat"] + 1):  # the first run loads models: not counted
            wall, cpu = time.perf_counter(), time.process_time()
            sample = timed("sample", lambda: sample_upload(path, detection_limits()))
            prints = sample.fingerprint_frames
            found = timed("fingerprint", lambda f=prints: fingerprint_check(f, fingerprints))
            mark = timed(
                "watermark",
                lambda s=sample, c=found.candidates: detect_sampled(
                    s.watermark_frames,
                    key,
                    positions=s.watermark_positions,
                    more_frames=s.second_look_frames,
                    more_positions=s.second_look_positions,
                    fps=s.fps,
                    known=payloads,
                    candidates=[payload_of[r] for r, _ in c if r in payload_of],
                ),
            )
            timed("c2pa", lambda: read_manifest(path, anchor))
            face = sample.face_frame
            timed("likeness", lambda f=face: likeness_check(f, protected))
            stages.setdefault("total_wall_s", []).append(time.perf_counter() - wall)
            stages.setdefault("total_cpu_s", []).append(time.process_time() - cpu)
            identified.append(mark.identified)
        summary = {name: round(statistics.median(values[1:]), 3) for name, values in stages.items()}
        summary["watermark_identified"] = all(identified)
        return summary
