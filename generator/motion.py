"""Holistic motion latent: VASA-1's "face latent dynamics", as an explicit per-frame vector.

VASA-1 generates one holistic latent per frame (lips, eyes, brows, gaze, head pose) with a
diffusion transformer conditioned on audio and control signals. This stand-in keeps the same
interface: the mouth comes from the learned audio-to-viseme model (`generator.viseme`), and
everything else (blinks, saccades, brows, idle and speech-coupled head motion) is generated
here from the seed, the controls and the mouth activity. It is causal, one frame at a time,
so offline `render` and online `stream` produce the same latents for the same mouth rows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from generator.config import Controls

MOTION_CHANNELS = (
    "jaw_open",  # 0 closed .. 1 widest speech opening
    "lip_width",  # -1 narrow .. 1 wide (0 = the portrait's own width)
    "lip_round",  # 0 .. 1 rounding (corners in)
    "smile",  # -1 corners down .. 1 corners up
    "blink_right",  # 0 open .. 1 closed; subject's right eye (image left)
    "blink_left",  # subject's left eye (image right)
    "brow_raise",  # 0 .. 1
    "brow_furrow",  # 0 .. 1
    "gaze_x",  # -1 (image left) .. 1 (image right)
    "gaze_y",  # -1 up .. 1 down
    "yaw",  # head rotation about the vertical axis, unit ~ 10 degrees
    "pitch",  # about the horizontal axis, unit ~ 10 degrees
    "roll",  # in-plane tilt, radians
    "shift_x",  # head translation, inter-ocular distances
    "shift_y",
    "scale",  # relative head scale change, 0 = none
)
CHANNEL = {name: i for i, name in enumerate(MOTION_CHANNELS)}

EMOTION_OFFSETS = {
    # emotion -> (smile, brow_raise, brow_furrow); applied at full strength at intensity 1.
    "neutral": (0.0, 0.0, 0.0),
    "happy": (0.7, 0.25, 0.0),
    "serious": (-0.35, 0.0, 0.6),
}


@dataclass(frozen=True)
class MotionConfig:
    """Amplitudes and time constants of the generated motion (at intensity 1)."""

    blink_mean_interval_s: float = 3.6  # ~17 blinks/min, inside the 8-30/min human range
    blink_interval_sigma: float = 0.45  # log-normal spread of the intervals
    blink_min_interval_s: float = 1.2
    blink_close_s: float = 0.08
    blink_hold_s: float = 0.06
    blink_open_s: float = 0.16
    blink_asymmetric_p: float = 0.12  # chance one eye closes only partly
    saccade_mean_interval_s: float = 1.8
    saccade_amplitude: float = 0.18  # gaze units around the main gaze direction
    yaw_amplitude: float = 0.35
    pitch_amplitude: float = 0.25
    roll_amplitude: float = 0.025  # radians
    shift_amplitude: float = 0.03  # inter-ocular distances
    scale_amplitude: float = 0.01
    speech_nod: float = 0.25  # extra pitch with speech activity
    speech_sway: float = 0.6  # head motion grows by this factor while speaking
    brow_emphasis: float = 0.8  # brow raise on rising speech energy


class MotionModel:
    """Turns mouth rows (jaw_open, lip_width, lip_round) into full motion latents, causally."""

    def __init__(
        self, controls: Controls, fps: float, config: MotionConfig = MotionConfig()
    ) -> None:
        self.controls = controls.validated()
        self.fps = float(fps)
        self.config = config
        self._rng = np.random.default_rng([controls.seed, 0x5A])
        self._index = 0
        # Idle head motion: a few incommensurate sinusoids per channel. A pure function of
        # time, so it never jitters and needs no state between stream chunks.
        self._head_freqs = self._rng.uniform(0.07, 0.45, size=(6, 3))  # (channels, partials) Hz
        self._head_phases = self._rng.uniform(0, 2 * math.pi, size=(6, 3))
        self._head_weights = self._rng.uniform(0.5, 1.0, size=(6, 3))
        self._head_weights /= np.sqrt((self._head_weights**2).sum(axis=1, keepdims=True) / 2)
        self._next_blink = self._blink_interval() * 0.6  # seconds; first blink comes early
        self._blink_start = -10.0
        self._blink_depth = (1.0, 1.0)
        self._next_saccade = self._saccade_interval()
        self._saccade = np.zeros(2)
        self._gaze = np.zeros(2)
        self._activity = 0.0  # slow speech activity, 0..1
        self._energy_fast = 0.0
        self._energy_slow = 0.0
        self._brow = 0.0

    def run(self, mouth: np.ndarray) -> np.ndarray:
        """(T, 3) mouth rows -> (T, len(MOTION_CHANNELS)) float32 latents."""
        mouth = np.asarray(mouth, dtype=np.float32).reshape(-1, 3)
        out = np.empty((len(mouth), len(MOTION_CHANNELS)), dtype=np.float32)
        for t, row in enumerate(mouth):
            out[t] = self.step(row)
        return out

    def step(self, mouth_row: np.ndarray) -> np.ndarray:
        """One (3,) mouth row -> one (C,) latent for the next frame."""
        cfg, controls = self.config, self.controls
        time_s = self._index / self.fps
        self._index += 1
        jaw, width, rounding = (float(v) for v in np.clip(mouth_row, 0.0, 1.0))
        intensity = controls.intensity
        latent = np.zeros(len(MOTION_CHANNELS), dtype=np.float32)

        # Mouth: straight from the viseme model; width/rounding are centred on the portrait's
        # own mouth so a silent face keeps its shape.
        latent[CHANNEL["jaw_open"]] = jaw
        latent[CHANNEL["lip_width"]] = 2.0 * width - 1.0
        latent[CHANNEL["lip_round"]] = rounding

        # Speech activity drives head sway, nods and brow emphasis (VASA-1 learns these
        # correlations; here they are one-pole filters of the jaw channel).
        alpha_slow = 1.0 - math.exp(-1.0 / (0.8 * self.fps))
        alpha_fast = 1.0 - math.exp(-1.0 / (0.12 * self.fps))
        self._activity += alpha_slow * (min(1.0, 3.0 * jaw) - self._activity)
        self._energy_fast += alpha_fast * (jaw - self._energy_fast)
        self._energy_slow += alpha_slow * (jaw - self._energy_slow)
        emphasis = max(0.0, self._energy_fast - self._energy_slow - 0.05)
        self._brow += alpha_fast * (min(1.0, 4.0 * emphasis) - self._brow)

        smile, brow_raise, brow_furrow = EMOTION_OFFSETS[controls.emotion]
        emotion_gain = min(1.0, 0.5 + 0.5 * intensity)
        latent[CHANNEL["smile"]] = smile * emotion_gain
        latent[CHANNEL["brow_raise"]] = brow_raise * emotion_gain + (
            cfg.brow_emphasis * intensity * self._brow
        )
        latent[CHANNEL["brow_furrow"]] = brow_furrow * emotion_gain

        right, left = self._blink(time_s)
        latent[CHANNEL["blink_right"]] = right
        latent[CHANNEL["blink_left"]] = left

        gaze = self._gaze_at(time_s, intensity)
        latent[CHANNEL["gaze_x"]] = gaze[0]
        latent[CHANNEL["gaze_y"]] = gaze[1]

        sway = intensity * (1.0 + cfg.speech_sway * self._activity)
        head = self._idle_head(time_s)  # (6,) in [-~1.4, ~1.4]
        latent[CHANNEL["yaw"]] = sway * cfg.yaw_amplitude * head[0]
        latent[CHANNEL["pitch"]] = sway * cfg.pitch_amplitude * head[1] + (
            intensity * cfg.speech_nod * (self._energy_fast - self._energy_slow)
        )
        latent[CHANNEL["roll"]] = sway * cfg.roll_amplitude * head[2]
        latent[CHANNEL["shift_x"]] = sway * cfg.shift_amplitude * head[3]
        latent[CHANNEL["shift_y"]] = sway * cfg.shift_amplitude * 0.6 * head[4]
        latent[CHANNEL["scale"]] = sway * cfg.scale_amplitude * head[5]
        return latent

    def _idle_head(self, time_s: float) -> np.ndarray:
        waves = np.sin(2 * math.pi * self._head_freqs * time_s + self._head_phases)  # (6, 3)
        return (self._head_weights * waves).sum(axis=1) / math.sqrt(3.0)  # (6,)

    def _blink(self, time_s: float) -> tuple[float, float]:
        """Eyelid closure (right, left) now; schedules log-normal intervals as time passes."""
        cfg = self.config
        if time_s >= self._next_blink:
            self._blink_start = self._next_blink
            self._next_blink += self._blink_interval()
            if self._rng.random() < cfg.blink_asymmetric_p:
                partial = float(self._rng.uniform(0.55, 0.8))
                self._blink_depth = (partial, 1.0) if self._rng.random() < 0.5 else (1.0, partial)
            else:
                self._blink_depth = (1.0, 1.0)
        since = time_s - self._blink_start
        if since < cfg.blink_close_s:
            closure = since / cfg.blink_close_s
        elif since < cfg.blink_close_s + cfg.blink_hold_s:
            closure = 1.0
        elif since < cfg.blink_close_s + cfg.blink_hold_s + cfg.blink_open_s:
            closure = 1.0 - (since - cfg.blink_close_s - cfg.blink_hold_s) / cfg.blink_open_s
        else:
            closure = 0.0
        # Smoothstep: lids accelerate and decelerate instead of moving at constant speed.
        closure = closure * closure * (3.0 - 2.0 * closure)
        return closure * self._blink_depth[0], closure * self._blink_depth[1]

    def _blink_interval(self) -> float:
        cfg = self.config
        mu = math.log(cfg.blink_mean_interval_s) - cfg.blink_interval_sigma**2 / 2
        interval = float(self._rng.lognormal(mu, cfg.blink_interval_sigma))
        return max(cfg.blink_min_interval_s, interval)

    def _saccade_interval(self) -> float:
        return float(self._rng.lognormal(math.log(self.config.saccade_mean_interval_s), 0.5))

    def _gaze_at(self, time_s: float, intensity: float) -> np.ndarray:
        """Main gaze direction plus small saccades held between jumps."""
        if time_s >= self._next_saccade:
            self._next_saccade = time_s + self._saccade_interval()
            self._saccade = self._rng.normal(0.0, self.config.saccade_amplitude, size=2)
            self._saccade[1] *= 0.5  # people look around sideways more than up and down
        target = np.asarray(self.controls.gaze, dtype=np.float64) + min(1.0, intensity) * (
            self._saccade
        )
        # Saccades take ~2 frames: a fast one-pole, not a jump, so the iris never teleports.
        self._gaze += 0.6 * (np.clip(target, -1.0, 1.0) - self._gaze)
        return self._gaze.astype(np.float32)
