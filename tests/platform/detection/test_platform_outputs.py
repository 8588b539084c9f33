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


# After CRF 30 or a half-size copy of this 4-s fixture (two cycles: two of the four bit orders)
# the registry match identifies the record for most platform keys, not all (measured with bit
# orders, 32 random keys: CRF 30 32, largest bound 6.4e-11 against the 1.7e-10 a look may spend;
# half size 29, the others 3e-10 to 1.2e-8). Such a copy is still traced to its record as an
# altered copy (the test below), never missed. Not strict: the key is random per run.
FAINT_MARK_GAP = pytest.mark.xfail(
    reason="CRF 30 / half-size copies of a 4-s output identify for most keys, not all",
    strict=False,
)


@pytest.mark.parametrize("attack", ["crf30", "half"])
def test_a_heavily_altered_copy_is_always_traced_to_its_record(
    registered_output, attacked_copies, attack
):
    result = detection_run(path=attacked_copies[attack])
    assert result.verdict in ("platform", "altered_copy"), result.summary
    assert result.record_id == registered_output.pk


@pytest.mark.parametrize(
    "attack",
    [
        pytest.param("crf30", marks=FAINT_MARK_GAP),
        pytest.param("half", marks=FAINT_MARK_GAP),
        "crop90",
        "bright20",
        "fps15",
    ],
)
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
    assert result.record_id == registered_output.pk
    assert (
        "It is a still image; the platform published a video."
        in (result.summary["verdict"]["differences"])
    )
