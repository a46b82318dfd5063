"""`llm transcribe --output-dir`: one output file per input, never one replacing another.

The tiny whisper's words are random, so each transcript is told apart by its
duration (json format), which is that of its own input.
"""

import json

import pytest
from spoken_clips import speech_samples, speech_wav, wav_seconds

from llm_mlx_audio.audio.encode import encode_audio


def spoken(path, text):
    """path (a wav or an mp3, by its extension) saying text; its length in seconds."""
    path.parent.mkdir(parents=True, exist_ok=True)
    samples = speech_samples(text)
    path.write_bytes(encode_audio(samples, 16000, path.suffix[1:]))
    return len(samples) / 16000


def durations(out):
    return {p.name: json.loads(p.read_text())["duration"] for p in sorted(out.iterdir())}


def test_same_names_in_two_folders_get_two_outputs(llm_cli, tiny_models, tmp_path):
    short = spoken(tmp_path / "a" / "x.wav", "Yes.")
    long = spoken(tmp_path / "b" / "x.wav", "Please call me back after lunch on Monday.")
    out = tmp_path / "out"
    inputs = [str(tmp_path / "a" / "x.wav"), str(tmp_path / "b" / "x.wav")]
    result = llm_cli("transcribe", *inputs, "--output-dir", str(out), "--format", "json")
    assert result.exit_code == 0, result.output
    found = durations(out)
    assert list(found) == ["x.wav-2.json", "x.wav.json"]
    assert found["x.wav.json"] == pytest.approx(short, abs=0.01)
    assert found["x.wav-2.json"] == pytest.approx(long, abs=0.01)


def test_a_shared_stem_keeps_the_extension_and_unique_stems_stay_plain(llm_cli, tiny_models, tmp_path):
    mp3 = spoken(tmp_path / "a" / "x.mp3", "Yes.")
    wav = spoken(tmp_path / "b" / "x.wav", "Please call me back after lunch on Monday.")
    (tmp_path / "memo.wav").write_bytes(speech_wav("Remember the dentist."))
    out = tmp_path / "out"
    inputs = [str(tmp_path / "a" / "x.mp3"), str(tmp_path / "b" / "x.wav"), str(tmp_path / "memo.wav")]
    result = llm_cli("transcribe", *inputs, "--output-dir", str(out), "--format", "json")
    assert result.exit_code == 0, result.output
    found = durations(out)
    assert list(found) == ["memo.json", "x.mp3.json", "x.wav.json"]
    assert found["x.mp3.json"] == pytest.approx(mp3, abs=0.06)  # mp3 pads a frame
    assert found["x.wav.json"] == pytest.approx(wav, abs=0.01)
    assert found["memo.json"] == pytest.approx(wav_seconds(tmp_path / "memo.wav"), abs=0.01)


def test_an_input_given_twice_is_transcribed_once(llm_cli, tiny_models, tmp_path):
    spoken(tmp_path / "a" / "x.wav", "Yes.")
    same = [str(tmp_path / "a" / "x.wav"), str(tmp_path / "b" / ".." / "a" / "x.wav")]
    (tmp_path / "b").mkdir()
    out = tmp_path / "out"
    result = llm_cli("transcribe", *same, "--output-dir", str(out))
    assert result.exit_code == 0, result.output
    assert [p.name for p in out.iterdir()] == ["x.txt"]
    assert len(json.loads(llm_cli("logs", "--json", "-n", "0").stdout)) == 1


def test_inputs_done_under_their_new_names_are_skipped_unless_forced(llm_cli, tiny_models, tmp_path):
    spoken(tmp_path / "a" / "x.wav", "Yes.")
    spoken(tmp_path / "b" / "x.wav", "Please call me back after lunch on Monday.")
    out = tmp_path / "out"
    inputs = [str(tmp_path / "a" / "x.wav"), str(tmp_path / "b" / "x.wav"), "--output-dir", str(out)]
    assert llm_cli("transcribe", *inputs).exit_code == 0
    for done in out.iterdir():
        done.write_text("done before\n")
    result = llm_cli("transcribe", *inputs)
    assert result.exit_code == 0, result.output
    assert result.stderr.count("already transcribed") == 2
    assert {p.read_text() for p in out.iterdir()} == {"done before\n"}
    assert llm_cli("transcribe", *inputs, "--force").exit_code == 0
    assert sorted(p.name for p in out.iterdir()) == ["x.wav-2.txt", "x.wav.txt"]
    assert "done before\n" not in {p.read_text() for p in out.iterdir()}
