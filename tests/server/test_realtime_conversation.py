"""/v1/realtime conversation sessions answered by an llm model (llm-echo), through the openai SDK.

llm-echo answers with the prompt it got, as JSON, so what the user said can be found in
the answer's transcript. Speech out is tiny-kitten's (noise, but real pcm16 from the real
synthesis path); speech in is espeak-ng's, heard by the real Whisper base.
"""

import base64
import json

import numpy as np
import pytest
from spoken_clips import HAVE_ESPEAK, with_pauses

openai = pytest.importorskip("openai")
pytest.importorskip("websockets")
pytest.importorskip("llm_echo")
pytestmark = [
    pytest.mark.skipif(not HAVE_ESPEAK, reason="espeak-ng is a test requirement"),
    pytest.mark.filterwarnings("ignore:connect\\(\\) must be used as a context manager:DeprecationWarning"),
]


@pytest.fixture(scope="module")
def url(whisper_base_url):
    return whisper_base_url


@pytest.fixture
def connect(url, shared_user_dir, monkeypatch):
    monkeypatch.setenv("LLM_USER_PATH", str(shared_user_dir))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    client = openai.OpenAI(base_url=url + "/v1", api_key="unused", max_retries=0)
    return lambda **options: client.realtime.connect(model="echo", **options)


def until(connection, kind, events=None):
    """Events up to and including the first of kind (an error event fails the test)."""
    events = [] if events is None else events
    for event in connection:
        events.append(event)
        if event.type == "error":
            raise AssertionError(event.error)
        if event.type == kind:
            return events
    raise AssertionError(f"the socket closed before {kind}")


def say(connection, text):
    connection.conversation.item.create(
        item={"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}
    )


def pcm16(events) -> np.ndarray:
    data = b"".join(base64.b64decode(e.delta) for e in events if e.type == "response.output_audio.delta")
    return np.frombuffer(data, "<i2")


def logged(count=10):
    """llm's own view of its logs (`llm logs --json`): the exchanges as a user sees them."""
    from click.testing import CliRunner
    from llm.cli import cli

    result = CliRunner().invoke(cli, ["logs", "--json", "-n", str(count)])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_a_text_turn_is_answered_with_speech_and_its_transcript(connect, shared_user_dir):
    with connect() as connection:
        connection.session.update(session={"type": "realtime", "instructions": "Answer briefly."})
        say(connection, "Tell me about the night trains to Vienna.")
        connection.response.create()
        events = until(connection, "response.done")
    kinds = [e.type for e in events]
    assert (
        kinds.index("response.created")
        < kinds.index("response.output_audio.delta")
        < kinds.index("response.done")
    )
    transcript = "".join(e.delta for e in events if e.type == "response.output_audio_transcript.delta")
    assert "night trains to Vienna" in transcript and "Answer briefly." in transcript
    assert len(pcm16(events)) > 24000 // 2  # half a second of 24 kHz pcm16 at least
    done = events[-1]
    assert done.response.status == "completed"
    assert done.response.output[0].content[0].transcript == transcript


def test_a_text_session_gets_text_deltas_and_no_audio(connect):
    with connect() as connection:
        connection.session.update(session={"type": "realtime", "output_modalities": ["text"]})
        say(connection, "Plain text, please.")
        connection.response.create()
        events = until(connection, "response.done")
    text = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert "Plain text, please." in text
    assert not any(e.type == "response.output_audio.delta" for e in events)


def test_speech_is_transcribed_and_answered_without_a_response_create(connect):
    samples, _ = with_pauses([0.4, "Please book a table for two people.", 1.2])
    pcm = (np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes()
    with connect() as connection:
        connection.session.update(
            session={
                "type": "realtime",
                "audio": {
                    "input": {
                        "format": {"type": "audio/pcm", "rate": 16000},
                        "transcription": {"model": "whisper-1"},
                        "turn_detection": {"type": "server_vad", "silence_duration_ms": 500},
                    }
                },
            }
        )
        for start in range(0, len(pcm), 3200):
            connection.input_audio_buffer.append(audio=base64.b64encode(pcm[start : start + 3200]).decode())
        events = until(connection, "response.done")
    heard = [e for e in events if e.type == "conversation.item.input_audio_transcription.completed"]
    assert heard and "table" in heard[0].transcript.lower()
    transcript = "".join(e.delta for e in events if e.type == "response.output_audio_transcript.delta")
    assert "table for two" in transcript.lower()


def test_speech_during_a_response_interrupts_it_and_truncate_cuts_the_logged_turn(connect, shared_user_dir):
    long_prompt = " ".join(f"Sentence number {n} is here." for n in range(60))
    samples, _ = with_pauses([0.2, "Stop, wait a moment.", 1.0])
    pcm = (np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes()
    with connect() as connection:
        connection.session.update(
            session={
                "type": "realtime",
                "audio": {"input": {"format": {"type": "audio/pcm", "rate": 16000}}},
            }
        )
        say(connection, long_prompt)
        connection.response.create()
        events = until(connection, "response.output_audio.delta")
        item = events[-1].item_id
        for start in range(0, len(pcm), 3200):
            connection.input_audio_buffer.append(audio=base64.b64encode(pcm[start : start + 3200]).decode())
        # As a player does: on speech_started it stops playing and says how much was heard.
        events = until(connection, "input_audio_buffer.speech_started", events)
        connection.send(
            {"type": "conversation.item.truncate", "item_id": item, "content_index": 0, "audio_end_ms": 1}
        )
        events = until(connection, "response.done", events)
        assert events[-1].response.status == "cancelled"
        full = "".join(e.delta for e in events if e.type == "response.output_audio_transcript.delta")
        # the interrupting speech is the next turn: answered, which settles (logs) the cut one
        events = until(connection, "response.done")
        # Logged once the next answer is done (a late truncate still counts), before its response.done.
        first_answer = [entry for entry in logged() if "Sentence number 59" in (entry.get("prompt") or "")]
    assert first_answer, "the interrupted exchange was not logged"
    assert first_answer[-1]["model"] == "echo"
    assert len(first_answer[-1]["response"]) < len(full)
    assert "Sentence number 59" not in first_answer[-1]["response"]


def test_bad_conversation_events_get_error_events(connect):
    with connect() as connection:
        connection.session.update(session={"type": "realtime"})
        connection.response.create()  # nothing said yet
        events = until_error(connection)
        assert events[-1].error.code == "no_input"
        connection.session.update(session={"type": "realtime", "model": "no-such-llm-model"})
        assert until_error(connection)[-1].error.param == "session.model"
        connection.send(
            {
                "type": "conversation.item.truncate",
                "item_id": "item_nope",
                "content_index": 0,
                "audio_end_ms": 5,
            }
        )
        assert until_error(connection)[-1].error.code == "item_truncate_invalid_item_id"


def until_error(connection):
    events = []
    for event in connection:
        events.append(event)
        if event.type == "error":
            return events
    raise AssertionError("no error event")


def test_the_sessions_llm_tools_are_called_by_name(connect):
    from importlib.metadata import version

    asked = json.dumps({"prompt": "Which version is this?", "tool_calls": [{"name": "llm_version"}]})
    with connect() as connection:
        connection.session.update(
            session={
                "type": "realtime",
                "output_modalities": ["text"],
                "tools": [{"type": "function", "name": "llm_version"}],
            }
        )
        say(connection, asked)
        connection.response.create()
        events = until(connection, "response.done")
    text = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert version("llm") in text  # the tool's result, echoed back by the model's second turn
