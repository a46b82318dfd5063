"""OpenAI's current transcription API on the real Whisper base: stream=true, names, fields, shapes.

The openai SDK (3.57) is the client throughout: its stream=True reader, its multipart
spelling of include[] and chunking_strategy, its verbose_json types. The speech is
espeak-ng's, long enough for two VAD windows so that a streamed answer has something
to stream before the end.
"""

import json

import httpx
import pytest
from spoken_clips import HAVE_ESPEAK, with_pauses

openai = pytest.importorskip("openai")
pytestmark = pytest.mark.skipif(not HAVE_ESPEAK, reason="espeak-ng is a test requirement")

SENTENCES = [
    "The quarterly report is due on Friday morning.",
    "Please ask the design team for the final drawings.",
    "We will meet again next week to review the budget.",
    "The new office opens in the spring of next year.",
    "Remember to back up the files before the upgrade.",
    "Lunch will be served in the main hall at noon.",
]


@pytest.fixture(scope="module")
def base_url(whisper_base_url):
    return whisper_base_url


@pytest.fixture
def client(base_url, shared_user_dir, monkeypatch):
    monkeypatch.setenv("LLM_USER_PATH", str(shared_user_dir))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return openai.OpenAI(base_url=base_url + "/v1", api_key="unused", max_retries=0, timeout=300)


def wav(parts) -> bytes:
    import io
    import wave

    import numpy as np

    samples, _ = with_pauses(parts)
    out = io.BytesIO()
    with wave.open(out, "wb") as file:
        file.setnchannels(1)
        file.setsampwidth(2)
        file.setframerate(16000)
        file.writeframes((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())
    return out.getvalue()


@pytest.fixture(scope="module")
def long_clip():
    """About 48 s: twelve sentences with 1.5-s pauses, more than one 30-s Whisper window holds."""
    parts = [0.5]
    for sentence in SENTENCES * 2:
        parts += [sentence, 1.5]
    return wav(parts)


@pytest.fixture(scope="module")
def short_clip():
    return wav([0.3, "Good morning, how are you today?", 0.5])


def words(text):
    return [w.strip(".,!?").lower() for w in text.split()]


def test_sdk_stream_true_gets_a_delta_per_decoded_batch_then_the_whole_text(client, long_clip):
    stream = client.audio.transcriptions.create(
        model="gpt-4o-transcribe",
        file=("meeting.wav", long_clip),
        stream=True,
        extra_body={"batch_size": 1},
    )
    events = list(stream)
    kinds = [event.type for event in events]
    assert kinds[-1] == "transcript.text.done" and kinds.count("transcript.text.done") == 1
    deltas = [event.delta for event in events if event.type == "transcript.text.delta"]
    assert len(deltas) >= 2, kinds  # one batch of one window each: the text comes in pieces
    done = events[-1]
    assert "".join(deltas) == done.text
    assert done.usage.type == "tokens" and done.usage.output_tokens > 0 and done.usage.input_tokens > 0
    heard = words(done.text)
    assert sum(w in heard for w in words(" ".join(SENTENCES))) >= 0.8 * len(words(" ".join(SENTENCES)))
    plain = client.audio.transcriptions.create(
        model="whisper-1", file=("meeting.wav", long_clip), extra_body={"batch_size": 1}
    )
    assert plain.text == done.text


def test_stream_of_a_diarized_transcript_sends_segments_with_speakers(client, short_clip):
    stream = client.audio.transcriptions.create(
        model="gpt-4o-transcribe-diarize",
        file=("clip.wav", short_clip),
        response_format="diarized_json",
        stream=True,
    )
    events = list(stream)
    segments = [event for event in events if event.type == "transcript.text.segment"]
    assert segments and all(event.speaker.startswith("SPEAKER_") for event in segments)
    assert events[-1].type == "transcript.text.done"
    assert "morning" in words(events[-1].text)


def test_diarize_model_name_means_diarized_output_as_json(base_url, client, short_clip):
    response = httpx.post(
        base_url + "/v1/audio/transcriptions",
        files={"file": ("clip.wav", short_clip)},
        data={"model": "gpt-4o-transcribe-diarize", "response_format": "diarized_json"},
        timeout=300,
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    segments = response.json()["segments"]
    assert segments and all(segment["speaker"] for segment in segments)
    verbose = client.audio.transcriptions.create(
        model="gpt-4o-transcribe-diarize-2025-12-15",
        file=("clip.wav", short_clip),
        response_format="verbose_json",
    )
    assert all(segment.model_extra.get("speaker") for segment in verbose.segments)


def test_verbose_json_segments_carry_every_field_openai_has(client, short_clip):
    from openai.types.audio import TranscriptionSegment

    verbose = client.audio.transcriptions.create(
        model="gpt-4o-mini-transcribe-2025-12-15",
        file=("clip.wav", short_clip),
        response_format="verbose_json",
    )
    assert verbose.segments
    for segment in verbose.segments:
        raw = segment.model_dump()
        assert set(TranscriptionSegment.model_fields) <= set(raw), set(
            TranscriptionSegment.model_fields
        ) - set(raw)
        assert segment.tokens and segment.avg_logprob < 0 and 0 <= segment.no_speech_prob <= 1
        assert segment.compression_ratio > 0 and segment.seek == int(round(segment.start * 100))


def test_chunking_strategy_as_the_sdk_sends_it_sets_the_vad(client, short_clip):
    for strategy in ("auto", {"type": "server_vad", "threshold": 0.4, "silence_duration_ms": 500}):
        text = client.audio.transcriptions.create(
            model="whisper-1", file=("clip.wav", short_clip), chunking_strategy=strategy
        ).text
        assert "morning" in words(text)


def test_fields_that_cannot_be_honoured_get_a_400_naming_them(client, base_url, short_clip):
    with pytest.raises(openai.BadRequestError) as refused:
        client.audio.transcriptions.create(
            model="whisper-1", file=("clip.wav", short_clip), include=["logprobs"]
        )
    assert refused.value.body["param"] == "include[]"
    with pytest.raises(openai.BadRequestError) as refused:
        client.audio.transcriptions.create(
            model="whisper-1", file=("clip.wav", short_clip), extra_body={"hotwords": "kubectl"}
        )
    assert refused.value.body["param"] == "hotwords"
    with pytest.raises(openai.BadRequestError) as refused:
        client.audio.transcriptions.create(
            model="whisper-1", file=("clip.wav", short_clip), response_format="srt", stream=True
        )
    assert refused.value.body["param"] == "stream"
    bad_strategy = httpx.post(
        base_url + "/v1/audio/transcriptions",
        files={"file": ("clip.wav", short_clip)},
        data={"chunking_strategy": json.dumps({"type": "semantic_vad"})},
    )
    assert bad_strategy.status_code in (400, 422)
    assert bad_strategy.json()["error"]["param"] == "chunking_strategy"


def test_a_bad_upload_with_stream_true_still_gets_its_status(client):
    with pytest.raises(openai.BadRequestError) as refused:
        client.audio.transcriptions.create(
            model="whisper-1", file=("clip.wav", b"not audio at all"), stream=True
        )
    assert refused.value.body["param"] == "file"
