import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from provenance.errors import WatermarkError
from provenance.payload import (
    CODEWORD_BITS,
    DATA_WORDS,
    PAYLOAD_BITS,
    RECORD_ID_BITS,
    WORD_COUNT,
    codeword_bits,
    decode_codeword,
    payload_for_record,
    scramble,
    unscramble,
)

KEY = b"payload-tests-key-0123456789abcd"


@settings(max_examples=50, deadline=None)
@given(st.integers(min_value=0, max_value=2**64 - 1))
def test_scrambling_is_a_keyed_permutation_that_inverts(value):
    assert unscramble(scramble(value, KEY), KEY) == value


def test_payload_has_a_64_bit_value_and_three_32_bit_words_each_with_its_complement():
    payload = payload_for_record(17, KEY)
    assert PAYLOAD_BITS == 64 and CODEWORD_BITS == 96
    assert len(payload.value_hex) == 16 and int(payload.value_hex, 16) >= 0
    assert len(payload.words) == WORD_COUNT == 2 * DATA_WORDS
    assert all(0 <= word < 2**32 for word in payload.words)
    for j in range(DATA_WORDS):
        assert payload.words[2 * j + 1] == payload.words[2 * j] ^ 0xFFFFFFFF


def test_consecutive_record_ids_give_unrelated_values():
    a, b = (int(payload_for_record(i, KEY).value_hex, 16) for i in (1, 2))
    assert 16 <= (a ^ b).bit_count() <= 48


def test_another_key_gives_another_value():
    assert payload_for_record(5, KEY).value_hex != payload_for_record(5, b"x" * 32).value_hex


def test_the_codeword_decodes_back_to_the_record():
    payload = payload_for_record(123_456, KEY)
    decoded = decode_codeword(codeword_bits(int(payload.value_hex, 16), KEY), KEY)
    assert decoded is not None
    assert decoded.record_id == 123_456 and decoded.value_hex == payload.value_hex
    assert decoded.agreeing_bits == CODEWORD_BITS


def test_it_corrects_four_flipped_bits():
    observed = codeword_bits(int(payload_for_record(99, KEY).value_hex, 16), KEY).copy()
    observed[[3, 40, 70, 80]] ^= 1  # all in the BCH-protected 92 bits
    decoded = decode_codeword(observed, KEY)
    assert decoded is not None and decoded.record_id == 99
    assert decoded.corrected_bits == 4 and decoded.agreeing_bits == CODEWORD_BITS - 4


def test_a_clean_decoder_output_of_zeros_is_no_record():
    assert decode_codeword(np.zeros(CODEWORD_BITS, np.uint8), KEY) is None
    assert decode_codeword(np.ones(CODEWORD_BITS, np.uint8), KEY) is None


def test_random_bits_rarely_name_a_record():
    rng = np.random.default_rng(0)
    hits = sum(
        decode_codeword(rng.integers(0, 2, CODEWORD_BITS).astype(np.uint8), KEY) is not None
        for _ in range(300)
    )
    assert hits == 0  # the id range check alone passes 1 in 2**32


@pytest.mark.parametrize("record_id", [-1, 2**RECORD_ID_BITS, "7", 1.5, True])
def test_it_rejects_a_bad_record_id(record_id):
    with pytest.raises(WatermarkError):
        payload_for_record(record_id, KEY)


def test_it_rejects_a_short_key():
    with pytest.raises(WatermarkError):
        payload_for_record(1, b"short")
