"""Synthesise the viseme model's training corpus with espeak-ng: audio features + timed labels.

Variety comes from many sentences (hand-written plus seeded random word sequences), 8 English
accents x 12 voice variants (+m1..+m7, +f1..+f4 and the default), speaking rates 110-320 wpm,
pitches, pitch ranges, word gaps, pauses, leading/trailing silence, level changes and low noise.
Some voices are held out entirely so the model card can report accuracy on unseen voices.
"""

from __future__ import annotations

import multiprocessing
from dataclasses import dataclass

import numpy as np
import torch

from generator.audio import SAMPLE_RATE, clip_from_samples
from generator.audio_features import HOP, log_mel
from generator.viseme.phonemes import frame_labels, mouth_targets
from tools.viseme.espeak import EspeakSynthesizer

HOP_S = HOP / SAMPLE_RATE  # 10 ms per feature frame

ACCENTS = (
    "en",  # British (espeak-ng's en-gb)
    "en-us",
    "en-gb-scotland",
    "en-gb-x-rp",
    "en-gb-x-gbclan",
    "en-gb-x-gbcwmd",
    "en-us-nyc",
    "en-029",
)
VARIANTS = ("", "+m1", "+m2", "+m3", "+m4", "+m5", "+m6", "+m7", "+f1", "+f2", "+f3", "+f4")
# Held out: every voice with these variants, and the Caribbean accent with any variant.
HELD_OUT_VARIANTS = ("+f3", "+m6")
HELD_OUT_ACCENTS = ("en-029",)

SENTENCES = (
    "The quick brown fox jumps over the lazy dog.",
    "She sells sea shells by the sea shore.",
    "Peter Piper picked a peck of pickled peppers.",
    "How much wood would a woodchuck chuck?",
    "Good morning, everyone, and thank you for coming.",
    "Please call Stella and ask her to bring these things with her from the store.",
    "We will meet at the museum at half past nine.",
    "Our cowboy boys enjoy loud noises and pure mountain air.",
    "Where were you when the power went out last Thursday?",
    "Judge the measure of the treasure with usual pleasure.",
    "I'm afraid the budget review must wait until Monday.",
    "Oh no, the blue balloon flew over the roof!",
    "Could you open the window? It's far too warm in here.",
    "Five fine fishermen fixed the fraying fishing nets.",
    "Thirty three thousand feathers on a thrush's throat.",
    "Bob bought a big blue boat, but it broke.",
    "My mum makes marvellous marmalade every May.",
    "The rain in Spain stays mainly in the plain.",
    "Who knew you'd choose the new shoes too?",
    "Ahead of the meeting, review the figures carefully.",
    "Yes. No. Maybe. Well, I suppose we'll see.",
    "Hello, how are you doing today?",
    "The weather forecast says it will be cloudy with occasional showers.",
    "Let's go over the agenda one more time before lunch.",
    "An apple a day keeps the doctor away.",
    "Watch out for the wet floor near the wooden door.",
    "Sixty seven students visited the science centre.",
    "Are you sure? I thought the train left at noon.",
    "Every evening, the owl hoots from the old oak tree.",
    "Measure twice, cut once, and always wear safety glasses.",
    "I really appreciate your help with this project.",
    "The children laughed as the puppy chased its tail.",
    "Mmm, that smells wonderful. What are you cooking?",
    "Quarterly revenue grew by twelve percent over last year.",
    "Please remember to lock the back door when you leave.",
    "Wow, look at all those shooting stars!",
    "Bring your umbrella; the clouds look rather threatening.",
    "Education is the most powerful tool for changing the world.",
    "Put the book back on the top shelf, please.",
    "The zebra zigzagged through the tall grass.",
)

WORDS = (
    "a about above after again air all almost along also always among an and animal another "
    "answer any anything apple are around as ask at away baby back bad ball bank be bear "
    "beautiful because bed been before began begin behind being believe best better between "
    "big bird black blue boat body book both box boy bread bring brother brown build busy but "
    "buy by call came can car care carry cat catch change cheese child children choose city "
    "class clean clear close cloud cold colour come could country course cover cry cup cut "
    "dance dark day deep did different do doctor does dog done door down draw dream dress "
    "drink drive during each early earth easy eat egg eight either else end enough even "
    "evening ever every example eye face fall family far farm fast father feel feet few field "
    "fight find fine fire first fish five floor flower fly follow food foot for form found four "
    "free friend from front fruit full fun game garden gave girl give glass go gold good got "
    "great green ground group grow had half hand happy hard has have he head hear heart heavy "
    "help her here high hill him his hold home hope horse hot hour house how hundred hurry "
    "idea if important in inside into is island it job join juice jump just keep kind king "
    "kitchen knew know lake land large last late laugh learn leave left leg let letter light "
    "like line listen little live long look lost loud love low machine made make man many map "
    "mark may me mean measure meet might mile milk mind minute miss money month moon more "
    "morning most mother mountain mouth move much music must my name near need never new next "
    "nice night nine no noise north nothing now number ocean of off often oh old on once one "
    "only open or orange other our out over own page paper park part party pass people "
    "perhaps person picture piece place plan plant play please point pool poor power pull "
    "push put question quick quiet rain read ready real red remember rest rich ride right "
    "river road rock room round rule run said same saw say school sea second see seem sell "
    "send seven shall she ship shoe short should show shut side sing sister sit six sleep "
    "slow small smile snow so some song soon sound south speak spring square stand star start "
    "stay step still stone stop story street strong study such summer sun sure surprise "
    "sweet swim table take talk tall teacher tell ten than thank that the their them then "
    "there these they thing think third this those though thought three through throw time "
    "to today together told too took top toward town tree true try turn two under until up "
    "us use usual very visit voice vowel wait walk wall want warm was watch water wave way we "
    "wear weather week well went were what wheel when where which while white who whole why "
    "wide wild will wind window winter wish with without woman wonder wood word work world "
    "would write wrong yard year yellow yes yet you young your zero zoo"
).split()


@dataclass(frozen=True)
class VoiceSetting:
    """One espeak-ng speaker configuration."""

    voice: str  # e.g. "en-us+f2"
    rate_wpm: int
    pitch: int
    pitch_range: int
    word_gap_10ms: int


@dataclass(frozen=True)
class Example:
    """One training utterance: features and frame-aligned targets at 10 ms per frame."""

    features: np.ndarray  # (F, 80) float16 log-mel
    visemes: np.ndarray  # (F,) int64 viseme class per frame
    mouth: np.ndarray  # (F, 3) float32 smoothed mouth targets
    voice: str


def all_voices() -> list[str]:
    """Every accent x variant combination the corpus draws from."""
    return [accent + variant for accent in ACCENTS for variant in VARIANTS]


def is_held_out(voice: str) -> bool:
    """Whether `voice` is reserved for evaluation and never trained on."""
    accent, _, variant = voice.partition("+")
    return accent in HELD_OUT_ACCENTS or ("+" + variant) in HELD_OUT_VARIANTS


def random_text(rng: np.random.Generator) -> tuple[str, bool]:
    """A sentence to speak and whether it is SSML: real sentences, random words, pauses."""
    kind = rng.random()
    if kind < 0.35:
        text = str(rng.choice(SENTENCES))
    else:
        n_words = int(rng.integers(3, 16))
        words = [str(w) for w in rng.choice(WORDS, size=n_words)]
        for i in range(1, n_words - 1):
            if rng.random() < 0.12:
                words[i] += str(rng.choice([",", ";", "."]))
        text = " ".join(words).capitalize() + str(rng.choice([".", "?", "!"]))
    if rng.random() < 0.4:
        # An explicit mid-utterance pause of 150-900 ms, so silence inside speech is learned.
        second = str(rng.choice(SENTENCES))
        pause_ms = int(rng.integers(150, 900))
        text = f"<speak>{_escape(text)} <break time='{pause_ms}ms'/> {_escape(second)}</speak>"
        return text, True
    return text, False


def random_setting(voice: str, rng: np.random.Generator) -> VoiceSetting:
    """Random rate, pitch, range and word gap for `voice`."""
    return VoiceSetting(
        voice=voice,
        rate_wpm=int(rng.integers(110, 321)),
        pitch=int(rng.integers(15, 86)),
        pitch_range=int(rng.integers(10, 91)),
        word_gap_10ms=int(rng.choice([0, 0, 0, 1, 3, 8])),
    )


def synthesize_example(setting: VoiceSetting, text: str, ssml: bool, seed: int) -> Example:
    """Speak `text`, then build features and targets exactly as inference will see the audio."""
    rng = np.random.default_rng(seed)
    utterance = EspeakSynthesizer.shared().synthesize(
        text,
        voice=setting.voice,
        rate_wpm=setting.rate_wpm,
        pitch=setting.pitch,
        pitch_range=setting.pitch_range,
        word_gap_10ms=setting.word_gap_10ms,
        ssml=ssml,
    )
    clip = clip_from_samples(utterance.samples, utterance.sample_rate)
    lead = int(rng.integers(0, int(0.5 * SAMPLE_RATE)))
    tail = int(rng.integers(0, int(0.5 * SAMPLE_RATE)))
    audio = np.concatenate([np.zeros(lead, np.float32), clip.samples, np.zeros(tail, np.float32)])
    # Streaming input is not loudness-normalised, so train across levels (-18..+4 dB) and with
    # occasional faint noise (a real microphone's floor).
    audio *= np.float32(10 ** (rng.uniform(-18, 4) / 20))
    if rng.random() < 0.5:
        audio += rng.normal(0, 10 ** (rng.uniform(-75, -50) / 20), audio.shape).astype(np.float32)
    audio = np.clip(audio, -1.0, 1.0)

    features = log_mel(torch.from_numpy(audio)).numpy()  # (F, 80)
    n_frames = features.shape[0]
    phonemes = [
        (e.phoneme, lead / SAMPLE_RATE + e.start_sample / utterance.sample_rate)
        for e in utterance.phonemes
    ]
    speech_end_s = (lead + len(clip.samples)) / SAMPLE_RATE
    labels = frame_labels(phonemes, speech_end_s, n_frames, HOP_S)  # (F,)
    return Example(
        features=features.astype(np.float16),
        visemes=labels,
        mouth=mouth_targets(labels, HOP_S),
        voice=setting.voice,
    )


def build_corpus(
    n_train: int, n_heldout: int, *, seed: int = 0, workers: int = 2
) -> tuple[list[Example], list[Example]]:
    """Synthesise `n_train` utterances from training voices and `n_heldout` from held-out ones."""
    rng = np.random.default_rng(seed)
    voices = all_voices()
    train_voices = [v for v in voices if not is_held_out(v)]
    heldout_voices = [v for v in voices if is_held_out(v)]
    jobs = []
    for i in range(n_train + n_heldout):
        pool = train_voices if i < n_train else heldout_voices
        voice = str(rng.choice(pool))
        text, ssml = random_text(rng)
        jobs.append((random_setting(voice, rng), text, ssml, int(rng.integers(2**31))))
    if workers > 1:
        # One espeak-ng per process: the C library is a singleton with global state.
        with multiprocessing.get_context("spawn").Pool(workers, initializer=_init_worker) as pool:
            examples = pool.starmap(synthesize_example, jobs, chunksize=16)
    else:
        examples = [synthesize_example(*job) for job in jobs]
    return examples[:n_train], examples[n_train:]


def _init_worker() -> None:
    torch.set_num_threads(1)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
