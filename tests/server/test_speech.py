"""POST /v1/audio/speech through the official openai client: formats, streaming, names, errors."""

import json
import time

import httpx
import openai
import pytest
from server_helpers import MAGIC, SENTENCES, kitten_rate, speak, transcribe

from llm_mlx_audio.audio import decode, encode

# -- speech ---------------------------------------------------------------------------


def test_speech_wav_is_a_riff_file_of_real_audio(client):
    response = speak(client, response_format="wav")
    assert response.response.headers["content-type"] == "audio/wav"
    assert response.content[:4] == b"RIFF" and response.content[8:12] == b"WAVE"
    assert len(decode.decode_audio(response.content, 16000)) > 1600


@pytest.mark.parametrize("fmt", sorted(MAGIC))
def test_speech_in_compressed_formats_decodes_back_to_audio(client, fmt):
    response = speak(client, response_format=fmt)
    assert response.response.headers["content-type"] == encode.MIME_TYPES[fmt]
    assert MAGIC[fmt](response.content)
    assert len(decode.decode_audio(response.content, 16000)) > 1600


def test_speech_pcm_is_raw_16_bit_samples_matching_the_wav(client):
    import numpy as np

    pcm = speak(client, response_format="pcm", input="Same text twice.")
    wav = speak(client, response_format="wav", input="Same text twice.")
    assert pcm.response.headers["content-type"] == "audio/pcm"
    assert pcm.content[:4] != b"RIFF" and len(pcm.content) % 2 == 0
    samples = np.frombuffer(pcm.content, dtype="<i2")
    wav_samples = decode.decode_audio(wav.content, kitten_rate())
    assert abs(len(samples) - len(wav_samples)) <= kitten_rate() // 10


def test_speech_defaults_to_mp3_like_openai(base_url, user_dir):
    response = httpx.post(
        base_url + "/v1/audio/speech", json={"model": "tts-1", "input": "Hi.", "voice": "alloy"}
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "audio/mpeg"
    assert MAGIC["mp3"](response.content)


def test_streamed_speech_arrives_chunked_and_decodes(client):
    with client.audio.speech.with_streaming_response.create(
        model="tts-1", voice="alloy", input=SENTENCES, response_format="wav", stream_format="audio"
    ) as response:
        assert response.headers["content-type"] == "audio/wav"
        assert "content-length" not in response.headers
        chunks = list(response.iter_bytes())
    data = b"".join(chunks)
    assert data[:4] == b"RIFF"
    assert len(decode.decode_audio(data, 16000)) > 3 * 1600


def streamed(client, text, fmt):
    with client.audio.speech.with_streaming_response.create(
        model="tts-1", voice="alloy", input=text, response_format=fmt, stream_format="audio"
    ) as response:
        return response.read()


def test_streamed_mp3_holds_as_much_audio_as_streamed_wav(client):
    # Both streams are cut at the same places; the mp3 encoder must lose nothing at the cuts.
    rate = 16000
    mp3 = decode.decode_audio(streamed(client, SENTENCES, "mp3"), rate)
    wav = decode.decode_audio(streamed(client, SENTENCES, "wav"), rate)
    assert abs(len(mp3) - len(wav)) < rate // 10


def test_sse_speech_stream_sends_base64_deltas_then_done(base_url, user_dir):
    import base64

    body = {
        "model": "tts-1",
        "input": SENTENCES,
        "voice": "alloy",
        "response_format": "wav",
        "stream_format": "sse",
    }
    with httpx.stream("POST", base_url + "/v1/audio/speech", json=body, timeout=120) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        events = [
            json.loads(line[len("data: ") :]) for line in response.iter_lines() if line.startswith("data: ")
        ]
    assert [e["type"] for e in events][-1] == "speech.audio.done"
    audio = b"".join(base64.b64decode(e["audio"]) for e in events if e["type"] == "speech.audio.delta")
    assert len(decode.decode_audio(audio, 16000)) > 1600


def test_client_hanging_up_mid_stream_releases_the_model(base_url, user_dir):
    from llm_mlx_audio.engine.pool import get_pool

    # Over 400 characters: at least two pieces, so the stream is cut with work still to do.
    text = " ".join(f"Sentence number {i} keeps this text going." for i in range(12))
    with httpx.stream(
        "POST",
        base_url + "/v1/audio/speech",
        json={"input": text, "stream_format": "audio", "speed": 4},
        timeout=120,
    ) as response:
        next(response.iter_bytes())
    deadline = time.monotonic() + 120
    while any(e["in_use"] for e in get_pool().loaded()) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(e["in_use"] for e in get_pool().loaded())


def test_speech_accepts_instructions(client):
    response = speak(client, instructions="Speak slowly and calmly.", response_format="wav")
    assert response.content[:4] == b"RIFF"


# -- model and voice names ------------------------------------------------------------------


@pytest.mark.parametrize("name", ["tts-1", "tts-1-hd", "gpt-4o-mini-tts"])
def test_openai_speech_model_names_mean_the_default_speech_model(base_url, user_dir, name):
    response = httpx.get(base_url + "/v1/audio/voices", params={"model": name})
    assert response.json()["model"] == "tiny-kitten"


@pytest.mark.parametrize("name", ["whisper-1", "gpt-4o-transcribe", "gpt-4o-mini-transcribe"])
def test_openai_transcription_model_names_reach_the_default_transcription_model(client, clip, name):
    assert isinstance(transcribe(client, clip, model=name).text, str)


def test_llm_alias_names_a_speech_model(base_url, user_dir):
    response = httpx.get(base_url + "/v1/audio/voices", params={"model": "kit"})
    assert response.json()["model"] == "tiny-kitten"


def test_model_id_names_a_speech_model(client):
    assert speak(client, model="tiny-kitten", response_format="wav").content[:4] == b"RIFF"


def _voice_ids(base_url):
    listed = httpx.get(base_url + "/v1/audio/voices", params={"model": "tiny-kitten"}).json()["voices"]
    return [voice["id"] for voice in listed]


def test_openai_voice_the_model_lacks_is_mapped_to_one_of_its_voices(client, base_url):
    assert "shimmer" not in _voice_ids(base_url)
    assert speak(client, voice="shimmer", response_format="wav").content[:4] == b"RIFF"


def test_openai_voice_names_reach_distinct_voices_of_the_model(base_url, user_dir):
    """Different OpenAI voices sound different where the model has voices enough."""
    pcm = {
        name: httpx.post(
            base_url + "/v1/audio/speech",
            json={"model": "tiny-kitten", "input": "Same words.", "voice": name, "response_format": "pcm"},
            timeout=120,
        ).content
        for name in ("alloy", "nova")  # tiny-kitten has one male and one female voice
    }
    assert len(set(pcm.values())) == 2


def test_a_users_voice_map_wins_over_the_built_in_one(base_url, user_dir):
    import json

    ids = _voice_ids(base_url)

    def say(voice):
        body = {"model": "tiny-kitten", "input": "Same words.", "voice": voice, "response_format": "pcm"}
        return httpx.post(base_url + "/v1/audio/speech", json=body, timeout=120).content

    mapped = user_dir / "llm-mlx-audio-voices.json"
    mapped.write_text(json.dumps({"tiny-kitten": {"nova": ids[-1]}}))
    try:
        assert say("nova") == say(ids[-1])
    finally:
        mapped.unlink()


def test_model_voice_is_used_by_name(client, base_url):
    assert speak(client, voice=_voice_ids(base_url)[-1], response_format="wav").content[:4] == b"RIFF"


def test_normalize_false_speaks_the_input_as_given(base_url, user_dir):
    """The extension field: by default a URL is said by its host; normalize=false reads it as written."""

    def pcm(text, **extra):
        body = {"model": "tiny-kitten", "input": text, "response_format": "pcm", **extra}
        return httpx.post(base_url + "/v1/audio/speech", json=body, timeout=120).content

    url = "Read www.example.com now."
    assert pcm(url) == pcm("Read example dot com now.")
    assert pcm(url, normalize=False) != pcm(url)


def test_input_that_is_only_code_is_a_bad_request(base_url, user_dir):
    body = {"model": "tiny-kitten", "input": "```\nprint(1)\n```", "response_format": "wav"}
    response = httpx.post(base_url + "/v1/audio/speech", json=body, timeout=60)
    assert response.status_code == 400
    assert "only code, emoji or markup" in response.json()["error"]["message"]


def test_unknown_voice_is_a_bad_request(client):
    with pytest.raises(openai.BadRequestError) as raised:
        speak(client, voice="no-such-voice")
    assert raised.value.body["param"] == "voice"


def test_unknown_speech_model_is_not_found(client):
    with pytest.raises(openai.NotFoundError) as raised:
        speak(client, model="no-such-model")
    assert raised.value.body["code"] == "model_not_found"


def test_unknown_transcription_model_is_not_found(client, clip):
    with pytest.raises(openai.NotFoundError):
        transcribe(client, clip, model="no-such-model")


def test_model_folder_path_is_not_accepted_as_a_model_name(client, models):
    # The CLI takes folders; a network client must not make the server load arbitrary paths.
    with pytest.raises(openai.NotFoundError):
        speak(client, model=str(models["kitten_path"]))


def test_transcription_model_asked_to_speak_is_a_bad_request(client):
    with pytest.raises(openai.BadRequestError) as raised:
        speak(client, model="tiny-whisper")
    assert raised.value.body["param"] == "model"


# -- speech input errors ------------------------------------------------------------------


def test_text_with_nothing_to_say_is_a_bad_request(client):
    with pytest.raises(openai.BadRequestError) as raised:
        speak(client, input="<0>")
    assert "nothing it could speak" in raised.value.body["message"]


def test_whitespace_input_is_a_bad_request(client):
    with pytest.raises(openai.BadRequestError) as raised:
        speak(client, input="   \n\t ")
    assert raised.value.body["param"] == "input"


def test_speed_out_of_range_is_unprocessable(client):
    with pytest.raises(openai.UnprocessableEntityError) as raised:
        speak(client, speed=10)
    assert raised.value.body["param"] == "speed"


def test_input_over_4096_characters_is_unprocessable(client):
    with pytest.raises(openai.UnprocessableEntityError):
        speak(client, input="a" * 4097)


def test_unknown_response_format_is_unprocessable(base_url, user_dir):
    body = {"model": "tts-1", "input": "Hi.", "voice": "alloy", "response_format": "ogg"}
    response = httpx.post(base_url + "/v1/audio/speech", json=body)
    assert response.status_code == 422
    assert set(response.json()["error"]) == {"message", "type", "param", "code"}


def test_body_that_is_not_json_is_a_bad_request(base_url, user_dir):
    response = httpx.post(
        base_url + "/v1/audio/speech", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "invalid_request_error"


# -- speech streams by default, pcm at 24 kHz (issue 24) ------------------------------


def test_speech_without_stream_format_streams_the_same_bytes_as_stream_format_audio(base_url, user_dir):
    body = {"model": "tts-1", "input": SENTENCES, "voice": "alloy", "response_format": "wav"}
    with httpx.stream("POST", base_url + "/v1/audio/speech", json=body, timeout=120) as response:
        assert response.status_code == 200
        assert "content-length" not in response.headers  # a chunked body, sent as it is made
        assert response.headers.get("transfer-encoding") == "chunked"
        default = response.read()
    audio = httpx.post(base_url + "/v1/audio/speech", json={**body, "stream_format": "audio"}, timeout=120)
    assert default == audio.content
    assert len(decode.decode_audio(default, 16000)) > 3 * 1600


def test_speech_pcm_says_24_khz_as_openai_documents_it(client):
    pcm = speak(client, response_format="pcm", input="Rate check.")
    assert pcm.response.headers["x-sample-rate"] == "24000"


def test_pcm_from_a_model_at_another_rate_is_resampled_to_24_khz():
    import numpy as np

    from llm_mlx_audio.models import Audio
    from llm_mlx_audio.server.app import _encode_stream

    rate = 16000
    tone = (0.3 * np.sin(2 * np.pi * 440 * np.arange(rate) / rate)).astype(np.float32)
    chunks = iter([Audio(tone[rate // 2 :], rate)])
    data = b"".join(_encode_stream(Audio(tone[: rate // 2], rate), chunks, "pcm"))
    samples = np.frombuffer(data, dtype="<i2").astype(np.float32) / 32767
    assert abs(len(samples) - 24000) <= 48  # one second at 24 kHz, give or take the filter's edge
    spectrum = np.abs(np.fft.rfft(samples[2400:-2400]))
    peak_hz = np.argmax(spectrum) * 24000 / len(samples[2400:-2400])
    assert abs(peak_hz - 440) < 5  # the same tone: resampled, not replayed at the wrong speed


def test_speech_refuses_an_unknown_field_by_name(base_url, user_dir):
    body = {"model": "tts-1", "input": "Hi.", "voice": "alloy", "lang_code": "a"}
    response = httpx.post(base_url + "/v1/audio/speech", json=body)
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "lang_code"


def test_dated_speech_model_names_mean_the_default(client):
    response = client.audio.speech.create(
        model="gpt-4o-mini-tts-2025-12-15", voice="alloy", input="Dated name.", response_format="wav"
    )
    assert response.content[:4] == b"RIFF"
