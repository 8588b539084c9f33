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
    assert report["false_identifications"] == 0
    assert report["psnr_db"] >= 38.0
    for key in ("embed_ms_per_frame", "detect_seconds_10s", "clean_clips"):
        assert key in report


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
