"""`python manage.py detect_bench`: time the detector on 10 s 512x512 clips and on an image.

Makes its own media in a temporary folder: a clip published exactly like a platform output (the
astronaut's appearance marked with the platform key, moved by smooth warps, signed by the
platform CA), that clip re-encoded at CRF 30 (what a re-upload does), the same motion without
any mark, and a 512x512 PNG still of a marked frame. The bench output's payload and
fingerprints join the registry for the run only. Times every stage of the check with one
protected identity (the astronaut), so the face check always runs: the worst case. Leaves
nothing in the database. Reports medians of wall time and of this process's CPU time (on a
shared machine the CPU time shows what an idle machine's wall time would be).

`--registry-size N` checks real clips against a throwaway registry of N outputs instead
(`detection.bench_scale`).
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
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from skimage.data import astronaut

from core.keys import c2pa_signing_identity, secret_bytes
from detection import registry
from detection.bench_media import CLIP_RECORD_IDS
from detection.bench_scale import registry_bench
from detection.checks import fingerprint_check, likeness_check
from detection.index import indexed_output_row, load_registry
from detection.sampling import sample_upload
from detection.services import detection_limits
from generator.face_analysis import face_descriptors
from provenance.attacks import decode_video, encode_h264
from provenance.manifest import ManifestInfo, read_manifest
from provenance.media import Mp4Writer
from provenance.payload import payload_for_record
from provenance.publish import publish
from provenance.watermark import detect_sampled, mark_appearance

BENCH_RECORD_ID = 987_654_321  # not in any registry: the watermark is read blind


class _Rollback(Exception):
    pass


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
        parser.add_argument(
            "--registry-size",
            type=int,
            default=None,
            help="check against a throwaway registry of N synthetic outputs around real clips",
        )
        parser.add_argument("--seed", type=int, default=0, help="of the synthetic registry")

    def handle(self, *args, **options):
        torch.set_num_threads(options["threads"])
        cv2.setNumThreads(options["threads"])
        if options["registry_size"] is not None:
            self._registry_bench(options)
            return
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
            # The bench output joins the registry in a transaction rolled back at the end, so
            # the registry match runs as it would for a real output and nothing stays written.
            self.bench_output = (published.payload_hex, list(published.fingerprints))
            image = Path(folder) / "still.png"
            still = next(_frames(marked.for_frame, 1))
            cv2.imwrite(str(image), cv2.cvtColor(still, cv2.COLOR_RGB2BGR))
            try:
                with transaction.atomic():
                    payload_hex, fingerprints = self.bench_output
                    indexed_output_row(
                        record_id=BENCH_RECORD_ID,
                        payload_hex=payload_hex,
                        fingerprints=fingerprints,
                        key=key,
                    ).save()
                    self.live = load_registry()
                    for name, path in (
                        ("platform_clip_10s_512", clip),
                        ("unmarked_clip_10s_512", unmarked),
                        ("crf30_copy_10s_512", copy),
                        ("image_512", image),
                    ):
                        results[name] = self._time(path, key, signer.root_pem, protected, options)
                    raise _Rollback
            except _Rollback:
                pass
        results["load_average_1min"] = round(__import__("os").getloadavg()[0], 2)
        results["torch_threads"] = options["threads"]
        if options["json"]:
            self.stdout.write(json.dumps(results))
            return
        for name, stages in results.items():
            self.stdout.write(f"{name}: {stages}")

    def _registry_bench(self, options) -> None:
        size = options["registry_size"]
        if size < len(CLIP_RECORD_IDS):
            raise CommandError(f"--registry-size must be at least {len(CLIP_RECORD_IDS)}")
        result = registry_bench(size, max(1, options["repeat"]), options["seed"])
        if options["json"]:
            self.stdout.write(json.dumps(result))
            return
        for name, value in result.items():
            self.stdout.write(f"{name}: {value}")

    def _time(self, path, key, anchor, protected, options) -> dict:
        payloads, fingerprints = self.live.payloads, self.live.fingerprints
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
                    candidates=registry.candidate_payloads([r for r, _ in c]),
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
