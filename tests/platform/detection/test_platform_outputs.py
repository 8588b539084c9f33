"""Platform outputs, however re-encoded, resized, cropped, brightened or stripped, are traced to
their record; unrelated media is not."""

from __future__ import annotations

import pytest

from detection.services import detection_run

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


def test_it_identifies_the_published_file_by_its_trusted_manifest(
    registered_output, platform_output
):
    result = detection_run(path=platform_output.path)
    assert result.verdict == "platform"
    assert result.record_id == registered_output.pk
    assert result.c2pa_state == "trusted"
    assert result.summary["verdict"]["differences"] == []


@pytest.mark.parametrize("attack", ["crf30", "half"])
def test_a_heavily_altered_copy_is_always_traced_to_its_record(
    registered_output, attacked_copies, attack
):
    """Named when the watermark proves it, else the first of the candidates; never missed."""
    result = detection_run(path=attacked_copies[attack])
    assert result.verdict in ("platform", "altered_copy"), result.summary
    if result.record_id is None:
        assert result.verdict == "altered_copy"
        assert result.summary["candidates"][0]["record_id"] == registered_output.pk
    else:
        assert result.record_id == registered_output.pk


# With the session's pinned watermark key (tests/conftest.py) the faintest of these, the
# half-size copy, identifies at 2.8e-11 against the 1.4e-10 a look may spend.
@pytest.mark.parametrize("attack", ["crf30", "half", "crop90", "bright20", "fps15"])
def test_it_identifies_an_attacked_copy_as_platform_with_its_record(
    registered_output, attacked_copies, attack
):
    result = detection_run(path=attacked_copies[attack])
    assert result.verdict == "platform", result.summary
    assert result.record_id == registered_output.pk
    assert result.false_positive_probability <= 1e-9
    assert result.c2pa_state == "missing"


def test_it_traces_a_copy_stripped_of_its_manifest(registered_output, attacked_copies):
    result = detection_run(path=attacked_copies["stripped"])
    assert result.verdict in ("platform", "altered_copy")
    assert result.record_id == registered_output.pk
    assert "The C2PA manifest was removed." in result.summary["verdict"]["differences"]


def test_it_finds_no_provenance_in_an_unrelated_clip(registered_output, unrelated_clip):
    result = detection_run(path=unrelated_clip)
    assert result.verdict == "none"
    assert result.record_id is None


def test_it_finds_no_provenance_in_an_unrelated_image(registered_output, unrelated_image):
    result = detection_run(path=unrelated_image)
    assert result.verdict == "none"
    assert result.record_id is None


def test_it_calls_a_still_frame_of_an_output_an_altered_copy(
    registered_output, platform_output, tmp_path
):
    import cv2

    from provenance.attacks import decode_video

    frames, _ = decode_video(platform_output.path.read_bytes())
    still = tmp_path / "still.png"
    cv2.imwrite(str(still), cv2.cvtColor(frames[50], cv2.COLOR_RGB2BGR))
    result = detection_run(path=still)
    assert result.verdict == "altered_copy"
    # One frame carries one 32-bit word: it cannot prove its record at 1e-9, only point at it.
    assert result.record_id is None
    assert [c["record_id"] for c in result.summary["candidates"]] == [registered_output.pk]
    assert (
        "It is a still image; the platform published videos."
        in (result.summary["verdict"]["differences"])
    )
