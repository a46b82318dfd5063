"""`llm transcribe --diarize` and the transcript_diarized: fragment, through the real llm CLI.

The recording is a conversation of espeak-ng's male and female voices (tests/
conversations.py); Whisper tiny.en transcribes it and the GE2E encoder tells them apart.
"""

import json
import re

import pytest
from conversations import TWO_SPEAKER_SETS, conversation
from llm_runner import llm_subprocess, run_llm
from spoken_clips import HAVE_ESPEAK

from llm_mlx_audio.audio.encode import encode_audio
from llm_mlx_audio.engine import embedded

pytestmark = pytest.mark.skipif(
    not (HAVE_ESPEAK and embedded.available("whisper-tiny.en")),
    reason="espeak-ng or whisper-tiny.en missing",
)


@pytest.fixture(scope="module")
def meeting(shared_user_dir, tmp_path_factory):
    """(path of a two-voice conversation, its reference turns)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LLM_USER_PATH", str(shared_user_dir))
        embedded.ensure_embedded("whisper-tiny.en")
    samples, reference = conversation(TWO_SPEAKER_SETS[0], seed=0, turns=6)
    path = tmp_path_factory.mktemp("meeting") / "meeting.wav"
    path.write_bytes(encode_audio(samples, 16000, "wav"))
    return path, reference


@pytest.fixture(autouse=True)
def shared(shared_user_dir, monkeypatch):
    monkeypatch.setenv("LLM_USER_PATH", str(shared_user_dir))


def transcribe(path, *args):
    return run_llm("transcribe", str(path), "-m", "whisper-tiny.en", "-n", *args)


def changes(reference):
    return sum(1 for a, b in zip(reference, reference[1:], strict=False) if a[2] != b[2]) + 1


@pytest.mark.stock_path
def test_text_is_a_line_per_speaker_turn(meeting):
    path, reference = meeting
    result = transcribe(path, "--diarize")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    speakers = [line.split(":", 1)[0] for line in lines]
    assert speakers[0] == "SPEAKER_1" and set(speakers) == {"SPEAKER_1", "SPEAKER_2"}
    assert all(a != b for a, b in zip(speakers, speakers[1:], strict=False))  # turns alternate
    assert abs(len(lines) - changes(reference)) <= 1, result.stdout


def test_verbose_json_has_a_speaker_on_every_segment_and_word(meeting):
    path, _ = meeting
    result = transcribe(path, "--diarize", "--format", "verbose_json", "--word-timestamps")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["speakers"] == ["SPEAKER_1", "SPEAKER_2"]
    assert data["segments"] and all(s["speaker"] in data["speakers"] for s in data["segments"])
    assert data["words"] and all(w["speaker"] in data["speakers"] for w in data["words"])


def test_subtitles_carry_the_speakers(meeting):
    path, _ = meeting
    srt = transcribe(path, "--diarize", "--format", "srt").stdout
    texts = [block.splitlines()[2] for block in srt.strip().split("\n\n")]
    assert all(re.match(r"SPEAKER_[12]: \S", text) for text in texts), srt
    vtt = transcribe(path, "--speaker-names", "Ana,Ben", "--format", "vtt").stdout
    assert vtt.startswith("WEBVTT") and "<v Ana>" in vtt and "<v Ben>" in vtt and "SPEAKER_" not in vtt


def test_names_replace_the_labels_in_order_of_appearance(meeting):
    path, _ = meeting
    result = transcribe(path, "--speakers", "2", "--speaker-names", "Ana,Ben", "--format", "diarized_json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert [s["speaker"] for s in data["segments"]][0] == "Ana"
    assert {s["speaker"] for s in data["segments"]} == {"Ana", "Ben"}
    assert all(set(s) == {"type", "id", "start", "end", "text", "speaker"} for s in data["segments"])


def test_a_diarized_transcript_is_logged_with_its_speakers(meeting, shared_user_dir):
    path, _ = meeting
    result = run_llm("transcribe", str(path), "-m", "whisper-tiny.en", "--diarize")
    assert result.exit_code == 0, result.stderr
    logged = json.loads(run_llm("logs", "--json", "-n", "1").stdout)[0]
    assert logged["response"].startswith("SPEAKER_1: ") and "\nSPEAKER_2: " in logged["response"]


def test_the_diarized_fragment_lets_a_model_see_who_said_what(meeting, shared_user_dir):
    pytest.importorskip("llm_echo")
    path, _ = meeting
    run_llm("audio", "default", "transcription", "whisper-tiny.en")
    result = llm_subprocess(
        "-m", "echo", "-f", f"transcript_diarized:{path}", "who asked for the report?", "-n",
        env={"LLM_USER_PATH": str(shared_user_dir), "HF_HUB_OFFLINE": "1"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    prompt = json.loads(result.stdout)["prompt"]
    assert "SPEAKER_1: " in prompt and "SPEAKER_2: " in prompt


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--speakers", "0"], "Error: --speakers must be a whole number from 1 to 20, not '0'"),
        (["--speakers", "two"], "Error: --speakers must be a whole number from 1 to 20, not 'two'"),
        (["--speakers", "2", "--speaker-names", "a,b,c"], "Error: 3 speaker names were given for 2 speakers"),
    ],
)
def test_bad_speaker_options_are_one_line(meeting, args, message):
    path, _ = meeting
    result = llm_subprocess("transcribe", str(path), "-m", "whisper-tiny.en", *args)
    assert result.returncode == 1
    assert result.stderr.decode().strip().splitlines() == [message]


def test_silence_diarized_is_an_empty_transcript(tmp_path):
    import numpy as np

    quiet = tmp_path / "quiet.wav"
    quiet.write_bytes(encode_audio(np.zeros(16000 * 3, np.float32), 16000, "wav"))
    result = transcribe(quiet, "--diarize")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    data = json.loads(transcribe(quiet, "--diarize", "--format", "diarized_json").stdout)
    assert data["segments"] == [] and data["text"] == ""
