"""`detect_bench --registry-size N`: detection against a registry of N outputs.

Publishes a few real clips (the astronaut marked with the platform key, moving as a talking head,
signed), fills a throwaway registry with N synthetic outputs around them (`synthetic`), loads it
as a worker does at start, and times the checks of the clips, their attacked copies and stills.
Everything is written in one transaction that is rolled back: nothing stays in the database.

This process is what a detection worker is: the clips are rendered, marked and published in a
child process (`bench_media`), so the encoder, the rendered frames and the signing never
count in `rss_mb`; here are only the imports a Celery worker makes (every app's tasks), the
models the checks use, and the registry.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import statistics
import tempfile
import time
from pathlib import Path

import cv2
from django.db import transaction
from skimage.data import astronaut

from core.keys import c2pa_signing_identity, secret_bytes
from generator.face_analysis import face_descriptors
from provenance.manifest import read_manifest
from provenance.watermark import detect_sampled

from . import bench_media, registry
from .analysis import detection_limits
from .bench_media import SIDE
from .checks import fingerprint_check, likeness_check
from .heap import release_freed_memory
from .index import indexed_output_row, load_registry
from .models import IndexedOutput
from .sampling import sample_upload
from .synthetic import synthetic_record_ids, synthetic_registry_fill


class _Rollback(Exception):
    pass


def _rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _media_in_child(folder: Path) -> tuple[list, list[tuple[int, Path, str]]]:
    """Publish the bench's clips in a child process that exits before anything is measured."""
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(bench_media.media_child, (str(folder),))


def _worker_imports() -> None:
    """Import what a Celery worker imports at start: every installed app's tasks module."""
    from config.celery_app import app

    app.loader.import_default_modules()


def _rss_peak_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _reset_rss_peak() -> bool:
    """Start VmHWM again from the present RSS (Linux's clear_refs), so a later reading is the
    peak of what came after; False where the kernel does not allow it."""
    try:
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")
    except OSError:
        return False
    return True


def _check(path: Path, key: bytes, anchor: str, live, protected, stages) -> tuple[float, object]:
    """One detection's checks, as analysis.detection_analyse runs them; (seconds, watermark answer).
    Appends the registry's two stages' times, and the check's CPU seconds, to `stages`."""
    cpu_started = time.process_time()
    started = time.perf_counter()
    sample = sample_upload(path, detection_limits())
    mark = time.perf_counter()
    fingerprint = fingerprint_check(sample.fingerprint_frames, live.fingerprints)
    stages.setdefault("fingerprint", []).append(time.perf_counter() - mark)
    mark = time.perf_counter()
    watermark = detect_sampled(
        sample.watermark_frames,
        key,
        positions=sample.watermark_positions,
        more_frames=sample.second_look_frames,
        more_positions=sample.second_look_positions,
        fps=sample.fps,
        known=live.payloads,
        candidates=registry.candidate_payloads([r for r, _ in fingerprint.candidates]),
    )
    stages.setdefault("watermark", []).append(time.perf_counter() - mark)
    read_manifest(path, anchor)
    # As `detection_analyse`: the face check runs only when no record is proven (here, by the
    # watermark: the bench's copies have lost their manifests).
    if not watermark.identified:
        likeness_check(sample.face_frame, protected)
    # This process's CPU (both torch threads): on a shared machine, what no neighbour can inflate.
    stages.setdefault("cpu_" + ("image" if path.suffix == ".png" else "video"), []).append(
        time.process_time() - cpu_started
    )
    seconds = time.perf_counter() - started
    release_freed_memory()  # as the worker does after each check (not timed)
    return seconds, watermark


def registry_bench(size: int, repeat: int, seed: int) -> dict:
    """Fill, load, check; the figures `detect_bench --registry-size` prints."""
    key = secret_bytes("watermark")
    signer = c2pa_signing_identity()
    result: dict = {"registry_size": size}
    with tempfile.TemporaryDirectory() as folder:
        clips, media = _media_in_child(Path(folder))
        _worker_imports()
        portrait = cv2.resize(astronaut(), (SIDE, SIDE), interpolation=cv2.INTER_AREA)
        protected = [(0, face_descriptors(portrait)[0])]
        try:
            with transaction.atomic():
                _measure(result, size, repeat, seed, key, signer.root_pem, clips, media, protected)
                raise _Rollback
        except _Rollback:
            pass
    result["load_average_1min"] = round(os.getloadavg()[0], 2)
    return result


def _measure(result, size, repeat, seed, key, anchor, clips, media, protected) -> None:
    # A worker's imports and the likeness model; the watermark decoder loads at the first check.
    result["rss_before_registry_mb"] = round(_rss_mb(), 1)
    # Outputs the database already holds stay in the registry beside the synthetic ones.
    result["existing_outputs"] = existing = IndexedOutput.objects.count()
    started = time.perf_counter()
    first, *later = clips
    ids = synthetic_record_ids(size - len(clips), seed=seed, exclude_ids=[c[0] for c in clips])
    lookalikes = [c[2] for c in clips]
    half = len(ids) // 2
    synthetic_registry_fill(half, seed=seed, ids=ids[:half], lookalike_of=lookalikes)
    indexed_output_row(
        record_id=first[0], payload_hex=first[1], fingerprints=first[2], key=key
    ).save()
    rest = ids[half:]
    synthetic_registry_fill(len(rest), seed=seed + 1, ids=rest, lookalike_of=lookalikes)
    result["fill_seconds"] = round(time.perf_counter() - started, 1)
    # A worker never fills: hand the fill's freed heap back, so RSS shows what a worker holds.
    gc.collect()
    release_freed_memory()
    load_peak_measured = _reset_rss_peak()
    started = time.perf_counter()
    live = load_registry()
    result["load_seconds"] = round(time.perf_counter() - started, 2)
    # What a worker peaks at while it loads (the rows read in batches beside the arrays).
    result["load_peak_rss_mb"] = round(_rss_peak_mb(), 1) if load_peak_measured else None
    # Published after the worker loaded: picked up by the next poll, without a reload.
    for record_id, payload_hex, fingerprints in later:
        indexed_output_row(
            record_id=record_id, payload_hex=payload_hex, fingerprints=fingerprints, key=key
        ).save()
    started = time.perf_counter()
    added = live.refresh()
    result["refresh_seconds"] = round(time.perf_counter() - started, 4)
    result["refresh_added"] = added
    assert len(live.payloads) == size + existing, (len(live.payloads), size, existing)
    result["registry_mb"] = round((live.payloads.nbytes + live.fingerprints.nbytes) / 2**20, 1)
    times: dict[str, list[float]] = {"video": [], "image": []}
    identified, wrong, answers, stages = 0, 0, {}, {}
    # What a worker peaks at while it checks (the decoder's activations, the frames, the scans),
    # apart from the fill's and the load's transients, which `rss_peak_mb` includes. A worker
    # trims its heap after every check, so its checks start from a trimmed heap, as these do.
    peak_before_checks = _rss_peak_mb()
    release_freed_memory()
    check_peak_measured = _reset_rss_peak()
    for true_id, path, kind in media:
        for run in range(repeat + 1):  # the first run loads models: not counted
            seconds, watermark = _check(path, key, anchor, live, protected, stages)
            if run:
                times[kind].append(seconds)
        answers[path.name] = watermark.record_id if watermark.identified else None
        identified += int(watermark.identified and watermark.record_id == true_id)
        wrong += int(watermark.identified and watermark.record_id != true_id)
    result["seconds_median"] = round(statistics.median(times["video"]), 3)
    result["image_seconds_median"] = round(statistics.median(times["image"]), 3)
    # This process holds what a detection worker holds after checks: imports, models, registry.
    # The peak adds the fill's and the load's transient buffers, which a worker's load also has
    # (its staging of the PDQ hashes), but not the fill.
    result["rss_mb"] = round(_rss_mb(), 1)
    check_peak = _rss_peak_mb()
    result["rss_peak_mb"] = round(max(peak_before_checks, check_peak), 1)
    result["peak_rss_mb"] = round(check_peak, 1) if check_peak_measured else None
    result["stage_medians_s"] = {k: round(statistics.median(v), 3) for k, v in stages.items()}
    result["identified"] = identified
    result["wrong_records"] = wrong
    result["checked"] = len(media)
    result["answers"] = answers
