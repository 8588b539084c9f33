"""Invisible, robust watermark in every frame: RivaGAN (invisible-watermark's bundled model).

Design (measured figures in docs/benchmarks.md and provenance.bench):
- RivaGAN runs at EMBED_SIZE = 256 px; the residual it adds is upsampled to the frame and scaled
  by STRENGTH. It costs ~300 ms, far too much per frame, so it runs ONCE per payload on the
  source appearance (`mark_appearance`, every word in one pass); the generator warps
  the marked appearance for every frame, so the mark moves with the face at no extra cost.
- Antipodal pairs: data word j rides in two appearances, the portrait PLUS its residual and the
  portrait MINUS the same residual. The decoder's response to the picture itself (content bias,
  measured: the same wrong bits in every frame, which no averaging removes) is common to both,
  and the residual's effect on the logits changes sign, so the difference of the two groups'
  mean soft bits keeps only the mark. The minus appearance reads as the word's complement, so
  the payload's WORD_COUNT = 6 frame words are (w0, ~w0, w1, ~w1, w2, ~w2): three residuals.
- Frames go in runs, run r rendered from word r % WORD_COUNT's appearance. The first WORD_COUNT runs
  are SHORT_RUN_FRAMES = 6 long, so a 1.4-s clip (the shortest speech a job renders) carries
  every word; later runs are RUN_FRAMES = 12 long, because H.264 predicts a run's frames from
  the previous run's and needs a few frames to replace one mark with the next (measured, 200
  frames, publish then CRF 30, middle frames: per-frame bit accuracy 0.64 with runs of 6, 0.71
  with runs of 12; the pair-differenced bits 11 wrong of 96 against 5). Each word's pair sits
  side by side in time, so the head pose, and with it the bias, barely changes between the two
  halves that cancel.
- Bit orders: each cycle of the six runs embeds the words with their bits in another of
  BIT_ORDERS = 4 orders (`bit_orders`). The bits a re-encode or downscale defeats are the same
  in every frame of a portrait, so averaging frames cannot fix them; four orders spread each
  weak position over four bits (measured wrong bits in `bit_orders`). It costs three more
  residuals per order (~0.1 s each) and nothing in detection.
- Detection decodes the middle frames of DETECT_SAMPLES consecutive runs (of a re-timed copy, the
  frames showing the same moments: `sample_positions(count, fps)`), puts each sample's bits back
  in word order, differences each word's two sides, and tries the GROUPINGS = 24 phases of the
  known schedule; BCH (Chase-II) corrects what is left and it identifies only when the
  false-positive bound over all 2**32 x 24 hypotheses is <= 1e-9, split between the looks it may
  take (one frame per word, then the DETECT_SAMPLES, then more frames). The bound is
  soft-decision (`soft_false_positive`: each bit's agreement weighted by its reliability, exact
  tail): with equal weights at most 5 of 96 bits may be wrong, and more when the wrong ones are
  the weak ones, as after a re-encode they mostly are.
- A detector that knows the registered payloads (the platform's registry) compares the same
  groupings with each known codeword (`best_known_payload`): R x 24 hypotheses, not 2**32 x 24.
- Both networks are the model's own (weights read from its ONNX files) run in torch. The encoder
  shares the image's part of its work between words (`RivaganEncoder`); the decoder evaluates the
  second convolution of each branch on a stride-3 grid: the output is a spatial mean of a
  local feature, so a ninth of the positions estimates it as well (measured) at 3.6x less cost.
"""

from .bounds import MAX_FALSE_POSITIVE, binomial_false_positive, soft_false_positive
from .detect import (
    BLIND_HYPOTHESES,
    MAX_CANDIDATES,
    WatermarkDetection,
    decode_looks,
    detect_file,
    detect_from_logits,
    detect_sampled,
    detect_watermark,
    frames_carry_payload,
)
from .embed import (
    STRENGTH,
    MarkedAppearance,
    mark_appearance,
)
from .known import KnownPayload, KnownPayloadMatch, best_known_payload
from .rivagan import EMBED_SIZE, RivaganDecoder, RivaganEncoder, frame_logits, load_models
from .schedule import (
    BIT_ORDERS,
    DETECT_SAMPLES,
    EARLY_FRAMES,
    GROUPINGS,
    RUN_FRAMES,
    SCHEDULE_FPS,
    SECOND_LOOK_SAMPLES,
    SHORT_RUN_FRAMES,
    WORD_COUNT,
    appearance_for_frame,
    bit_order_of_run,
    bit_orders,
    detection_looks,
    holds_every_word,
    ordered_word,
    run_at,
    run_middle,
    run_of,
    sample_positions,
    schedule_index,
    second_look_positions,
    word_for_frame,
)

WATERMARK_ALGORITHM = "rivagan-256-appearance-antipodal-bch-v3"

__all__ = [
    "BIT_ORDERS",
    "BLIND_HYPOTHESES",
    "DETECT_SAMPLES",
    "EARLY_FRAMES",
    "EMBED_SIZE",
    "GROUPINGS",
    "MAX_FALSE_POSITIVE",
    "RUN_FRAMES",
    "SCHEDULE_FPS",
    "SECOND_LOOK_SAMPLES",
    "SHORT_RUN_FRAMES",
    "STRENGTH",
    "WATERMARK_ALGORITHM",
    "WORD_COUNT",
    "KnownPayload",
    "KnownPayloadMatch",
    "MAX_CANDIDATES",
    "MarkedAppearance",
    "RivaganDecoder",
    "RivaganEncoder",
    "WatermarkDetection",
    "appearance_for_frame",
    "best_known_payload",
    "binomial_false_positive",
    "bit_order_of_run",
    "bit_orders",
    "decode_looks",
    "detect_file",
    "detect_from_logits",
    "detect_sampled",
    "detect_watermark",
    "detection_looks",
    "frame_logits",
    "frames_carry_payload",
    "holds_every_word",
    "load_models",
    "mark_appearance",
    "ordered_word",
    "run_at",
    "run_middle",
    "run_of",
    "sample_positions",
    "schedule_index",
    "second_look_positions",
    "soft_false_positive",
    "word_for_frame",
]
