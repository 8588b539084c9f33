"""A hand-written ctypes binding to libespeak-ng that returns speech plus timed phoneme events.

Why by hand: no maintained Python binding exposes espeak-ng's espeakEVENT_PHONEME events (the
py-espeak-ng / espeakng wrappers drive the CLI and only return audio or phoneme strings without
timing). The C library reports every phoneme with its sample position in the generated audio,
which is exactly the sample-exact label timing the viseme model is trained on.

The library keeps global state (one voice, one callback), so one process synthesises one
utterance at a time; corpus building parallelises with processes, never threads.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import threading
from dataclasses import dataclass

import numpy as np

from generator.errors import GeneratorError

LIBRARY_NAMES = ("libespeak-ng.so.1", "libespeak-ng.so")

# From speak_lib.h (API revision 12).
AUDIO_OUTPUT_SYNCHRONOUS = 2
ESPEAK_INITIALIZE_PHONEME_EVENTS = 0x0001
ESPEAK_INITIALIZE_DONT_EXIT = 0x8000
ESPEAK_CHARS_UTF8 = 1
ESPEAK_SSML = 0x10
POS_CHARACTER = 1
EVENT_LIST_TERMINATED = 0
EVENT_WORD = 1
EVENT_END = 5
EVENT_MSG_TERMINATED = 6
EVENT_PHONEME = 7
PARAM_RATE = 1
PARAM_VOLUME = 2
PARAM_PITCH = 3
PARAM_RANGE = 4
PARAM_WORDGAP = 7


class _EventId(ctypes.Union):
    _fields_ = [
        ("number", ctypes.c_int),
        ("name", ctypes.c_char_p),
        ("string", ctypes.c_char * 8),
    ]


class _Event(ctypes.Structure):
    """espeak_EVENT: one timed event; `sample` is the absolute sample index of the event."""

    _fields_ = [
        ("type", ctypes.c_int),
        ("unique_identifier", ctypes.c_uint),
        ("text_position", ctypes.c_int),
        ("length", ctypes.c_int),
        ("audio_position", ctypes.c_int),  # milliseconds from the start of the message
        ("sample", ctypes.c_int),
        ("user_data", ctypes.c_void_p),
        ("id", _EventId),
    ]


_SYNTH_CALLBACK = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event)
)


class EspeakError(GeneratorError):
    """libespeak-ng is missing, failed to initialise, or rejected a voice or text."""

    code = "espeak_failed"


@dataclass(frozen=True)
class PhonemeEvent:
    """One phoneme as espeak-ng placed it in the audio it generated."""

    phoneme: str  # espeak-ng mnemonic, e.g. "aI", "t", "_:" (pause)
    start_sample: int  # index into Utterance.samples where the phoneme starts


@dataclass(frozen=True)
class Utterance:
    """Synthesised speech and the phoneme events that produced it."""

    samples: np.ndarray  # (N,) float32 mono in [-1, 1] at sample_rate
    sample_rate: int  # espeak-ng's native rate (22050 Hz for its own voices)
    phonemes: tuple[PhonemeEvent, ...]  # in time order


class EspeakSynthesizer:
    """Synthesises text with libespeak-ng in synchronous retrieval mode.

    Only one instance per process is safe (the library is a singleton); `shared()` returns it.
    """

    _instance: EspeakSynthesizer | None = None
    _instance_lock = threading.Lock()

    def __init__(self) -> None:
        self._lib = _load_library()
        rate = self._lib.espeak_Initialize(
            AUDIO_OUTPUT_SYNCHRONOUS,
            0,
            None,
            ESPEAK_INITIALIZE_PHONEME_EVENTS | ESPEAK_INITIALIZE_DONT_EXIT,
        )
        if rate <= 0:
            raise EspeakError("libespeak-ng failed to initialise (is espeak-ng-data installed?)")
        self.sample_rate = int(rate)
        self._chunks: list[np.ndarray] = []
        self._events: list[PhonemeEvent] = []
        # Keep a reference: ctypes frees the trampoline if the Python object is collected.
        self._callback = _SYNTH_CALLBACK(self._on_synth)
        self._lib.espeak_SetSynthCallback(self._callback)
        self._lock = threading.Lock()
        # Observed with espeak-ng 1.51: the first utterance after start-up (or after many voice
        # switches with no speech between) can lose its first phoneme events. One throwaway
        # utterance settles the library's state so every returned timeline is complete.
        self.synthesize("a")

    @classmethod
    def shared(cls) -> EspeakSynthesizer:
        """The process-wide synthesiser (created on first use)."""
        with cls._instance_lock:
            if cls._instance is None:
                cls._instance = cls()
            return cls._instance

    def synthesize(
        self,
        text: str,
        *,
        voice: str = "en-us",
        rate_wpm: int = 175,
        pitch: int = 50,
        pitch_range: int = 50,
        word_gap_10ms: int = 0,
        ssml: bool = False,
    ) -> Utterance:
        """Speak `text` with `voice` (e.g. "en-gb+f3") and return audio plus phoneme events.

        rate_wpm: words per minute (80-450); pitch and pitch_range: 0-100; word_gap_10ms:
        extra pause between words in units of 10 ms.
        """
        with self._lock:
            if self._lib.espeak_SetVoiceByName(voice.encode()) != 0:
                raise EspeakError(f"espeak-ng has no voice named {voice!r}")
            for param, value in (
                (PARAM_RATE, rate_wpm),
                (PARAM_PITCH, pitch),
                (PARAM_RANGE, pitch_range),
                (PARAM_WORDGAP, word_gap_10ms),
                (PARAM_VOLUME, 100),
            ):
                self._lib.espeak_SetParameter(param, int(value), 0)
            self._chunks, self._events = [], []
            data = text.encode("utf-8") + b"\0"
            flags = ESPEAK_CHARS_UTF8 | (ESPEAK_SSML if ssml else 0)
            status = self._lib.espeak_Synth(data, len(data), 0, POS_CHARACTER, 0, flags, None, None)
            if status != 0:
                raise EspeakError(f"espeak-ng could not synthesise the text (status {status})")
            self._lib.espeak_Synchronize()
            pcm = np.concatenate(self._chunks) if self._chunks else np.zeros(0, np.int16)
            events = tuple(sorted(self._events, key=lambda e: e.start_sample))
        samples = pcm.astype(np.float32) / 32768.0  # (N,)
        return Utterance(samples=samples, sample_rate=self.sample_rate, phonemes=events)

    def _on_synth(self, wav, num_samples, events) -> int:  # noqa: ANN001 (ctypes pointers)
        if num_samples > 0 and wav:
            self._chunks.append(np.ctypeslib.as_array(wav, shape=(num_samples,)).copy())
        i = 0
        while events[i].type != EVENT_LIST_TERMINATED:
            event = events[i]
            if event.type == EVENT_PHONEME:
                name = bytes(event.id.string).split(b"\0", 1)[0].decode("utf-8", "replace")
                self._events.append(PhonemeEvent(phoneme=name, start_sample=int(event.sample)))
            i += 1
        return 0  # 0 = continue synthesis


def _load_library() -> ctypes.CDLL:
    names = [*LIBRARY_NAMES]
    found = ctypes.util.find_library("espeak-ng")
    if found:
        names.append(found)
    for name in names:
        try:
            lib = ctypes.CDLL(name)
        except OSError:
            continue
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        lib.espeak_Initialize.restype = ctypes.c_int
        lib.espeak_SetSynthCallback.argtypes = [_SYNTH_CALLBACK]
        lib.espeak_SetSynthCallback.restype = None
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetVoiceByName.restype = ctypes.c_int
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        lib.espeak_SetParameter.restype = ctypes.c_int
        lib.espeak_Synth.argtypes = [
            ctypes.c_void_p,
            ctypes.c_size_t,
            ctypes.c_uint,
            ctypes.c_int,
            ctypes.c_uint,
            ctypes.c_uint,
            ctypes.POINTER(ctypes.c_uint),
            ctypes.c_void_p,
        ]
        lib.espeak_Synth.restype = ctypes.c_int
        lib.espeak_Synchronize.argtypes = []
        lib.espeak_Synchronize.restype = ctypes.c_int
        return lib
    raise EspeakError("libespeak-ng.so.1 not found: install the libespeak-ng1 package")
