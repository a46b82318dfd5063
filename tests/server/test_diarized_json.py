"""response_format=diarized_json on /v1/audio/transcriptions, through the openai client.

A conversation of two espeak-ng voices; Whisper tiny.en and the GE2E encoder on the
server; known_speaker_names[] name the speakers in order of appearance.
"""

import pytest
from conversations import TWO_SPEAKER_SETS, conversation
from spoken_clips import HAVE_ESPEAK

from llm_mlx_audio.audio.encode import encode_audio
from llm_mlx_audio.engine import embedded

pytestmark = pytest.mark.skipif(
    not (HAVE_ESPEAK and embedded.available("whisper-tiny.en")),
    reason="espeak-ng or whisper-tiny.en missing",
)


@pytest.fixture(scope="module")
def meeting(shared_user_dir):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LLM_USER_PATH", str(shared_user_dir))
        embedded.ensure_embedded("whisper-tiny.en")
    samples, _ = conversation(TWO_SPEAKER_SETS[0], seed=1, turns=5)
    return encode_audio(samples, 16000, "wav")


def test_diarized_json_has_openais_segments_with_speakers(client, meeting):
    result = client.audio.transcriptions.create(
        model="whisper-tiny.en", file=("meeting.wav", meeting), response_format="diarized_json"
    )
    segments = result.segments
    assert segments and {s.speaker for s in segments} == {"SPEAKER_1", "SPEAKER_2"}
    assert segments[0].speaker == "SPEAKER_1"
    assert all(s.type == "transcript.text.segment" and s.end > s.start and s.text for s in segments), [
        (s.start, s.end, s.type) for s in segments
    ]
    assert [s.start for s in segments] == sorted(s.start for s in segments)


def test_known_speaker_names_are_given_in_order_of_appearance(client, meeting):
    result = client.audio.transcriptions.create(
        model="whisper-tiny.en",
        file=("meeting.wav", meeting),
        response_format="diarized_json",
        known_speaker_names=["Ana", "Ben"],
    )
    assert result.segments[0].speaker == "Ana"
    assert {s.speaker for s in result.segments} == {"Ana", "Ben"}


def test_more_names_than_speakers_is_a_400_that_says_so(client, meeting):
    import openai

    with pytest.raises(openai.BadRequestError) as raised:
        client.audio.transcriptions.create(
            model="whisper-tiny.en",
            file=("meeting.wav", meeting),
            response_format="diarized_json",
            known_speaker_names=["Ana", "Ben", "Cy"],
            extra_body={"speakers": 2},
        )
    assert "3 speaker names were given for 2 speakers" in str(raised.value)
