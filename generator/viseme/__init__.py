"""Learned audio-to-viseme model: speech -> per-frame mouth shapes (jaw, width, rounding).

Trained on a corpus synthesised with espeak-ng, whose phoneme events give sample-exact labels
(see tools/viseme/train.py and generator/checkpoints/MODEL_CARD.md). Inference needs only torch.
"""

from generator.viseme.predictor import MOUTH_CHANNELS, VisemePredictor, VisemeStream

__all__ = ["MOUTH_CHANNELS", "VisemePredictor", "VisemeStream"]
