"""Enrolled voices name diarized speakers (issue 26), scored on real voices.

Four voice actors (tests/real_conversations.py) are enrolled from ~20 s of their
enrolment prompts; conversations of two, three and four of them made of other prompts
are diarized, and speakers/matching.py names each speaker. The issue's targets: the
right name on at least 95% of each enrolled voice's speech time, and a voice never
enrolled named on at most 2% of its own. The store itself (speakers/enrolled.py) is
tested on plain vectors.
"""

import json

import numpy as np
import pytest
from enrolled_voices import diarized, enrol, named_shares
from real_conversations import HAVE_REAL_VOICES, THREE_SPEAKER_SETS, TWO_SPEAKER_SETS, VOICES

from llm_mlx_audio.errors import AudioError
from llm_mlx_audio.models import Segment, Transcript
from llm_mlx_audio.speakers import enrolled, rename
from llm_mlx_audio.speakers.matching import match, name_by_voice

real_voices = pytest.mark.skipif(
    not HAVE_REAL_VOICES, reason="Asterisk's core sounds missing (scripts/setup test installs them)"
)
CONVERSATIONS = [(v, 0) for v in TWO_SPEAKER_SETS + THREE_SPEAKER_SETS]
CONVERSATIONS.append((tuple(VOICES), 0))
IDS = [f"{'+'.join(v)}-{seed}" for v, seed in CONVERSATIONS]


@pytest.fixture(scope="module")
def voices(shared_user_dir):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LLM_USER_PATH", str(shared_user_dir))
        return enrol(list(VOICES))


@pytest.fixture(scope="module")
def conversations(voices, shared_user_dir):
    """{(voices, seed): (reference, turns, {speaker: mean vector})}, diarized once for the module."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LLM_USER_PATH", str(shared_user_dir))
        return {(v, seed): diarized(v, seed, turns=12 if len(v) > 2 else 10) for v, seed in CONVERSATIONS}


def shares(conversation, known):
    reference, found, means = conversation
    names = {k: m["name"] for k, m in match(means, known).items() if m["name"]}
    return named_shares(reference, found, names)


@real_voices
@pytest.mark.parametrize(("speakers", "seed"), CONVERSATIONS, ids=IDS)
def test_enrolled_voices_get_their_own_names_for_95_percent_of_their_speech(
    conversations, voices, speakers, seed
):
    found = shares(conversations[(speakers, seed)], voices)
    assert all(right >= 0.95 for right, _ in found.values()), found


@real_voices
@pytest.mark.parametrize(("speakers", "seed"), CONVERSATIONS, ids=IDS)
def test_a_voice_never_enrolled_is_given_an_enrolled_name_for_at_most_2_percent_of_its_speech(
    conversations, voices, speakers, seed
):
    for left_out in speakers:
        known = {name: vector for name, vector in voices.items() if name != left_out}
        found = shares(conversations[(speakers, seed)], known)
        assert found[left_out][1] <= 0.02, (left_out, found)
        assert all(found[v][0] >= 0.95 for v in speakers if v != left_out), (left_out, found)


@real_voices
def test_voices_from_clips_of_2_to_10_seconds_name_95_percent_of_their_speech(conversations, shared_user_dir):
    """known_speaker_references[] clips (about 6-8 s) instead of ~20 s of enrolment speech."""
    from enrolled_voices import reference_clip

    from llm_mlx_audio import registry

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LLM_USER_PATH", str(shared_user_dir))
        found = registry.voice_vectors([reference_clip(v) for v in VOICES])
    short = {voice: vector for voice, (vector, _) in zip(VOICES, found, strict=True)}
    for (speakers, _), conversation in conversations.items():
        for left_out in (None, speakers[0]):
            known = {v: vector for v, vector in short.items() if v != left_out}
            result = shares(conversation, known)
            assert all(result[v][0] >= 0.95 for v in speakers if v != left_out), (speakers, result)
            assert left_out is None or result[left_out][1] <= 0.02, (speakers, result)


@real_voices
def test_a_voice_scores_near_1_against_itself_and_far_lower_against_others(conversations, voices):
    reference, found, means = conversations[(tuple(VOICES), 0)]
    result = match(means, voices)
    scores = [m["score"] for m in result.values()]
    assert sorted(m["name"] for m in result.values()) == sorted(VOICES)
    assert min(scores) >= 0.95, result
    others = [float(np.dot(means[k], voices[n])) for k, m in result.items() for n in voices if n != m["name"]]
    assert max(others) < 0.85, others


def unit(*values):
    vector = np.zeros(256)
    vector[: len(values)] = values
    return vector / np.linalg.norm(vector)


def test_each_name_goes_to_one_speaker_the_best_match_first():
    speakers = {"SPEAKER_1": unit(1, 0.2), "SPEAKER_2": unit(1, 0.1), "SPEAKER_3": unit(0, 1)}
    result = match(speakers, {"Ana": unit(1, 0.1), "Ben": unit(0, 0, 1)})
    assert result["SPEAKER_2"] == {"name": "Ana", "score": 1.0}
    assert result["SPEAKER_1"]["name"] is None and result["SPEAKER_1"]["nearest"] == "Ana"
    assert result["SPEAKER_3"] == {"name": None, "score": 0.1, "nearest": "Ana"}


def test_names_by_voice_come_first_and_speaker_names_fill_in_the_others():
    transcript = Transcript(
        text="a b",
        segments=[Segment(0, 1, "a", speaker="SPEAKER_1"), Segment(1, 2, "b", speaker="SPEAKER_2")],
        speakers=["SPEAKER_1", "SPEAKER_2"],
        speaker_vectors={"SPEAKER_1": unit(1), "SPEAKER_2": unit(0, 1)},
    )
    name_by_voice(transcript, {"Ben": unit(0, 1)})
    rename(transcript, ["Carl"])
    assert [s.speaker for s in transcript.segments] == ["Carl", "Ben"]
    assert transcript.speaker_matches["Ben"] == {"name": "Ben", "score": 1.0}
    assert transcript.speaker_matches["Carl"]["name"] is None
    assert "speaker_vectors" not in transcript.to_dict() and transcript.speaker_vectors


def test_the_store_keeps_only_vectors_and_extends_a_name_by_window_counts():
    entry, extended = enrolled.add("Ana", unit(1), 10)
    assert not extended and entry["windows"] == 10
    entry, extended = enrolled.add(" Ana ", unit(0, 1), 30)
    assert extended and entry["windows"] == 40
    assert np.allclose(entry["vector"], unit(1, 3), atol=1e-5)  # 10 of one, 30 of the other
    data = json.loads(enrolled.path().read_text())
    assert set(data["speakers"]["Ana"]) == {"vector", "windows", "created", "updated"}


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("  ", "A speaker name cannot be empty"),
        ("x" * 65, "A speaker name can have at most 64 characters, not 65"),
        ("Ana\nBen", "The speaker name 'Ana\\nBen' has control characters"),
        ("SPEAKER_3", "SPEAKER_3 is what an unknown speaker is called; choose a person's name"),
        ("Ana,Ben", "The speaker name 'Ana,Ben' has a comma (--speaker-names separates names with them)"),
    ],
)
def test_a_name_that_cannot_name_a_voice_is_refused_in_one_line(name, message):
    with pytest.raises(AudioError) as error:
        enrolled.add(name, unit(1), 3)
    assert str(error.value) == message


def test_a_damaged_store_is_one_line():
    enrolled.path().parent.mkdir(parents=True, exist_ok=True)
    enrolled.path().write_text("{not json")
    with pytest.raises(AudioError, match="is damaged; remove it and enrol again"):
        enrolled.load()
