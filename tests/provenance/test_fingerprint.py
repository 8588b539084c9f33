import cv2
import numpy as np
import pytest
from skimage import data

from provenance.errors import MediaError
from provenance.fingerprint import pdq_distance, pdq_hash
from provenance.fingerprint_index import PdqIndex


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


def test_the_index_finds_the_record_of_a_jpeg_copy(astronaut_aligned):
    index = PdqIndex.from_pairs(
        [(1, pdq_hash(data.coffee())[0]), (2, pdq_hash(astronaut_aligned)[0])]
    )
    matches = index.search([pdq_hash(_jpeg(astronaut_aligned, 70))[0]])
    assert matches.nearest[0] == 2 and matches.nearest[1] < 10
    assert [record_id for record_id, _ in matches.within] == [2]


def test_the_index_reports_a_near_miss_but_not_an_unrelated_picture():
    rng = np.random.default_rng(3)
    base = rng.integers(0, 256, 32, dtype=np.uint8)
    index = PdqIndex()
    index.add(np.array([1]), base[None, :])
    edited = base.copy()
    edited[:5] ^= 0xFF  # 40 bits off: past a match, near enough to report
    matches = index.search([edited.tobytes().hex()])
    assert matches.nearest == (1, 40) and matches.within == ()
    assert index.search([(base ^ 0xFF).tobytes().hex()]).nearest is None


def test_the_index_names_every_record_within_the_radius():
    """One person's clips all look alike: 300 records at distance 1 are all candidates."""
    rng = np.random.default_rng(7)
    base = rng.integers(0, 256, 32, dtype=np.uint8)
    near = np.repeat(base[None, :], 300, axis=0)
    near[np.arange(300), rng.integers(0, 32, 300)] ^= 1  # one bit off: distance 1
    index = PdqIndex()
    index.add(np.arange(1, 301), near)
    index.add(np.array([999]), base[None, :] ^ 0xFF)  # distance 256: never a candidate
    matches = index.search([base.tobytes().hex()])
    assert sorted(r for r, _ in matches.within) == list(range(1, 301))
    assert all(distance == 1 for _, distance in matches.within)


def _near(rng: np.random.Generator, query: np.ndarray, flips: int) -> np.ndarray:
    bits = np.unpackbits(query)
    bits[rng.choice(256, flips, replace=False)] ^= 1
    return np.packbits(bits)


@pytest.mark.parametrize(
    "apart",
    [(20,), (None,), (None, 25, None, 5)],
    ids=["one scan", "two scans", "groups of different spreads"],
)
def test_each_record_gets_its_nearest_hash_of_any_query_ranked_nearest_first(apart):
    """200 records of 10 hashes each, 0-40 bits from query hashes (each `apart` bits from the
    one before, as a clip's seconds are, so one scan serves both; or unrelated): the index's
    ranking is the one counted bit by bit, ties broken by record id. The last case scans with
    the widest group's radius (63 + 25), so its other groups' rows must be measured down to
    their own."""
    rng = np.random.default_rng(11)
    queries = rng.integers(0, 256, (len(apart) + 1, 32), dtype=np.uint8)
    for q, flips in enumerate(apart, start=1):
        if flips is not None:
            queries[q] = _near(rng, queries[q - 1], flips)
    owners = np.repeat(np.arange(1, 201), 10)  # (2000,)
    bits = np.unpackbits(queries[rng.integers(0, len(queries), 2000)], axis=1)  # (2000, 256)
    for row, flips in enumerate(rng.integers(0, 41, 2000).tolist()):
        bits[row, rng.choice(256, flips, replace=False)] ^= 1
    hashes = np.packbits(bits, axis=1)
    index = PdqIndex()
    index.add(owners, hashes)
    nearest: dict[int, int] = {}
    for owner, row in zip(owners.tolist(), hashes, strict=True):
        distance = int(np.unpackbits(queries ^ row[None, :], axis=1).sum(axis=1).min())
        nearest[owner] = min(distance, nearest.get(owner, distance))
    expected = sorted(((r, d) for r, d in nearest.items() if d <= 31), key=lambda p: (p[1], p[0]))
    matches = index.search([q.tobytes().hex() for q in queries])
    assert matches.within == tuple(expected)
    assert matches.nearest == expected[0]


def test_a_wide_group_does_not_stretch_another_groups_near_miss():
    """Queries A, A' (25 bits from A) and an unrelated B are scanned at once with A's group's
    radius, 63 + 25: a hash 70 bits from B and far from A comes back from that scan, but is
    past the near-miss radius of every query, so it is not reported."""
    rng = np.random.default_rng(5)
    a, b = rng.integers(0, 256, (2, 32), dtype=np.uint8)
    queries = np.stack([a, _near(rng, a, 25), b])
    index = PdqIndex()
    index.add(np.array([1]), _near(rng, b, 70)[None, :])
    assert index.search([q.tobytes().hex() for q in queries]).nearest is None
    index.add(np.array([2]), _near(rng, b, 60)[None, :])
    assert index.search([q.tobytes().hex() for q in queries]).nearest == (2, 60)


@pytest.mark.parametrize("bad", ["zz" * 32, "ab", 5])
def test_distance_rejects_a_malformed_hash(bad):
    with pytest.raises(MediaError):
        pdq_distance("00" * 32, bad)


@pytest.mark.parametrize("bad", ["zz" * 32, "ab"])
def test_the_index_rejects_a_malformed_hash(bad):
    with pytest.raises(MediaError):
        PdqIndex.from_pairs([(1, "00" * 32)]).search([bad])


def test_hashing_rejects_a_float_image():
    with pytest.raises(MediaError):
        pdq_hash(np.zeros((64, 64, 3), np.float32))
