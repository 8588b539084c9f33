"""load_audio: every common container decodes to normalised 16 kHz mono; bad input is refused."""

from __future__ import annotations

import wave
from pathlib import Path

import av
import numpy as np
import pytest

from generator.audio import SAMPLE_RATE, TARGET_SPEECH_RMS, AudioClip, load_audio
from generator.errors import AudioError

# (suffix, container format, codec, sample rate, layout): rates and layouts differ on purpose so
# resampling and down-mixing are exercised too.
ENCODINGS = [
    ("mp3", "mp3", "libmp3lame", 44_100, "stereo"),
    ("m4a", "ipod", "aac", 48_000, "stereo"),
    ("ogg", "ogg", "libopus", 48_000, "mono"),
    ("flac", "flac", "flac", 22_050, "mono"),
]


def transcode(source: Path, target: Path, fmt: str, codec: str, rate: int, layout: str) -> Path:
    """Re-encode `source` with PyAV's bundled FFmpeg encoders."""
    with av.open(str(source)) as src, av.open(str(target), "w", format=fmt) as dst:
        stream = dst.add_stream(codec, rate=rate, layout=layout)
        audio_format = stream.codec_context.codec.audio_formats[0].name
        resampler = av.AudioResampler(format=audio_format, layout=layout, rate=rate)
        resampler_frame_size = stream.codec_context.frame_size or 1024
        fifo = av.AudioFifo()
        for frame in src.decode(audio=0):
            for out in resampler.resample(frame):
                fifo.write(out)
        for out in resampler.resample(None):
            fifo.write(out)
        while (chunk := fifo.read(resampler_frame_size, partial=True)) is not None:
            for packet in stream.encode(chunk):
                dst.mux(packet)
            if fifo.samples == 0:
                break
        for packet in stream.encode(None):
            dst.mux(packet)
    return target


def wav_duration(path: Path) -> float:
    with wave.open(str(path)) as wav:
        return wav.getnframes() / wav.getframerate()


def test_it_loads_wav_as_16k_mono_float(speech_wav: Path) -> None:
    clip = load_audio(speech_wav)
    assert isinstance(clip, AudioClip)
    assert clip.sample_rate == SAMPLE_RATE
    assert clip.samples.dtype == np.float32 and clip.samples.ndim == 1
    assert clip.duration_s == pytest.approx(wav_duration(speech_wav), abs=0.01)
    assert np.abs(clip.samples).max() <= 1.0


def test_it_loads_bytes_like_a_path(speech_wav: Path) -> None:
    from_bytes = load_audio(speech_wav.read_bytes())
    from_path = load_audio(speech_wav)
    np.testing.assert_array_equal(from_bytes.samples, from_path.samples)


@pytest.mark.parametrize(("suffix", "fmt", "codec", "rate", "layout"), ENCODINGS)
def test_it_loads_compressed_containers(
    speech_wav: Path, tmp_path: Path, suffix: str, fmt: str, codec: str, rate: int, layout: str
) -> None:
    encoded = transcode(speech_wav, tmp_path / f"speech.{suffix}", fmt, codec, rate, layout)
    clip = load_audio(encoded)
    reference = load_audio(speech_wav)
    assert clip.sample_rate == SAMPLE_RATE
    # Codecs add priming/padding samples; the duration must still match within 0.1 s.
    assert clip.duration_s == pytest.approx(reference.duration_s, abs=0.1)
    # Same speech, same loudness after normalisation (lossy codecs shift level slightly).
    assert rms_of_loud_part(clip) == pytest.approx(rms_of_loud_part(reference), rel=0.25)


def rms_of_loud_part(clip: AudioClip) -> float:
    blocks = clip.samples[: len(clip.samples) // 320 * 320].reshape(-1, 320)
    rms = np.sqrt((blocks.astype(np.float64) ** 2).mean(axis=1))
    loud = rms[rms > 0.1 * np.percentile(rms, 95)]
    return float(np.sqrt((loud**2).mean()))


def test_it_normalises_quiet_speech_to_the_target_level(speech_wav: Path, tmp_path: Path) -> None:
    quiet = tmp_path / "quiet.wav"
    loud = load_audio(speech_wav)
    write_wav(quiet, loud.samples * 0.05, SAMPLE_RATE)  # about -26 dB
    assert rms_of_loud_part(load_audio(quiet)) == pytest.approx(TARGET_SPEECH_RMS, rel=0.15)


def test_it_accepts_silence_and_keeps_it_silent(silent_wav: Path) -> None:
    clip = load_audio(silent_wav)
    assert clip.duration_s == pytest.approx(3.0, abs=0.01)
    assert np.abs(clip.samples).max() == 0.0


def test_it_does_not_amplify_a_faint_noise_floor(tmp_path: Path) -> None:
    path = tmp_path / "hiss.wav"
    hiss = np.random.default_rng(0).normal(0, 10 ** (-70 / 20), 2 * SAMPLE_RATE)
    write_wav(path, hiss, SAMPLE_RATE)
    clip = load_audio(path)
    assert np.sqrt(np.mean(clip.samples**2)) < 10 ** (-60 / 20)


def test_it_rejects_non_audio_bytes() -> None:
    with pytest.raises(AudioError) as caught:
        load_audio(b"%PDF-1.7 definitely not a sound file\n" * 50)
    assert caught.value.code == "invalid_audio"


def test_it_rejects_an_image_file(tmp_path: Path) -> None:
    path = tmp_path / "picture.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8)
    with pytest.raises(AudioError):
        load_audio(path)


def test_it_rejects_a_playlist_that_points_at_other_files(speech_wav: Path) -> None:
    playlist = f"#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\nfile://{speech_wav}\n"
    with pytest.raises(AudioError):
        load_audio((playlist + "#EXT-X-ENDLIST\n").encode())


def test_it_rejects_zero_bytes() -> None:
    with pytest.raises(AudioError):
        load_audio(b"")


def test_it_rejects_a_wav_with_no_samples(tmp_path: Path) -> None:
    path = tmp_path / "empty.wav"
    write_wav(path, np.zeros(0), SAMPLE_RATE)
    with pytest.raises(AudioError, match="no samples"):
        load_audio(path)


def test_it_rejects_audio_over_the_length_cap(speech_wav: Path) -> None:
    with pytest.raises(AudioError, match="limit is 2 s"):
        load_audio(speech_wav, max_seconds=2.0)


def test_it_rejects_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(AudioError):
        load_audio(tmp_path / "nowhere.wav")


def write_wav(path: Path, samples: np.ndarray, rate: int) -> None:
    pcm = np.clip(np.asarray(samples) * 32767, -32768, 32767).astype(np.int16)
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(pcm.tobytes())
