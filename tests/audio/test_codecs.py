"""Audio decoding and encoding through the real FFmpeg codecs that PyAV bundles (no mocks).

Test inputs are made here with PyAV, the stdlib, espeak-ng and sox: a 440 Hz tone is easy to
recognise after a lossy codec (its dominant frequency survives), and its length is known.
"""

import io
import shutil
import struct
import subprocess
import sys
import wave
import zlib

import av
import numpy as np
import pytest

from llm_mlx_audio.audio.decode import audio_duration, decode_audio
from llm_mlx_audio.audio.encode import FORMATS, MIME_TYPES, StreamEncoder, encode_audio, format_from_path
from llm_mlx_audio.errors import AudioDecodeError, AudioFormatError

TONE_HZ = 440.0
SPEECH_RATE = 24000  # Kokoro's rate: what `llm speak` encodes most

# Samples a lossy codec may add (encoder delay + padding to a whole frame), at the decode rate.
CODEC_SLACK_SECONDS = {
    "wav": 0.0,
    "pcm": 0.0,
    "flac": 0.0,
    "opus": 2 * 960 / 48000,
    "mp3": 2 * 1152 / SPEECH_RATE,
    "aac": 2 * 1024 / SPEECH_RATE,
}


def tone(seconds=1.0, rate=SPEECH_RATE, hz=TONE_HZ, amplitude=0.5):
    t = np.arange(int(round(seconds * rate))) / rate
    return (amplitude * np.sin(2 * np.pi * hz * t)).astype(np.float32)


def dominant_hz(samples, rate):
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    return float(np.fft.rfftfreq(len(samples), 1 / rate)[np.argmax(spectrum)])


def decode_pcm(data):
    """Our raw pcm output read back by hand (FFmpeg cannot sniff headerless pcm)."""
    return np.frombuffer(data, dtype="<i2").astype(np.float32) / 32767


def mux(path, container_format, audio=None, video_frames=0):
    """Write a media file with PyAV: audio = (codec, rate, layout, planar float samples)."""
    with av.open(str(path), "w", format=container_format) as container:
        video = None
        if video_frames:
            video = container.add_stream("mpeg4", rate=10)
            video.width, video.height, video.pix_fmt = 64, 48, "yuv420p"
        if audio:
            codec, rate, layout, planes = audio
            # FFmpeg's own vorbis encoder is flagged experimental, though it writes valid files.
            sound = container.add_stream(codec, rate=rate, options={"strict": "experimental"})
            sound.codec_context.layout = layout
        for i in range(video_frames):
            image = np.full((48, 64, 3), i * 20 % 256, dtype=np.uint8)
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts = i
            container.mux(video.encode(frame))
        if video is not None:
            container.mux(video.encode(None))
        if audio:
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(planes), format="fltp", layout=layout)
            frame.sample_rate = rate
            container.mux(sound.encode(frame))
            container.mux(sound.encode(None))
    return path


def mono(samples):
    return samples[None, :]


# --- format names -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path, expected",
    [
        ("speech.mp3", "mp3"),
        ("a/b/Speech.WAV", "wav"),
        ("x.flac", "flac"),
        ("x.ogg", "opus"),
        ("x.opus", "opus"),
        ("memo.m4a", "aac"),
        ("x.aac", "aac"),
        ("x.pcm", "pcm"),
        ("x.raw", "pcm"),
        ("notes.txt", None),
        ("no_extension", None),
    ],
)
def test_format_from_path_maps_extensions_to_output_formats(path, expected):
    assert format_from_path(path) == expected


def test_every_format_has_a_mime_type():
    assert set(MIME_TYPES) == set(FORMATS)
    assert MIME_TYPES["mp3"] == "audio/mpeg"


def test_importing_the_codecs_does_not_import_pyav():
    code = "import sys, llm_mlx_audio.audio.decode, llm_mlx_audio.audio.encode; print('av' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


# --- encode -> decode round trips -------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["wav", "mp3", "flac", "opus", "aac"])
def test_encoded_tone_decodes_to_same_length_and_pitch(fmt):
    source = tone(1.0)
    decoded = decode_audio(encode_audio(source, SPEECH_RATE, fmt), sample_rate=16000)
    seconds = len(decoded) / 16000
    assert 1.0 - 1 / 16000 <= seconds <= 1.0 + CODEC_SLACK_SECONDS[fmt] + 1 / 16000
    assert abs(dominant_hz(decoded, 16000) - TONE_HZ) < 3
    assert 0.4 < np.abs(decoded).max() < 0.6


def test_pcm_is_raw_little_endian_16_bit_samples():
    source = tone(0.5)
    data = encode_audio(source, SPEECH_RATE, "pcm")
    assert len(data) == 2 * len(source)
    np.testing.assert_allclose(decode_pcm(data), source, atol=1 / 32767)


def test_wav_is_exact_16_bit_mono_with_true_sizes():
    source = tone(0.5)
    data = encode_audio(source, SPEECH_RATE, "wav")
    with wave.open(io.BytesIO(data)) as reader:
        assert (reader.getnchannels(), reader.getsampwidth(), reader.getframerate()) == (1, 2, SPEECH_RATE)
        assert reader.getnframes() == len(source)
    assert struct.unpack("<I", data[4:8])[0] == len(data) - 8


def test_encoding_clips_out_of_range_samples():
    data = encode_audio(np.array([2.0, -3.0, 0.5], dtype=np.float32), SPEECH_RATE, "pcm")
    assert struct.unpack("<3h", data) == (32767, -32767, 16384)


def test_encoding_turns_nan_into_silence():
    data = encode_audio(np.array([np.nan, 0.25], dtype=np.float32), SPEECH_RATE, "pcm")
    assert struct.unpack("<2h", data) == (0, 8192)


@pytest.mark.parametrize("fmt", ["opus", "mp3"])
def test_encoder_resamples_rates_the_codec_rejects(fmt):
    # libopus takes only 8/12/16/24/48 kHz; 22050 Hz is espeak's rate.
    decoded = decode_audio(encode_audio(tone(1.0, rate=22050), 22050, fmt), sample_rate=16000)
    assert abs(len(decoded) / 16000 - 1.0) <= 0.1
    assert abs(dominant_hz(decoded, 16000) - TONE_HZ) < 3


@pytest.mark.parametrize("fmt", ["ogg", "m4a", "", "wma"])
def test_unknown_output_format_raises_audio_format_error(fmt):
    with pytest.raises(AudioFormatError, match="unknown audio format"):
        encode_audio(tone(0.1), SPEECH_RATE, fmt)


def test_stream_encoder_refuses_unknown_format():
    with pytest.raises(AudioFormatError, match="choose one of wav, mp3"):
        StreamEncoder("vorbis", SPEECH_RATE)


def test_encoder_refuses_a_zero_sample_rate():
    with pytest.raises(AudioFormatError, match="sample rate"):
        encode_audio(tone(0.1), 0, "wav")


def test_encoder_refuses_multichannel_samples():
    with pytest.raises(AudioFormatError, match="mono"):
        encode_audio(np.zeros((2, 100), dtype=np.float32), SPEECH_RATE, "flac")


# --- streaming --------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_stream_encoder_chunks_concatenate_to_full_duration(fmt):
    source = tone(1.5)
    encoder = StreamEncoder(fmt, SPEECH_RATE)
    pieces = [encoder.write(chunk) for chunk in np.array_split(source, 6)]
    pieces.append(encoder.close())
    data = b"".join(pieces)
    if fmt == "pcm":
        decoded, rate = decode_pcm(data), SPEECH_RATE
    else:
        decoded, rate = decode_audio(data, sample_rate=16000), 16000
    seconds = len(decoded) / rate
    # A stream cannot go back to write the mp3 Xing frame that tells decoders to trim the delay.
    slack = CODEC_SLACK_SECONDS[fmt] + (1152 / SPEECH_RATE if fmt == "mp3" else 0)
    assert 1.5 - 1 / rate <= seconds <= 1.5 + slack + 1 / rate
    assert abs(dominant_hz(decoded, rate) - TONE_HZ) < 3


@pytest.mark.parametrize("fmt", ["mp3", "opus", "aac", "flac"])
def test_stream_encoder_returns_bytes_before_close(fmt):
    encoder = StreamEncoder(fmt, SPEECH_RATE)
    early = b"".join(encoder.write(chunk) for chunk in np.array_split(tone(2.0), 8))
    late = encoder.close()
    assert len(early) > len(late)


def test_streamed_wav_header_says_length_unknown_and_still_decodes():
    source = tone(1.0)
    encoder = StreamEncoder("wav", SPEECH_RATE)
    data = encoder.write(source[:1000]) + encoder.write(source[1000:]) + encoder.close()
    assert struct.unpack("<I", data[4:8])[0] == 0xFFFFFFFF
    assert struct.unpack("<I", data[40:44])[0] == 0xFFFFFFFF
    assert len(decode_audio(data, sample_rate=SPEECH_RATE)) == len(source)


def test_streamed_wav_is_readable_by_stdlib_wave():
    encoder = StreamEncoder("wav", SPEECH_RATE)
    data = encoder.write(tone(0.5)) + encoder.close()
    with wave.open(io.BytesIO(data)) as reader:
        assert len(reader.readframes(10**9)) == 2 * len(tone(0.5))


def test_stream_encoder_with_no_audio_still_gives_a_wav_header():
    data = StreamEncoder("wav", SPEECH_RATE).close()
    assert data[:4] == b"RIFF" and data[8:12] == b"WAVE" and len(data) == 44


def test_stream_encoder_refuses_write_after_close():
    encoder = StreamEncoder("mp3", SPEECH_RATE)
    encoder.close()
    with pytest.raises(RuntimeError):
        encoder.write(tone(0.1))


# --- decoding inputs ----------------------------------------------------------------------------


def test_decode_from_bytes_equals_decode_from_file(tmp_path):
    path = tmp_path / "tone.mp3"
    path.write_bytes(encode_audio(tone(1.0), SPEECH_RATE, "mp3"))
    np.testing.assert_array_equal(decode_audio(path.read_bytes()), decode_audio(path))


def test_decode_reads_a_binary_file_object(tmp_path):
    path = tmp_path / "tone.flac"
    path.write_bytes(encode_audio(tone(1.0), SPEECH_RATE, "flac"))
    with open(path, "rb") as handle:
        np.testing.assert_array_equal(decode_audio(handle), decode_audio(str(path)))


def test_stereo_44k_resamples_to_16k_mono_by_averaging_channels(tmp_path):
    left = tone(1.0, rate=44100, hz=1000, amplitude=0.9)
    right = tone(1.0, rate=44100, hz=1000, amplitude=0.3)
    path = mux(tmp_path / "stereo.wav", "wav", ("pcm_f32le", 44100, "stereo", np.stack([left, right])))
    decoded = decode_audio(path, sample_rate=16000)
    assert decoded.dtype == np.float32 and decoded.ndim == 1
    assert len(decoded) == 16000
    assert abs(dominant_hz(decoded, 16000) - 1000) < 3
    assert abs(np.abs(decoded[100:-100]).max() - 0.6) < 0.02  # (0.9 + 0.3) / 2, not FFmpeg's 0.707 sums


def test_decoded_loud_stereo_stays_within_one(tmp_path):
    loud = tone(0.5, rate=44100, amplitude=0.99)
    path = mux(tmp_path / "loud.wav", "wav", ("pcm_f32le", 44100, "stereo", np.stack([loud, loud])))
    assert np.abs(decode_audio(path)).max() <= 1.0


@pytest.mark.parametrize(
    "name, container_format, codec, rate",
    [
        ("memo.m4a", "ipod", "aac", 44100),
        ("voice.ogg", "ogg", "libopus", 48000),
        ("vorbis.ogg", "ogg", "vorbis", 44100),
        ("clip.webm", "webm", "libopus", 48000),
        ("song.mp3", "mp3", "libmp3lame", 44100),
    ],
)
def test_decodes_common_recording_formats(tmp_path, name, container_format, codec, rate):
    layout = "stereo" if codec == "vorbis" else "mono"  # FFmpeg's vorbis encoder wants 2 channels
    planes = np.stack([tone(2.0, rate=rate)] * (2 if layout == "stereo" else 1))
    path = mux(tmp_path / name, container_format, (codec, rate, layout, planes))
    decoded = decode_audio(path)
    assert abs(len(decoded) / 16000 - 2.0) < 0.1
    assert abs(dominant_hz(decoded, 16000) - TONE_HZ) < 3


@pytest.mark.parametrize(
    "name, container_format, codec",
    [("film.mp4", "mp4", "aac"), ("film.mkv", "matroska", "libopus"), ("film.mov", "mov", "aac")],
)
def test_decodes_the_audio_track_of_a_video(tmp_path, name, container_format, codec):
    rate = 48000
    path = mux(
        tmp_path / name, container_format, (codec, rate, "mono", mono(tone(1.0, rate=rate))), video_frames=10
    )
    with av.open(str(path)) as check:
        assert len(check.streams.video) == 1
    decoded = decode_audio(path)
    assert abs(len(decoded) / 16000 - 1.0) < 0.1
    assert abs(dominant_hz(decoded, 16000) - TONE_HZ) < 3


def test_audio_duration_reads_the_container_header(tmp_path):
    path = tmp_path / "tone.flac"
    path.write_bytes(encode_audio(tone(2.5), SPEECH_RATE, "flac"))
    assert audio_duration(path) == pytest.approx(2.5, abs=0.001)


def test_audio_duration_of_m4a_bytes(tmp_path):
    path = mux(tmp_path / "memo.m4a", "ipod", ("aac", 44100, "mono", mono(tone(3.0, rate=44100))))
    assert audio_duration(path.read_bytes()) == pytest.approx(3.0, abs=0.05)


@pytest.mark.skipif(not (shutil.which("espeak-ng") and shutil.which("sox")), reason="needs espeak-ng and sox")
def test_espeak_speech_decodes_to_16k_like_sox(tmp_path):
    speech = tmp_path / "speech.wav"
    subprocess.run(
        ["espeak-ng", "-w", str(speech), "The quick brown fox jumps over the lazy dog."], check=True
    )
    with wave.open(str(speech)) as reader:
        source_rate, source_frames = reader.getframerate(), reader.getnframes()
    by_sox = tmp_path / "sox16k.wav"
    subprocess.run(["sox", str(speech), "-r", "16000", str(by_sox)], check=True)
    with wave.open(str(by_sox)) as reader:
        sox_samples = np.frombuffer(reader.readframes(reader.getnframes()), "<i2") / 32768

    decoded = decode_audio(speech, sample_rate=16000)

    assert abs(len(decoded) - source_frames * 16000 / source_rate) <= 2
    assert abs(len(decoded) - len(sox_samples)) <= 2
    n = min(len(decoded), len(sox_samples))
    assert np.corrcoef(decoded[:n], sox_samples[:n])[0, 1] > 0.99


# --- inputs that are not audio ----------------------------------------------------------------


def test_missing_file_names_the_path(tmp_path):
    with pytest.raises(AudioDecodeError, match=r"nothere\.wav: no such file"):
        decode_audio(tmp_path / "nothere.wav")


def test_empty_file_is_refused(tmp_path):
    path = tmp_path / "empty.mp3"
    path.write_bytes(b"")
    with pytest.raises(AudioDecodeError, match=r"empty\.mp3 is empty"):
        decode_audio(path)


def test_empty_bytes_are_refused_with_the_given_name():
    with pytest.raises(AudioDecodeError, match="<stdin> is empty"):
        decode_audio(b"", name="<stdin>")


def test_directory_is_refused(tmp_path):
    with pytest.raises(AudioDecodeError, match="is a directory"):
        decode_audio(tmp_path)


def test_text_file_is_refused(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("Remember to buy milk.\n" * 40)
    with pytest.raises(AudioDecodeError, match=r"notes\.txt is not an audio file \(it looks like text\)"):
        decode_audio(path)


def png_bytes(width=8, height=8):
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    rows = b"".join(b"\x00" + bytes(range(width * 3)) for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def test_png_image_is_refused_as_not_audio(tmp_path):
    path = tmp_path / "picture.png"
    path.write_bytes(png_bytes())
    with pytest.raises(
        AudioDecodeError, match=r"picture\.png is not an audio file \(it looks like an image\)"
    ):
        decode_audio(path)


def test_png_image_renamed_to_mp3_is_refused(tmp_path):
    path = tmp_path / "fake.mp3"
    path.write_bytes(png_bytes())
    with pytest.raises(AudioDecodeError, match=r"fake\.mp3"):
        decode_audio(path)


def test_video_without_audio_track_is_refused(tmp_path):
    path = mux(tmp_path / "silent_film.mp4", "mp4", video_frames=10)
    with pytest.raises(AudioDecodeError, match=r"silent_film\.mp4 has no audio track, only video"):
        decode_audio(path)


def test_audio_duration_refuses_video_without_audio(tmp_path):
    path = mux(tmp_path / "silent_film.mp4", "mp4", video_frames=10)
    with pytest.raises(AudioDecodeError, match="no audio track"):
        audio_duration(path)


def test_truncated_m4a_is_refused(tmp_path):
    # mp4 keeps its index (moov) at the end: cut it off and nothing can be found.
    whole = mux(
        tmp_path / "whole.m4a", "ipod", ("aac", 44100, "mono", mono(tone(2.0, rate=44100)))
    ).read_bytes()
    path = tmp_path / "cut.m4a"
    path.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(AudioDecodeError, match=r"cut\.m4a is not audio FFmpeg can read"):
        decode_audio(path)


def test_mp3_cut_inside_its_header_is_refused(tmp_path):
    path = tmp_path / "cut.mp3"
    path.write_bytes(encode_audio(tone(2.0), SPEECH_RATE, "mp3")[:200])
    with pytest.raises(AudioDecodeError, match=r"cut\.mp3"):
        decode_audio(path)


def test_mp3_cut_halfway_returns_the_audio_before_the_cut(tmp_path):
    whole = encode_audio(tone(2.0), SPEECH_RATE, "mp3")
    decoded = decode_audio(whole[: len(whole) // 2])
    assert 0.7 < len(decoded) / 16000 < 1.3
    assert abs(dominant_hz(decoded, 16000) - TONE_HZ) < 3
