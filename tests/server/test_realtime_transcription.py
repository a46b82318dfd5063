"""/v1/realtime transcription sessions, driven by the openai SDK's own realtime client.

The server runs the real Whisper base (from its PyPI wheels) and the shipped VAD; the
audio is espeak-ng speech sent as 24 kHz pcm16 in 100-ms appends, as a microphone
client sends it. Nothing here is mocked: a wrong event order, a lost utterance or a
garbled transcript fails.
"""

import base64
import concurrent.futures
import json

import numpy as np
import pytest
from server_helpers import API_KEY, start_server
from spoken_clips import HAVE_ESPEAK, with_pauses

openai = pytest.importorskip("openai")
websockets = pytest.importorskip("websockets")
pytestmark = [
    pytest.mark.skipif(not HAVE_ESPEAK, reason="espeak-ng is a test requirement"),
    # The SDK's own sync client opens its socket without a context manager (openai 3.57).
    pytest.mark.filterwarnings("ignore:connect\\(\\) must be used as a context manager:DeprecationWarning"),
]

FIRST = "Good morning, how are you today?"
SECOND = "Please send the report tomorrow morning."


@pytest.fixture(scope="module")
def real_whisper(shared_user_dir, whisper_base):
    import llm  # noqa: F401

    from llm_mlx_audio import catalog
    from llm_mlx_audio.engine.importing import import_model

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LLM_USER_PATH", str(shared_user_dir))
        patch.setenv("HF_HUB_OFFLINE", "1")
        import_model(whisper_base, name="whisper-base")
        catalog.set_default("transcription", "whisper-base")
    return "whisper-base"


@pytest.fixture(scope="module")
def servers(real_whisper):
    open_url, stop_open = start_server()
    locked_url, stop_locked = start_server(api_key=API_KEY)
    yield {"open": open_url, "locked": locked_url}
    stop_open()
    stop_locked()


@pytest.fixture
def user_dir(shared_user_dir, monkeypatch):
    monkeypatch.setenv("LLM_USER_PATH", str(shared_user_dir))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return shared_user_dir


def two_utterances(rate=24000):
    """FIRST, 1.2 s of silence, SECOND, then 1.5 s of silence, as 24 kHz pcm16 bytes."""
    from llm_mlx_audio.audio.resampling import StreamResampler

    samples, spans = with_pauses([0.5, FIRST, 1.2, SECOND, 1.5])
    resample = StreamResampler(16000, rate)
    resampled = np.concatenate([resample(samples), resample(None)])
    return (np.clip(resampled, -1, 1) * 32767).astype("<i2").tobytes(), spans


def chunks(pcm: bytes, rate=24000, ms=100):
    size = rate * 2 * ms // 1000
    return [pcm[i : i + size] for i in range(0, len(pcm), size)]


def words(text):
    return [w.strip(".,!?").lower() for w in text.split()]


def session_update(turn_detection=None):
    input_audio = {
        "format": {"type": "audio/pcm", "rate": 24000},
        "transcription": {"model": "whisper-1", "language": "en"},
        "turn_detection": turn_detection or {"type": "server_vad", "silence_duration_ms": 500},
    }
    return {"type": "transcription", "audio": {"input": input_audio}}


def run_two_utterances(url, api_key="unused"):
    """The events of a session that streams the two utterances, until both are transcribed."""
    client = openai.OpenAI(base_url=url + "/v1", api_key=api_key, max_retries=0)
    events = []
    with client.realtime.connect(model="whisper-1") as connection:
        connection.session.update(session=session_update())
        pcm, _spans = two_utterances()
        for chunk in chunks(pcm):
            connection.input_audio_buffer.append(audio=base64.b64encode(chunk).decode())
        completed = 0
        for event in connection:
            events.append(event)
            if event.type == "error":
                raise AssertionError(event.error)
            if event.type == "conversation.item.input_audio_transcription.completed":
                completed += 1
                if completed == 2:
                    break
    return events


def test_a_stream_of_two_utterances_is_transcribed_in_order_with_speech_started_and_stopped(
    servers, user_dir
):
    events = run_two_utterances(servers["open"])
    kinds = [e.type for e in events]
    assert kinds[0] == "session.created"
    assert kinds[1] == "session.updated"
    assert events[1].session.type == "transcription"
    started = [e for e in events if e.type == "input_audio_buffer.speech_started"]
    stopped = [e for e in events if e.type == "input_audio_buffer.speech_stopped"]
    committed = [e for e in events if e.type == "input_audio_buffer.committed"]
    done = [e for e in events if e.type == "conversation.item.input_audio_transcription.completed"]
    assert len(started) == len(stopped) == len(committed) == len(done) == 2
    # The same item from speech_started to its transcript, and the items in order.
    assert [e.item_id for e in started] == [e.item_id for e in stopped] == [e.item_id for e in done]
    assert committed[1].previous_item_id == committed[0].item_id
    for item in (e.item_id for e in done):
        order = [k for k, e in zip(kinds, events, strict=True) if getattr(e, "item_id", None) == item]
        assert order.index("input_audio_buffer.speech_started") < order.index(
            "input_audio_buffer.speech_stopped"
        )
        assert order[-1] == "conversation.item.input_audio_transcription.completed"
    _, spans = two_utterances()
    for event, (start, _end) in zip(started, spans, strict=True):
        assert abs(event.audio_start_ms - start * 1000) < 600  # the VAD's padding is 300 ms
    for event, (_start, end) in zip(stopped, spans, strict=True):
        assert 0 <= event.audio_end_ms - end * 1000 < 1200  # the silence it waits for, and padding
    first, second = (words(e.transcript) for e in done)
    assert {"good", "morning", "today"} <= set(first)
    assert {"please", "report", "tomorrow", "morning"} <= set(second)
    deltas = [e for e in events if e.type == "conversation.item.input_audio_transcription.delta"]
    assert (
        "".join(e.delta for e in deltas if e.item_id == done[0].item_id).strip() == done[0].transcript.strip()
    )


def test_four_sessions_at_once_all_complete(servers, user_dir):
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: run_two_utterances(servers["open"]), range(4)))
    for events in results:
        done = [e.transcript for e in events if e.type.endswith("transcription.completed")]
        assert len(done) == 2
        assert "morning" in words(done[0]) and "report" in words(done[1])


def test_a_wrong_key_is_refused_and_the_right_one_is_served(servers, user_dir):
    with pytest.raises(websockets.exceptions.InvalidStatus):
        client = openai.OpenAI(base_url=servers["locked"] + "/v1", api_key="wrong", max_retries=0)
        with client.realtime.connect(model="whisper-1") as connection:
            connection.recv()
    events = run_two_utterances(servers["locked"], api_key=API_KEY)
    assert sum(e.type.endswith("transcription.completed") for e in events) == 2


def test_the_browser_key_subprotocol_is_taken_and_realtime_is_chosen(servers, user_dir):
    from websockets.sync.client import connect

    url = servers["locked"].replace("http", "ws") + "/v1/realtime?intent=transcription"
    protocols = ["realtime", f"openai-insecure-api-key.{API_KEY}"]
    with connect(url, subprotocols=protocols, origin=None) as socket:
        assert socket.subprotocol == "realtime"
        first = json.loads(socket.recv(timeout=30))
        assert first["type"] == "transcription_session.created"


def raw_session(url):
    from websockets.sync.client import connect

    return connect(url.replace("http", "ws") + "/v1/realtime?intent=transcription")


def send_and_read(socket, message, until):
    socket.send(json.dumps(message) if isinstance(message, dict) else message)
    while True:
        event = json.loads(socket.recv(timeout=120))
        if event["type"] in until:
            return event


def test_bad_events_get_error_events_naming_them_and_the_socket_stays_open(servers, user_dir):
    with raw_session(servers["open"]) as socket:
        socket.recv(timeout=30)  # transcription_session.created
        cases = [
            ("not json", "invalid_json", None),
            ({"type": "input_audio_buffer.append", "audio": "%%%"}, "invalid_value", "audio"),
            (
                {"type": "input_audio_buffer.append", "audio": base64.b64encode(b"abc").decode()},
                None,
                "audio",
            ),
            (
                {"type": "input_audio_buffer.commit", "event_id": "mine"},
                "input_audio_buffer_commit_empty",
                None,
            ),
            ({"type": "response.make_coffee"}, "unknown_event", "type"),
            (
                {
                    "type": "session.update",
                    "session": {"audio": {"input": {"format": {"type": "audio/pcmu"}}}},
                },
                "unsupported_format",
                "session.audio.input.format",
            ),
            (
                {
                    "type": "session.update",
                    "session": {"audio": {"input": {"turn_detection": {"threshold": 7}}}},
                },
                None,
                "session.audio.input.turn_detection.threshold",
            ),
            (
                {
                    "type": "transcription_session.update",
                    "session": {"input_audio_transcription": {"model": "no-such-model"}},
                },
                "unknown_model",
                "session.audio.input.transcription.model",
            ),
        ]
        for message, code, param in cases:
            event = send_and_read(socket, message, ("error",))
            if code:
                assert event["error"]["code"] == code, event
            if param:
                assert event["error"]["param"] == param, event
            assert event["error"]["message"]
        assert event["error"]["event_id"] is None
        mine = send_and_read(socket, {"type": "input_audio_buffer.commit", "event_id": "mine"}, ("error",))
        assert mine["error"]["event_id"] == "mine"
        # Still open and working.
        assert send_and_read(socket, {"type": "input_audio_buffer.clear"}, ("input_audio_buffer.cleared",))


def test_manual_commits_without_turn_detection_are_transcribed(servers, user_dir):
    with raw_session(servers["open"]) as socket:
        socket.recv(timeout=30)
        update = {"type": "transcription_session.update", "session": {"turn_detection": None}}
        updated = send_and_read(socket, update, ("transcription_session.updated",))
        assert updated["session"]["audio"]["input"]["turn_detection"] is None
        pcm, _ = two_utterances()
        half = len(pcm) // 2 // 2 * 2
        for part in (pcm[:half], pcm[half:]):
            socket.send(
                json.dumps({"type": "input_audio_buffer.append", "audio": base64.b64encode(part).decode()})
            )
        committed = send_and_read(
            socket, {"type": "input_audio_buffer.commit"}, ("input_audio_buffer.committed",)
        )
        done = send_and_read(
            socket,
            {"type": "input_audio_buffer.clear"},
            ("conversation.item.input_audio_transcription.completed",),
        )
        assert done["item_id"] == committed["item_id"]
        heard = set(words(done["transcript"]))
        assert {"morning", "report"} <= heard
