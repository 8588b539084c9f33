import json
import subprocess
import sys

import pytest

from provenance.attacks import ATTACKS


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


def test_the_bench_names_every_attack_of_the_issue():
    assert tuple(ATTACKS) == (
        "none",
        "h264_crf23",
        "h264_crf30",
        "h264_crf35",
        "resize_half",
        "crop_90",
        "brightness_20",
        "reencode_twice",
        "fps_15",
        "jpeg50_frame",
    )
