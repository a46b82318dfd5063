"""`llm audio speakers` and `llm transcribe --diarize` naming enrolled voices, through the real llm CLI.

Real voices (tests/real_conversations.py): Allison is enrolled from a clip of her
enrolment prompts, June from her speech in another diarized recording (--from ...
--speaker); Carlo is never enrolled. The meeting (the three of them, other prompts)
is transcribed once by Whisper tiny.en for the module.
"""

import json

import numpy as np
import pytest
from llm_runner import run_llm
from real_conversations import HAVE_REAL_VOICES, conversation, enrolment_clip

from llm_mlx_audio.audio.encode import encode_audio
from llm_mlx_audio.engine import embedded

pytestmark = pytest.mark.skipif(
    not (HAVE_REAL_VOICES and embedded.available("whisper-tiny.en")),
    reason="Asterisk's core sounds or whisper-tiny.en missing",
)
MEETING = ("allison", "june", "carlo")


def wav(path, samples):
    path.write_bytes(encode_audio(samples, 16000, "wav"))
    return path


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("voices")
    meeting, reference = conversation(MEETING, seed=3, turns=6, held_out=True)
    other, other_reference = conversation(("june", "ivr"), seed=5, turns=6, held_out=True)
    return {
        "allison": wav(folder / "allison.wav", enrolment_clip("allison")),
        "other": wav(folder / "other.wav", other),
        "june_label": f"SPEAKER_{1 if other_reference[0][2] == 'june' else 2}",
        "meeting": wav(folder / "meeting.wav", meeting),
        "reference": reference,
        "silence": wav(folder / "silence.wav", np.zeros(16000 * 3, np.float32)),
    }


@pytest.fixture(scope="module")
def enrolled(shared_user_dir, files):
    """(stderr of each `add`) with Allison and June enrolled in the module's user directory."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LLM_USER_PATH", str(shared_user_dir))
        embedded.ensure_embedded("whisper-tiny.en")
        added = [
            run_llm("audio", "speakers", "add", "Allison", str(files["allison"])),
            run_llm("audio", "speakers", "add", "June", "--from", str(files["other"]), "--speaker", files["june_label"]),
        ]  # fmt: skip
    assert all(r.exit_code == 0 for r in added), [r.stderr for r in added]
    return [r.stderr for r in added]


@pytest.fixture(scope="module")
def named(enrolled, shared_user_dir, files):
    """verbose_json of the meeting, enrolled voices named, --speaker-names for the rest (logged)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LLM_USER_PATH", str(shared_user_dir))
        result = run_llm(
            "transcribe", str(files["meeting"]), "-m", "whisper-tiny.en", "--diarize",
            "--speaker-names", "Carl", "--format", "verbose_json",
        )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture
def shared(shared_user_dir, monkeypatch):
    monkeypatch.setenv("LLM_USER_PATH", str(shared_user_dir))


def test_adding_says_what_was_enrolled_and_from_what(enrolled, files):
    assert enrolled[0].startswith("Enrolled Allison from 1 clip (") and "windows of speech)" in enrolled[0]
    assert enrolled[1].startswith(f"Enrolled June from {files['june_label']} of ")


def test_list_shows_the_enrolled_names_without_their_vectors(enrolled, shared):
    rows = json.loads(run_llm("audio", "speakers", "list", "--json").stdout)
    assert [row["name"] for row in rows] == ["Allison", "June"]
    assert all(set(row) == {"name", "windows", "created", "updated"} and row["windows"] > 10 for row in rows)
    assert run_llm("audio", "speakers", "list").stdout.startswith("Allison (")


def test_enrolled_voices_are_named_and_the_others_take_the_speaker_names(named):
    assert sorted(named["speakers"]) == ["Allison", "Carl", "June"]
    matches = named["speaker_matches"]
    assert matches["Allison"]["name"] == "Allison" and matches["Allison"]["score"] >= 0.88
    assert matches["June"]["name"] == "June" and matches["June"]["score"] >= 0.88
    assert (
        matches["Carl"]["name"] is None and matches["Carl"]["score"] < 0.88 and "nearest" in matches["Carl"]
    )


def test_the_speech_of_each_voice_is_transcribed_under_its_right_name(named, files):
    names = {"allison": "Allison", "june": "June", "carlo": "Carl"}
    for voice, name in names.items():
        overlaps = [
            (max(0.0, min(e, seg["end"]) - max(s, seg["start"])), seg["speaker"] == name)
            for s, e, v in files["reference"]
            if v == voice
            for seg in named["segments"]
        ]
        said = sum(seconds for seconds, _ in overlaps)
        right = sum(seconds for seconds, is_right in overlaps if is_right)
        assert said > 1 and right / said >= 0.9, (voice, right, said)


def test_the_log_keeps_the_names_and_scores(named, shared):
    logged = json.loads(run_llm("logs", "--json", "-n", "1").stdout)[0]
    transcript = logged["response_json"]["transcripts"][0]
    assert sorted(transcript["speakers"]) == ["Allison", "Carl", "June"]
    assert transcript["speaker_matches"]["June"]["name"] == "June"
    assert "speaker_vectors" not in transcript


def test_no_enrolled_speakers_leaves_every_speaker_numbered(enrolled, shared, files):
    args = ["transcribe", str(files["allison"]), "-m", "whisper-tiny.en", "-n", "--diarize"]
    result = run_llm(*args, "--no-enrolled-speakers", "--format", "diarized_json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert {s["speaker"] for s in data["segments"]} == {"SPEAKER_1"} and "speaker_matches" not in data


def test_adding_to_a_name_extends_it_renaming_and_removing_work(shared_user_dir, files, monkeypatch):
    monkeypatch.setenv("LLM_USER_PATH", str(shared_user_dir))
    run_llm("audio", "speakers", "add", "Al", str(files["allison"]))
    again = run_llm("audio", "speakers", "add", "Al", str(files["allison"]))
    assert (
        again.exit_code == 0 and again.stderr.startswith("Extended Al with ") and "averaged" in again.stderr
    )
    assert run_llm("audio", "speakers", "rename", "Al", "Alli").exit_code == 0
    assert run_llm("audio", "speakers", "remove", "Alli").stderr == "Removed Alli\n"
    names = [row["name"] for row in json.loads(run_llm("audio", "speakers", "list", "--json").stdout)]
    assert "Al" not in names and "Alli" not in names


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["remove", "Nobody"], "Error: No voice is enrolled as 'Nobody'; enrolled: Allison, June"),
        (["rename", "Nobody", "X"], "Error: No voice is enrolled as 'Nobody'; enrolled: Allison, June"),
        (["rename", "June", "Allison"], "Error: A voice is already enrolled as Allison; remove it first"),
        (["add", "X", "missing.wav"], "Error: missing.wav: no such file"),
        (["add", "X"], "Error: Give one or more clips of the voice, or --from RECORDING --speaker LABEL"),
        (["add", "X", "--from", "{other}"], "Error: --from and --speaker go together: --from meeting.m4a --speaker SPEAKER_2"),
        (["add", "X", "--from", "{other}", "--speaker", "SPEAKER_9"], "Error: {other} has no speaker SPEAKER_9; it has SPEAKER_1, SPEAKER_2"),
        (["add", "X", "{silence}"], "Error: {silence}: no speech found in it"),
    ],
)  # fmt: skip
def test_mistakes_are_one_line(enrolled, shared, files, args, message):
    args = [a.format(**files) for a in args]
    result = run_llm("audio", "speakers", *args)
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [message.format(**files)]
