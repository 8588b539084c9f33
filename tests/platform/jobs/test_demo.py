"""`manage.py demo`: the real flow into a signed MP4; another person's portrait exits 3."""

from __future__ import annotations

import json

import pytest
from django.core.management import CommandError, call_command


@pytest.fixture
def demo_files(tmp_path, astronaut_png, cameraman_png, short_speech_wav):
    portrait = tmp_path / "portrait.png"
    portrait.write_bytes(astronaut_png)
    other = tmp_path / "other.png"
    other.write_bytes(cameraman_png)
    return portrait, other, short_speech_wav, tmp_path / "out.mp4"


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
def test_demo_exits_3_with_the_reasons_for_another_persons_portrait(demo_files, capsys):
    portrait, other, audio, out = demo_files
    with pytest.raises(SystemExit) as exit_info:
        call_command(
            "demo",
            "--portrait", str(portrait),
            "--audio", str(audio),
            "--out", str(out),
            "--job-portrait", str(other),
        )  # fmt: skip
    assert exit_info.value.code == 3
    assert "portrait_mismatch" in capsys.readouterr().err
    assert not out.exists()


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
def test_demo_writes_a_signed_mp4_and_ends_with_a_json_summary(demo_files, capsys, settings):
    from provenance.c2pa_ca import ensure_platform_ca
    from provenance.manifest import read_manifest

    portrait, _, audio, out = demo_files
    call_command(
        "demo", "--portrait", str(portrait), "--audio", str(audio), "--out", str(out), "--json"
    )
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert set(summary) == {
        "record_id", "payload", "frames", "analyse_ms", "render_fps", "publish_fps",
        "total_seconds", "receipt_path", "out",
    }  # fmt: skip
    root = ensure_platform_ca(settings.PLATFORM_KEYS_DIR / "c2pa").root_pem
    report = read_manifest(out, root)
    assert report.state == "trusted"
    assert report.soft_binding["value"] == summary["payload"]
    assert json.loads(open(summary["receipt_path"]).read())  # the signed consent receipt


def test_demo_refuses_a_missing_portrait_in_one_line(tmp_path):
    with pytest.raises(CommandError, match="portrait file not found"):
        call_command(
            "demo", "--portrait", str(tmp_path / "nope.png"), "--audio", "x.wav",
            "--out", str(tmp_path / "o.mp4"),
        )  # fmt: skip
