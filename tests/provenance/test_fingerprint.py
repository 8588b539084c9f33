import cv2
import numpy as np
import pytest
from skimage import data

from provenance.errors import MediaError
from provenance.fingerprint import (
    nearest_fingerprint_distance,
    pdq_distance,
    pdq_hash,
    sample_fingerprints,
)


def _jpeg(image: np.ndarray, quality: int) -> np.ndarray:
    _, buffer = cv2.imencode(".jpg", image[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, quality])
    return cv2.imdecode(buffer, cv2.IMREAD_COLOR)[:, :, ::-1]


def test_a_hash_is_64_hex_characters_with_a_quality(astronaut_aligned):
    value, quality = pdq_hash(astronaut_aligned)
    assert len(value) == 64 and int(value, 16) >= 0
    assert 0 <= quality <= 100


def test_a_jpeg_and_resized_copy_stays_close(astronaut_aligned):
    original = pdq_hash(astronaut_aligned)[0]
    copy = cv2.resize(_jpeg(astronaut_aligned, 50), (256, 256), interpolation=cv2.INTER_AREA)
    assert pdq_distance(original, pdq_hash(copy)[0]) <= 10


def test_an_unrelated_image_is_far(astronaut_aligned):
    assert pdq_distance(pdq_hash(astronaut_aligned)[0], pdq_hash(data.coffee())[0]) >= 80


def test_it_samples_every_nth_frame_in_order(astronaut_aligned):
    frames = [(i, np.roll(astronaut_aligned, 8 * i, axis=1)) for i in range(10)]
    hashes = sample_fingerprints(iter(frames), every_n=4)
    assert hashes == [pdq_hash(frames[i][1])[0] for i in (0, 4, 8)]


def test_nearest_distance_finds_the_matching_frame(astronaut_aligned):
    reference = [pdq_hash(data.coffee())[0], pdq_hash(astronaut_aligned)[0]]
    assert nearest_fingerprint_distance([pdq_hash(_jpeg(astronaut_aligned, 70))[0]], reference) < 10


@pytest.mark.parametrize("bad", ["zz" * 32, "ab", 5])
def test_distance_rejects_a_malformed_hash(bad):
    with pytest.raises(MediaError):
        pdq_distance("00" * 32, bad)


def test_hashing_rejects_a_float_image():
    with pytest.raises(MediaError):
        pdq_hash(np.zeros((64, 64, 3), np.float32))
