import json
import subprocess
import sys

import numpy as np
import pytest

from provenance.attacks import ATTACKS, RETIMED, encode_h264
from provenance.bench import IDENTIFIED_TARGET_ATTACKS, QUICK_ATTACKS


@pytest.mark.slow
def test_the_quick_bench_reports_every_figure_and_no_false_identification():
    result = subprocess.run(
        [sys.executable, "-m", "provenance.bench", "--quick", "--json"],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    report = json.loads(result.stdout.strip().splitlines()[-1])
    # the intact published clip is identified; the attacks' rates are measured by the full run
    assert report["none"] == 1.0 and 0.0 <= report["fps_15"] <= 1.0
    assert report["false_identifications"] == 0 and report["wrong_records"] == 0
    assert report["psnr_db"] >= 38.0
    # --quick's counts, and timings that were really taken (a missing stage reads as 0)
    assert (report["clips"], report["clean_clips"], report["clean_images"]) == (1, 2, 30)
    assert report["embed_ms_per_frame"] > 0 and report["detect_seconds_10s"] > 0
    assert 0 < report["read_seconds_10s"] <= report["detect_seconds_10s"]
    # one row per attack run, each counting the one clip, with the target its attack has
    assert set(report["attacks"]) == set(QUICK_ATTACKS) == set(report["mean_confidence"])
    for name in QUICK_ATTACKS:
        row = report["attacks"][name]
        assert row["clips"] == 1 and row["target"] == 1
        assert row["right_record"] == report[name] and row["wrong_record"] == 0


def test_every_attack_turns_a_published_clip_into_frames():
    """Each attack the bench runs yields decodable frames of a plausible copy."""
    frames = [np.full((64, 96, 3), (7 * i) % 256, np.uint8) for i in range(50)]  # 2 s, 25 fps
    published = encode_h264(frames, 25)
    for name, attack in ATTACKS.items():
        copy = attack(published)
        assert copy and all(f.dtype == np.uint8 and f.ndim == 3 for f in copy), name
        expected = 1 if name.endswith("_frame") else round(50 * RETIMED.get(name, 25.0) / 25)
        assert abs(len(copy) - expected) <= 1, (name, len(copy))


def test_the_bench_measures_only_attacks_that_exist():
    assert set(IDENTIFIED_TARGET_ATTACKS) <= set(ATTACKS)
    assert set(QUICK_ATTACKS) <= set(ATTACKS)
