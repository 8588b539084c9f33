import numpy as np
import pytest

from provenance.attacks import decode_video, encode_h264
from provenance.bench_clips import psnr
from provenance.errors import MediaError, WatermarkError
from provenance.payload import payload_for_record
from provenance.watermark import (
    DETECT_SAMPLES,
    EARLY_FRAMES,
    RUN_FRAMES,
    WATERMARK_ALGORITHM,
    WORD_COUNT,
    RivaganDecoder,
    RivaganEncoder,
    detect_watermark,
    detection_looks,
    frame_logits,
    frames_carry_payload,
    run_middle,
    run_of,
    sample_positions,
    word_for_frame,
)
from provenance.watermark.onnx_weights import onnx_float_initializers
from provenance.watermark.rivagan import bundled_model_path


def test_the_mark_is_invisible(astronaut_aligned, marked_appearance):
    assert WATERMARK_ALGORITHM
    for marked in marked_appearance.appearances:
        assert marked.shape == (512, 512, 3) and marked.dtype == np.uint8
        assert psnr(marked, astronaut_aligned) >= 38.0


def test_frames_take_their_word_in_short_runs_then_long_runs(marked_appearance):
    words = [word_for_frame(i) for i in range(36 + RUN_FRAMES * WORD_COUNT)]
    assert words[:6] == [0] * 6 and words[6] == 1 and words[30:36] == [5] * 6
    assert words[36 : 36 + RUN_FRAMES] == [0] * RUN_FRAMES and words[36 + RUN_FRAMES] == 1
    assert marked_appearance.for_frame(6) is marked_appearance.appearances[1]


def test_every_run_middle_belongs_to_its_run():
    for run in range(20):
        assert run_of(run_middle(run)) == run


def test_a_shortest_speech_clip_carries_every_word():
    # espeak-ng's "Hello from the newsroom." lasts 1.45 s: 36 frames at 25 fps
    assert {word_for_frame(i) for i in range(36)} == set(range(WORD_COUNT))


def test_the_minus_appearance_reads_as_the_complement_word(marked_appearance, payload):
    logits = frame_logits(marked_appearance.appearances[:2])  # (2, 32)
    plus = np.array([(payload.words[0] >> (31 - i)) & 1 for i in range(32)], bool)
    assert np.mean((logits[0] > 0) == plus) >= 0.9
    assert np.mean((logits[1] > 0) == ~plus) >= 0.9
    # the pair's difference cancels the portrait's own response: every bit right
    assert np.all((logits[0] - logits[1] > 0) == plus)


def test_it_identifies_the_record_in_rendered_frames(marked_clip, payload, watermark_key):
    detection = detect_watermark(marked_clip, watermark_key)
    assert detection.identified
    assert detection.record_id == payload.record_id and detection.value_hex == payload.value_hex
    assert detection.false_positive_probability <= 1e-9
    assert detection.frames_used == EARLY_FRAMES  # one frame per word reads an intact clip


def test_it_reads_more_frames_when_one_per_word_does_not_identify(
    marked_clip, clean_clip, payload, watermark_key
):
    positions = sample_positions(len(marked_clip))
    runs = np.array([run_of(i) for i in positions])
    early = [positions[i] for i in detection_looks(runs, np.array(positions), len(positions))[0]]
    assert sorted(word_for_frame(i) for i in early) == list(range(WORD_COUNT))
    frames = [clean_clip[i] if i in early else frame for i, frame in enumerate(marked_clip)]
    detection = detect_watermark(frames, watermark_key)
    assert detection.identified and detection.record_id == payload.record_id
    assert detection.frames_used >= DETECT_SAMPLES


@pytest.mark.slow
def test_it_identifies_the_record_after_h264_crf30(marked_clip, payload, watermark_key):
    frames, _ = decode_video(encode_h264(marked_clip, 25, crf=30))
    detection = detect_watermark(frames, watermark_key)
    assert detection.identified and detection.record_id == payload.record_id


def test_it_identifies_a_copy_re_timed_to_15_fps_by_its_frame_rate(
    marked_clip, payload, watermark_key
):
    # 25 -> 15 fps by nearest earlier frame, then H.264: frame j shows output frame 5j/3
    kept = [marked_clip[int(j * 25 / 15)] for j in range(len(marked_clip) * 15 // 25)]
    frames, fps = decode_video(encode_h264(kept, 15))
    assert fps == 15
    detection = detect_watermark(frames, watermark_key, fps=fps)
    assert detection.identified and detection.record_id == payload.record_id


def test_frames_of_each_cycle_carry_the_words_in_another_bit_order(marked_appearance, payload):
    from provenance.watermark import BIT_ORDERS, bit_orders, ordered_word

    assert len(marked_appearance.appearances) == BIT_ORDERS * WORD_COUNT
    assert [len(set(order.tolist())) for order in bit_orders()] == [32] * BIT_ORDERS
    assert len({tuple(order.tolist()) for order in bit_orders()}) == BIT_ORDERS
    word = payload.words[0]
    for order in range(BIT_ORDERS):
        # the first frame of cycle `order`'s first run reads as word 0 in that order
        frame = marked_appearance.for_frame(run_middle(order * WORD_COUNT))
        bits = (frame_logits([frame])[0] > 0).astype(int)
        expected = np.array([(ordered_word(word, order) >> (31 - i)) & 1 for i in range(32)])
        assert np.mean(bits == expected) >= 0.85


def test_bit_orders_spread_a_position_the_decoder_always_gets_wrong(payload, watermark_key):
    """Positions 3 and 17 read confidently wrong in every frame (as after a downscale, the same
    ones in every frame): in one bit order that is 6 wrong codeword bits; over four cycles each
    codeword bit sits there once in four, and every bit comes out right."""
    from provenance.payload import codeword_bits
    from provenance.watermark import bit_order_of_run, bit_orders, detect_from_logits
    from provenance.watermark.estimate import pair_estimate, soft_bits

    signed = codeword_bits(int(payload.value_hex, 16), watermark_key) * 2.0 - 1.0  # (96,)
    runs = np.arange(4 * WORD_COUNT)  # four cycles
    rows = []
    for run in runs.tolist():
        word = run % WORD_COUNT
        bits = signed[32 * (word // 2) : 32 * (word // 2 + 1)] * (1 if word % 2 == 0 else -1)
        row = bits[bit_orders()[bit_order_of_run(run)]].copy()  # as embedded
        row[[3, 17]] *= -1  # read wrong
        rows.append(row)
    logits = np.stack(rows).astype(np.float32)  # (24, 32)
    detection = detect_from_logits(logits, watermark_key, runs=runs)
    assert detection.identified and detection.record_id == payload.record_id
    assert detection.confidence == 1.0
    one_order = np.stack(rows[:WORD_COUNT] * 4)  # cycle 0's frames four times over
    estimate = pair_estimate(soft_bits(one_order), runs % WORD_COUNT)  # (96,)
    assert np.sum((estimate > 0) != (signed > 0)) == 6


def test_unmarked_frames_are_not_identified(clean_clip, watermark_key):
    detection = detect_watermark(clean_clip, watermark_key)
    assert not detection.identified and detection.record_id is None


def test_another_platform_key_does_not_identify(marked_clip):
    assert not detect_watermark(marked_clip, b"some-other-platform-key-12345678").identified


def test_publish_check_with_indices_accepts_the_expected_payload_only(
    marked_clip, clean_clip, payload, watermark_key
):
    indices = [i for i in range(len(marked_clip)) if i == run_middle(run_of(i))]
    frames = [marked_clip[i] for i in indices]
    assert frames_carry_payload(frames, payload, watermark_key, indices=indices)
    other = payload_for_record(4243, watermark_key)
    assert not frames_carry_payload(frames, other, watermark_key, indices=indices)
    clean = [clean_clip[i] for i in indices]
    assert not frames_carry_payload(clean, payload, watermark_key, indices=indices)


def test_publish_check_needs_every_word_among_the_frames(marked_clip, payload, watermark_key):
    indices = [run_middle(run) for run in range(WORD_COUNT - 1)]  # one word short
    frames = [marked_clip[i] for i in indices]
    assert not frames_carry_payload(frames, payload, watermark_key, indices=indices)


def test_publish_check_without_indices_accepts_the_expected_payload_only(
    marked_clip, clean_clip, payload, watermark_key
):
    assert frames_carry_payload(marked_clip, payload, watermark_key)
    assert not frames_carry_payload(
        marked_clip, payload_for_record(4243, watermark_key), watermark_key
    )
    assert not frames_carry_payload(clean_clip, payload, watermark_key)


def test_publish_check_rejects_a_payload_made_with_another_key(marked_clip, payload):
    with pytest.raises(WatermarkError):
        frames_carry_payload(marked_clip, payload, b"some-other-platform-key-12345678")


def test_the_middle_frame_of_a_run_carries_that_runs_word(marked_appearance, payload):
    marked = marked_appearance.for_frame(run_middle(2))  # run 2: word 2, the first bit order
    logits = frame_logits([marked])[0]
    expected = np.array([(payload.words[2] >> (31 - i)) & 1 for i in range(32)], bool)
    assert np.mean((logits > 0) == expected) >= 0.9


def test_the_torch_decoder_reproduces_the_bundled_onnx_decoder(astronaut_aligned):
    import onnxruntime
    import torch

    session = onnxruntime.InferenceSession(bundled_model_path("rivagan_decoder.onnx"))
    image = astronaut_aligned[::2, ::2].astype(np.float32) / 127.5 - 1.0  # (256, 256, 3)
    x = image.transpose(2, 0, 1)[None]  # (1, 3, 256, 256)
    (expected,) = session.run(None, {"frame": x[:, :, None]})
    decoder = RivaganDecoder(onnx_float_initializers(bundled_model_path("rivagan_decoder.onnx")))
    with torch.inference_mode():
        got = decoder(torch.from_numpy(x)).numpy()
    assert np.allclose(got, expected, atol=1e-3)


def test_the_decoder_gives_a_frame_the_same_logits_whatever_batch_it_is_in(astronaut_aligned):
    """Frames are decoded a few at a time (`frame_logits`): 11 frames in one batch decode as
    each does alone, the ONNX-checked path."""
    import torch

    from provenance.watermark.rivagan import DECODE_BATCH, decoder

    rng = np.random.default_rng(3)
    small = astronaut_aligned[::2, ::2]  # (256, 256, 3)
    frames = [np.clip(small + rng.integers(-40, 41, small.shape), 0, 255) for _ in range(11)]
    x = torch.from_numpy(np.stack(frames).astype(np.float32).transpose(0, 3, 1, 2) / 127.5 - 1.0)
    assert len(x) > DECODE_BATCH
    with torch.inference_mode():
        together = decoder()(x).numpy()  # (11, 32)
        alone = np.concatenate([decoder()(x[i : i + 1]).numpy() for i in range(len(x))])
    assert np.abs(together - alone).max() < 1e-5
    assert np.abs(together[0] - together[1]).max() > 1e-3  # the frames differ, so do their logits


def test_the_torch_encoder_reproduces_the_bundled_onnx_encoder_for_several_words(
    astronaut_aligned,
):
    import onnxruntime
    import torch

    session = onnxruntime.InferenceSession(bundled_model_path("rivagan_encoder.onnx"))
    image = astronaut_aligned[::2, ::2].astype(np.float32) / 127.5 - 1.0  # (256, 256, 3)
    x = image.transpose(2, 0, 1)[None]  # (1, 3, 256, 256)
    bits = np.random.default_rng(7).integers(0, 2, (3, 32)).astype(np.float32)  # (3, 32)
    encoder = RivaganEncoder(onnx_float_initializers(bundled_model_path("rivagan_encoder.onnx")))
    with torch.inference_mode():
        got = encoder(torch.from_numpy(x), torch.from_numpy(bits)).numpy()  # (3, 3, 256, 256)
    for word in range(3):
        (expected,) = session.run(None, {"frame": x[:, :, None], "data": bits[word : word + 1]})
        residual = expected[0, :, 0] - x[0]  # what the word adds, up to 0.016
        assert np.abs(residual).max() > 0.01
        assert np.allclose(got[word], expected[0, :, 0], atol=1e-4)


def test_no_frames_is_no_identification(watermark_key):
    detection = detect_watermark([], watermark_key)
    assert not detection.identified and detection.frames_used == 0


@pytest.mark.parametrize(
    "frame",
    [
        np.zeros((64, 64, 3), np.float32),
        np.zeros((8, 8, 3), np.uint8),
        np.zeros((64, 64, 5), np.uint8),
        "not a frame",
    ],
)
def test_it_rejects_a_bad_frame_with_a_clear_error(frame, watermark_key):
    with pytest.raises(MediaError):
        detect_watermark([frame], watermark_key)


def test_detection_reads_any_frame_size(marked_clip, payload, watermark_key):
    import cv2

    small = [cv2.resize(f, (320, 240), interpolation=cv2.INTER_AREA) for f in marked_clip]
    detection = detect_watermark(small, watermark_key)
    # non-square frames are read (squashed to 256x256, which may lose the mark)
    assert detection.frames_used >= EARLY_FRAMES


def _pair_logits(
    payload, key, flipped: list[int], bias: np.ndarray, weak: float = 0.3
) -> np.ndarray:
    """Decoder-like logits of the middles of runs 0-11 (two per frame word, in the first two
    bit orders), the data bits at `flipped` (codeword positions) wrong, and `weak` (as wrong
    bits are), in both of a pair's sides, plus one common content bias."""
    from provenance.payload import codeword_bits
    from provenance.watermark import bit_order_of_run, bit_orders

    codeword = codeword_bits(int(payload.value_hex, 16), key).copy()
    codeword[flipped] ^= 1
    strength = np.ones(96, np.float32)
    strength[flipped] = weak
    signed = (codeword.astype(np.float32) * 2 - 1) * strength  # (96,)
    rows = []
    for run in range(12):
        word = run % WORD_COUNT
        bits = signed[32 * (word // 2) : 32 * (word // 2 + 1)] * (1 if word % 2 == 0 else -1)
        rows.append(bits[bit_orders()[bit_order_of_run(run)]] + bias)  # position k: bit order[k]
    return np.stack(rows)  # (12, 32)


def test_the_content_bias_cancels_and_five_wrong_bits_still_identify(payload, watermark_key):
    from provenance.watermark import detect_from_logits

    bias = np.where(np.arange(32) % 3 == 0, -1.8, 0.6).astype(np.float32)  # flips many bits
    logits = _pair_logits(payload, watermark_key, [1, 20, 40, 63, 90], bias)
    detection = detect_from_logits(logits, watermark_key)
    assert detection.identified and detection.record_id == payload.record_id
    assert detection.confidence == 91 / 96 and detection.false_positive_probability <= 1e-9


def test_seven_confidently_wrong_bits_are_beyond_what_the_bound_allows(payload, watermark_key):
    from provenance.watermark import detect_from_logits

    wrong = [1, 20, 40, 63, 70, 80, 90]
    logits = _pair_logits(payload, watermark_key, wrong, np.zeros(32), weak=1.0)
    detection = detect_from_logits(logits, watermark_key)
    assert not detection.identified and detection.false_positive_probability > 1e-9


def test_seven_weak_wrong_bits_count_less_than_seven_sure_ones(payload, watermark_key):
    """Soft decision: a bit the decoder barely read weighs little against the record."""
    from provenance.watermark import detect_from_logits

    wrong = [1, 20, 40, 63, 70, 80, 90]
    logits = _pair_logits(payload, watermark_key, wrong, np.zeros(32), weak=0.1)
    detection = detect_from_logits(logits, watermark_key)
    assert detection.identified and detection.record_id == payload.record_id
    assert detection.confidence == 89 / 96 and detection.false_positive_probability <= 1e-9


def test_a_decision_given_a_share_of_the_budget_reports_its_bound_scaled_by_it(
    payload, watermark_key
):
    """A look that may spend 2 % of the 1e-9 must clear the bound 50x harder."""
    from provenance.watermark import detect_from_logits

    wrong = list(range(1, 96, 19))  # 5 bits, as sure as the right ones: bound ~1.9e-10
    logits = _pair_logits(payload, watermark_key, wrong, np.zeros(32), weak=1.0)
    whole = detect_from_logits(logits, watermark_key)
    early = detect_from_logits(logits, watermark_key, share=0.02)
    assert whole.identified and whole.false_positive_probability > 0.02e-9
    assert not early.identified
    assert early.false_positive_probability == pytest.approx(whole.false_positive_probability * 50)


def test_the_soft_bound_with_equal_weights_is_the_binomial_bound():
    from provenance.watermark import binomial_false_positive, soft_false_positive

    codeword = np.arange(96) % 2
    for wrong in (0, 5, 12, 30):
        estimate = np.where(codeword == 1, 1.0, -1.0)
        estimate[:wrong] *= -1
        expected = binomial_false_positive(96 - wrong, 96, 1000)
        assert soft_false_positive(estimate, codeword, 1000) == pytest.approx(expected, rel=1e-9)


def test_random_decoder_outputs_are_never_identified(watermark_key):
    from provenance.watermark import detect_from_logits

    rng = np.random.default_rng(11)
    for _ in range(30):
        logits = rng.normal(0.0, 1.0, (DETECT_SAMPLES, 32)).astype(np.float32)
        assert not detect_from_logits(logits, watermark_key).identified


def test_a_known_payload_is_matched_where_blind_decoding_gives_up(payload, watermark_key):
    """Ten confidently wrong bits of 96 defeat the blind decoder's bound (it allows 5), but
    against a registry of a thousand codewords the right one is identified within it (it
    allows 11)."""
    from provenance.payload import codeword_bits
    from provenance.watermark import GROUPINGS, best_known_payload, detect_from_logits

    wrong = list(range(1, 96, 10))  # 10 bits
    logits = _pair_logits(payload, watermark_key, wrong, np.zeros(32), weak=1.0)  # (12, 32)
    assert not detect_from_logits(logits, watermark_key).identified
    others = [payload_for_record(r, watermark_key) for r in range(1, 1000)]
    codewords = np.stack(
        [codeword_bits(int(p.value_hex, 16), watermark_key) for p in [*others, payload]]
    )  # (1000, 96)
    match = best_known_payload(logits, codewords)
    assert (match.row, match.agreeing_bits) == (999, 86)
    assert match.tail * len(codewords) * GROUPINGS <= 1e-9


def test_unrelated_frames_match_no_known_payload(watermark_key):
    from provenance.payload import codeword_bits
    from provenance.watermark import GROUPINGS, best_known_payload

    codewords = np.stack(
        [
            codeword_bits(int(payload_for_record(r, watermark_key).value_hex, 16), watermark_key)
            for r in range(1, 200)
        ]
    )  # (199, 96)
    rng = np.random.default_rng(5)
    for _ in range(30):
        logits = rng.normal(0.0, 1.0, (DETECT_SAMPLES, 32)).astype(np.float32)
        match = best_known_payload(logits, codewords)
        assert match.tail * len(codewords) * GROUPINGS > 1e-6
