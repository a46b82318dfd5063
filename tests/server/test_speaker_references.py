"""known_speaker_names[] with known_speaker_references[] on /v1/audio/transcriptions, through
the openai client: speakers named by voice, not by order (issue 26).

Real voices (tests/real_conversations.py): Allison, June and Carlo in a meeting made of
other prompts than the 6-8 s reference clips; June and Allison are given, in the
opposite order to the one they speak in, and Carlo not at all. Whisper tiny.en and the
GE2E encoder on the server.
"""

import base64

import numpy as np
import pytest
from enrolled_voices import reference_clip
from real_conversations import HAVE_REAL_VOICES, conversation

from llm_mlx_audio.audio.encode import encode_audio
from llm_mlx_audio.engine import embedded

pytestmark = pytest.mark.skipif(
    not (HAVE_REAL_VOICES and embedded.available("whisper-tiny.en")),
    reason="Asterisk's core sounds or whisper-tiny.en missing",
)
openai = pytest.importorskip("openai")


def data_url(samples):
    return "data:audio/wav;base64," + base64.b64encode(encode_audio(samples, 16000, "wav")).decode()


@pytest.fixture(scope="module")
def meeting(shared_user_dir):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LLM_USER_PATH", str(shared_user_dir))
        embedded.ensure_embedded("whisper-tiny.en")
    samples, reference = conversation(("allison", "june", "carlo"), seed=3, turns=6, held_out=True)
    first = [v for _, _, v in reference]
    given = sorted({"allison", "june"}, key=first.index, reverse=True)  # not in order of appearance
    return encode_audio(samples, 16000, "wav"), reference, given


@pytest.fixture(scope="module")
def named(meeting, base_url):
    audio, _, given = meeting
    client = openai.OpenAI(base_url=base_url + "/v1", api_key="unused", max_retries=0, timeout=300)
    result = client.audio.transcriptions.create(
        model="whisper-tiny.en",
        file=("meeting.wav", audio),
        response_format="diarized_json",
        extra_body={
            "known_speaker_names[]": [v.title() for v in given],
            "known_speaker_references[]": [data_url(reference_clip(v)) for v in given],
        },
    )
    return result.to_dict()


def test_the_given_names_go_to_their_voices_whatever_their_order(named, meeting):
    _, reference, _ = meeting
    names = {"allison": "Allison", "june": "June"}
    speakers = {s["speaker"] for s in named["segments"]}
    assert {"Allison", "June"} <= speakers and len(speakers - {"Allison", "June"}) == 1
    (unnamed,) = speakers - {"Allison", "June"}
    assert unnamed.startswith("SPEAKER_")
    for voice in ("allison", "june", "carlo"):
        name = names.get(voice, unnamed)
        overlaps = [
            (max(0.0, min(e, seg["end"]) - max(s, seg["start"])), seg["speaker"] == name)
            for s, e, v in reference
            if v == voice
            for seg in named["segments"]
        ]
        said = sum(seconds for seconds, _ in overlaps)
        assert said > 1 and sum(t for t, right in overlaps if right) / said >= 0.9, (voice, overlaps)


def test_the_answer_carries_each_speakers_match_score(named):
    matches = named["speaker_matches"]
    assert matches["Allison"]["name"] == "Allison" and matches["Allison"]["score"] >= 0.88
    assert matches["June"]["name"] == "June" and matches["June"]["score"] >= 0.88
    unnamed = [m for label, m in matches.items() if label.startswith("SPEAKER_")]
    assert len(unnamed) == 1 and unnamed[0]["name"] is None and unnamed[0]["score"] < 0.88


def bad_request(client, audio, names, references):
    with pytest.raises(openai.BadRequestError) as raised:
        client.audio.transcriptions.create(
            model="whisper-tiny.en",
            file=("meeting.wav", audio),
            response_format="diarized_json",
            extra_body={"known_speaker_names[]": names, "known_speaker_references[]": references},
        )
    return raised.value.body


@pytest.mark.parametrize(
    ("names", "references", "message"),
    [
        (["Ana", "Ben"], ["{clip}"], "1 known_speaker_references were given for 2 known_speaker_names: give one clip per name"),
        (["Ana"], ["https://example.com/ana.wav"], "known_speaker_references[0] is not a data URL (data:audio/wav;base64,...)"),
        (["Ana"], ["data:audio/wav;base64,@@@"], "known_speaker_references[0] is not valid base64"),
        (["Ana", "Ben"], ["{clip}", "{short}"], "known_speaker_references[1] is 1.0 s long; a clip must be 2 to 10 s"),
        (["Ana"], ["{long}"], "known_speaker_references[0] is longer than 10 s"),
        (["Ana"], ["{silence}"], "known_speaker_references[0] holds no speech"),
    ],
)  # fmt: skip
def test_a_bad_reference_is_a_400_naming_the_field(client, meeting, names, references, message):
    clip = reference_clip("allison")
    clips = {
        "clip": data_url(clip),
        "short": data_url(clip[:16000]),
        "long": data_url(np.concatenate([clip, clip])),
        "silence": data_url(np.zeros(16000 * 3, np.float32)),
    }
    body = bad_request(client, meeting[0], names, [r.format(**clips) for r in references])
    assert body["message"] == message and body["param"] == "known_speaker_references[]", body


def test_voices_enrolled_on_this_machine_are_named_unless_enrolled_speakers_is_false(client, meeting):
    from llm_mlx_audio import registry
    from llm_mlx_audio.speakers import enrolled

    clip = reference_clip("allison")
    ((vector, windows),) = registry.voice_vectors([clip])
    enrolled.add("Allison", vector, windows)
    audio = encode_audio(clip, 16000, "wav")
    answers = [
        client.audio.transcriptions.create(
            model="whisper-tiny.en", file=("a.wav", audio), response_format="diarized_json", extra_body=extra
        ).to_dict()
        for extra in ({}, {"enrolled_speakers": "false"})
    ]
    assert {s["speaker"] for s in answers[0]["segments"]} == {"Allison"}
    assert answers[0]["speaker_matches"]["Allison"]["score"] >= 0.88
    assert {s["speaker"] for s in answers[1]["segments"]} == {
        "SPEAKER_1"
    } and "speaker_matches" not in answers[1]
