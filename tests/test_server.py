"""`llm audio serve` end to end: the real app under uvicorn, the official openai client, tiny real models.

One server (and one locked server, with an API key and a small upload limit) runs for the
whole module on 127.0.0.1, in a background thread of this process, sharing the process's
pool and MLX thread exactly as the CLI's server does. The tiny models' output is noise or
garbage text: tests check shapes, formats, statuses and behaviour, never content.
"""

import concurrent.futures
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time

import pytest

openai = pytest.importorskip("openai")
pytest.importorskip("fastapi")
uvicorn = pytest.importorskip("uvicorn")
httpx = pytest.importorskip("httpx")

from llm_mlx_audio.audio import codec  # noqa: E402
from shared_user import shared_user_dir_for_each_test  # noqa: E402,F401  (the user_dir fixture)

API_KEY = "test-key-3f9a"
LOCKED_UPLOAD_LIMIT = 64 * 1024
SENTENCES = "The first sentence is here. A second one follows it. And then a third."


# -- fixtures -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def models(shared_tiny_models):
    return shared_tiny_models


def start_server(**options):
    """The real app on a free port, served by uvicorn in a thread; returns (url, stop)."""
    from llm_mlx_audio.server import app as server

    app = server.create_app(**options)
    sock = server.bind_socket("127.0.0.1", 0)
    instance = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    thread = threading.Thread(target=instance.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not instance.started:
        assert thread.is_alive() and time.monotonic() < deadline, "server did not start"
        time.sleep(0.02)

    def stop():
        instance.should_exit = True
        thread.join(timeout=30)
        sock.close()

    return server.url_for(sock), stop


@pytest.fixture(scope="module")
def base_url(models):
    url, stop = start_server()
    yield url
    stop()


@pytest.fixture(scope="module")
def locked_url(models):
    url, stop = start_server(api_key=API_KEY, max_upload_bytes=LOCKED_UPLOAD_LIMIT)
    yield url
    stop()


@pytest.fixture
def client(base_url, user_dir):
    return openai.OpenAI(base_url=base_url + "/v1", api_key="unused", max_retries=0, timeout=120)


def tone_wav(seconds=2.0, rate=16000):
    """A real wav file: bursts of a 220 Hz tone and silence."""
    import numpy as np

    t = np.arange(int(seconds * rate)) / rate
    samples = 0.3 * np.sin(2 * np.pi * 220 * t) * (np.sin(2 * np.pi * 2 * t) > 0)
    return codec.encode_audio(samples.astype(np.float32), rate, "wav")


@pytest.fixture(scope="module")
def clip():
    return tone_wav()


def speak(client, **kwargs):
    arguments = {"model": "tts-1", "input": "Hello there.", "voice": "alloy"}
    arguments.update(kwargs)
    return client.audio.speech.create(**arguments)


def transcribe(client, clip, **kwargs):
    arguments = {"model": "whisper-1", "file": ("clip.wav", clip)}
    arguments.update(kwargs)
    return client.audio.transcriptions.create(**arguments)


def kitten_rate():
    from llm_mlx_audio import registry

    return registry.find_model("speech", "tiny-kitten").sample_rate


# -- speech ---------------------------------------------------------------------------


def test_speech_wav_is_a_riff_file_of_real_audio(client):
    response = speak(client, response_format="wav")
    assert response.response.headers["content-type"] == "audio/wav"
    assert response.content[:4] == b"RIFF" and response.content[8:12] == b"WAVE"
    assert len(codec.decode_audio(response.content, 16000)) > 1600


MAGIC = {
    "mp3": lambda b: b[:3] == b"ID3" or (b[0] == 0xFF and b[1] & 0xE0 == 0xE0),
    "flac": lambda b: b[:4] == b"fLaC",
    "opus": lambda b: b[:4] == b"OggS" and b"OpusHead" in b[:80],
    "aac": lambda b: b[0] == 0xFF and b[1] & 0xF6 == 0xF0,  # ADTS sync word
}


@pytest.mark.parametrize("fmt", sorted(MAGIC))
def test_speech_in_compressed_formats_decodes_back_to_audio(client, fmt):
    response = speak(client, response_format=fmt)
    assert response.response.headers["content-type"] == codec.MIME_TYPES[fmt]
    assert MAGIC[fmt](response.content)
    assert len(codec.decode_audio(response.content, 16000)) > 1600


def test_speech_pcm_is_raw_16_bit_samples_matching_the_wav(client):
    import numpy as np

    pcm = speak(client, response_format="pcm", input="Same text twice.")
    wav = speak(client, response_format="wav", input="Same text twice.")
    assert pcm.response.headers["content-type"] == "audio/pcm"
    assert pcm.content[:4] != b"RIFF" and len(pcm.content) % 2 == 0
    samples = np.frombuffer(pcm.content, dtype="<i2")
    wav_samples = codec.decode_audio(wav.content, kitten_rate())
    assert abs(len(samples) - len(wav_samples)) <= kitten_rate() // 10


def test_speech_defaults_to_mp3_like_openai(base_url, user_dir):
    response = httpx.post(base_url + "/v1/audio/speech", json={"model": "tts-1", "input": "Hi.", "voice": "alloy"})
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
    assert len(codec.decode_audio(data, 16000)) > 3 * 1600


def streamed(client, text, fmt):
    with client.audio.speech.with_streaming_response.create(
        model="tts-1", voice="alloy", input=text, response_format=fmt, stream_format="audio"
    ) as response:
        return response.read()


def test_streamed_mp3_holds_as_much_audio_as_streamed_wav(client):
    # Both streams are cut at the same places; the mp3 encoder must lose nothing at the cuts.
    rate = 16000
    mp3 = codec.decode_audio(streamed(client, SENTENCES, "mp3"), rate)
    wav = codec.decode_audio(streamed(client, SENTENCES, "wav"), rate)
    assert abs(len(mp3) - len(wav)) < rate // 10


def test_sse_speech_stream_sends_base64_deltas_then_done(base_url, user_dir):
    import base64

    body = {"model": "tts-1", "input": SENTENCES, "voice": "alloy", "response_format": "wav", "stream_format": "sse"}
    with httpx.stream("POST", base_url + "/v1/audio/speech", json=body, timeout=120) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        events = [json.loads(line[len("data: "):]) for line in response.iter_lines() if line.startswith("data: ")]
    assert [e["type"] for e in events][-1] == "speech.audio.done"
    audio = b"".join(base64.b64decode(e["audio"]) for e in events if e["type"] == "speech.audio.delta")
    assert len(codec.decode_audio(audio, 16000)) > 1600


def test_client_hanging_up_mid_stream_releases_the_model(base_url, user_dir):
    from llm_mlx_audio.engine.pool import get_pool

    # Over 400 characters: at least two pieces, so the stream is cut with work still to do.
    text = " ".join(f"Sentence number {i} keeps this text going." for i in range(12))
    with httpx.stream(
        "POST", base_url + "/v1/audio/speech", json={"input": text, "stream_format": "audio", "speed": 4}, timeout=120
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


def test_openai_voice_the_model_lacks_gets_the_default_voice(client, base_url):
    voices = httpx.get(base_url + "/v1/audio/voices", params={"model": "tiny-kitten"}).json()["voices"]
    assert "shimmer" not in voices
    assert speak(client, voice="shimmer", response_format="wav").content[:4] == b"RIFF"


def test_model_voice_is_used_by_name(client, base_url):
    voices = httpx.get(base_url + "/v1/audio/voices", params={"model": "tiny-kitten"}).json()["voices"]
    assert speak(client, voice=voices[-1], response_format="wav").content[:4] == b"RIFF"


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


# -- transcription --------------------------------------------------------------------------


def test_transcription_json_is_text_only_like_openai(base_url, user_dir, clip):
    response = httpx.post(
        base_url + "/v1/audio/transcriptions", files={"file": ("clip.wav", clip)}, data={"model": "whisper-1"}
    )
    assert response.status_code == 200
    assert list(response.json()) == ["text"]


def test_transcription_text_format_is_plain_text(client, clip):
    text = transcribe(client, clip, response_format="text")
    assert isinstance(text, str) and text.strip()


def parse_cues(text, separator):
    pattern = rf"(\d\d):(\d\d):(\d\d){separator}(\d\d\d) --> (\d\d):(\d\d):(\d\d){separator}(\d\d\d)"
    cues = []
    for match in re.finditer(pattern, text):
        h1, m1, s1, ms1, h2, m2, s2, ms2 = map(int, match.groups())
        cues.append((h1 * 3600 + m1 * 60 + s1 + ms1 / 1000, h2 * 3600 + m2 * 60 + s2 + ms2 / 1000))
    return cues


def test_transcription_srt_has_numbered_ordered_cues(client, clip):
    srt = transcribe(client, clip, response_format="srt")
    blocks = [b for b in srt.strip().split("\n\n") if b.strip()]
    assert blocks and all(b.splitlines()[0] == str(i) for i, b in enumerate(blocks, start=1))
    cues = parse_cues(srt, ",")
    assert len(cues) == len(blocks)
    assert all(start <= end for start, end in cues)
    assert all(a[1] <= b[0] for a, b in zip(cues, cues[1:]))


def test_transcription_vtt_has_header_and_cues(client, clip):
    vtt = transcribe(client, clip, response_format="vtt")
    assert vtt.startswith("WEBVTT")
    assert parse_cues(vtt, r"\.")


def test_transcription_verbose_json_has_openai_fields_and_segments(client, clip):
    result = transcribe(client, clip, response_format="verbose_json")
    data = result.model_dump()
    assert {"task", "language", "duration", "text", "segments"} <= set(data)
    assert data["task"] == "transcribe"
    assert abs(data["duration"] - 2.0) < 0.05
    assert data["segments"] and all(s["start"] <= s["end"] for s in data["segments"])
    assert not data.get("words")


def test_transcription_word_granularity_adds_timed_words(client, clip):
    result = transcribe(
        client, clip, response_format="verbose_json", timestamp_granularities=["word", "segment"]
    )
    words = result.model_dump()["words"]
    assert words and all(w["start"] <= w["end"] for w in words)
    assert result.segments


def test_transcription_word_granularity_alone_leaves_out_segments(base_url, user_dir, clip):
    response = httpx.post(
        base_url + "/v1/audio/transcriptions",
        files={"file": ("clip.wav", clip)},
        data={"response_format": "verbose_json", "timestamp_granularities[]": ["word"]},
    )
    assert "words" in response.json() and "segments" not in response.json()


def test_transcription_accepts_language_prompt_and_temperature(client, clip):
    result = transcribe(client, clip, language="en", prompt="Tones.", temperature=0.2)
    assert isinstance(result.text, str)


def test_empty_upload_is_a_bad_request(client):
    with pytest.raises(openai.BadRequestError) as raised:
        transcribe(client, b"")
    assert raised.value.body["param"] == "file"


def test_upload_that_is_not_audio_is_a_bad_request(client):
    with pytest.raises(openai.BadRequestError) as raised:
        transcribe(client, b"This is a plain text file, not audio at all.\n" * 20)
    assert raised.value.body["code"] == "invalid_audio"


def test_upload_without_a_file_is_unprocessable(base_url, user_dir):
    response = httpx.post(base_url + "/v1/audio/transcriptions", files={"model": (None, "whisper-1")})
    assert response.status_code == 422
    assert response.json()["error"]["param"] == "file"


def test_transcription_temperature_out_of_range_is_unprocessable(client, clip):
    with pytest.raises(openai.UnprocessableEntityError):
        transcribe(client, clip, temperature=5)


# -- size limit and API key -------------------------------------------------------------


def locked_client(url, key=API_KEY):
    return openai.OpenAI(base_url=url + "/v1", api_key=key, max_retries=0, timeout=120)


def test_upload_declared_over_the_limit_is_413(locked_url, user_dir):
    with pytest.raises(openai.APIStatusError) as raised:
        transcribe(locked_client(locked_url), b"\0" * (LOCKED_UPLOAD_LIMIT * 8))
    assert raised.value.status_code == 413


def test_chunked_upload_over_the_limit_is_413(locked_url, user_dir):
    # No Content-Length: the server must count the bytes as they arrive.
    def body():
        yield b'--xyz\r\nContent-Disposition: form-data; name="file"; filename="a.wav"\r\n\r\n'
        for _ in range(32):
            yield b"\0" * 32768

    response = httpx.post(
        locked_url + "/v1/audio/transcriptions",
        content=body(),
        headers={"content-type": "multipart/form-data; boundary=xyz", "authorization": f"Bearer {API_KEY}"},
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "file_too_large"


def test_file_just_over_the_limit_is_413(locked_url, user_dir):
    with pytest.raises(openai.APIStatusError) as raised:
        transcribe(locked_client(locked_url), b"\0" * (LOCKED_UPLOAD_LIMIT + 1))
    assert raised.value.status_code == 413


def test_upload_under_the_limit_is_transcribed(locked_url, user_dir, clip):
    assert len(clip) < LOCKED_UPLOAD_LIMIT
    assert isinstance(transcribe(locked_client(locked_url), clip).text, str)


def test_missing_api_key_is_401(locked_url, user_dir):
    response = httpx.get(locked_url + "/v1/models")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_api_key"


def test_wrong_api_key_raises_authentication_error(locked_url, user_dir):
    with pytest.raises(openai.AuthenticationError):
        locked_client(locked_url, key="wrong").models.list()


def test_api_key_is_needed_for_the_openapi_document_too(locked_url, user_dir):
    assert httpx.get(locked_url + "/openapi.json").status_code == 401


def test_health_needs_no_api_key(locked_url, user_dir):
    assert httpx.get(locked_url + "/health").json()["status"] == "ok"


# -- listings, health, pool -----------------------------------------------------------------


def test_models_lists_the_audio_models_in_openai_shape(client):
    ids = {m.id for m in client.models.list()}
    assert {"tiny-kitten", "tiny-whisper"} <= ids


def test_voices_lists_the_models_voices_and_default(base_url, user_dir):
    from llm_mlx_audio import registry

    model = registry.find_model("speech", "tiny-kitten")
    data = httpx.get(base_url + "/v1/audio/voices", params={"model": "tiny-kitten"}).json()
    assert data == {"model": "tiny-kitten", "default": model.default_voice(), "voices": model.voices()}


def test_health_answers_ok(base_url, user_dir):
    assert httpx.get(base_url + "/health").json()["status"] == "ok"


def test_unknown_route_is_a_404_in_openai_shape(base_url, user_dir):
    response = httpx.get(base_url + "/v1/nothing-here")
    assert response.status_code == 404
    assert "message" in response.json()["error"]


def test_model_stays_loaded_between_requests(client):
    from llm_mlx_audio.engine.pool import get_pool

    speak(client, response_format="wav")
    first = {e["key"] for e in get_pool().loaded() if e["ready"]}
    speak(client, response_format="wav")
    assert first and first <= {e["key"] for e in get_pool().loaded() if e["ready"]}


def test_model_that_does_not_fit_in_memory_is_503(client, clip):
    from llm_mlx_audio.engine.pool import get_pool

    pool = get_pool()
    budget = pool.budget
    for entry in pool.loaded():
        pool.unload(entry["key"])
    pool.budget = 1
    try:
        with pytest.raises(openai.InternalServerError) as raised:
            transcribe(client, clip)
        assert raised.value.status_code == 503
        assert raised.value.body["code"] == "insufficient_memory"
    finally:
        pool.budget = budget


def test_twenty_concurrent_mixed_requests_all_succeed(client, clip, base_url):
    def job(i):
        kind = i % 4
        if kind == 0:
            return speak(client, input=f"Request number {i}.", response_format="wav").content[:4] == b"RIFF"
        if kind == 1:
            return MAGIC["mp3"](speak(client, input=f"Number {i}.").content)
        if kind == 2:
            return isinstance(transcribe(client, clip).text, str)
        return bool(transcribe(client, clip, response_format="srt").strip())

    with concurrent.futures.ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(job, range(20)))
    assert all(results)
    assert httpx.get(base_url + "/health").json()["status"] == "ok"


# -- the command ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "host, loopback",
    [("127.0.0.1", True), ("127.8.9.10", True), ("::1", True), ("localhost", True),
     ("0.0.0.0", False), ("::", False), ("192.168.1.20", False), ("example.com", False)],
)
def test_only_loopback_hosts_count_as_local(host, loopback):
    from llm_mlx_audio.server.app import is_loopback

    assert is_loopback(host) is loopback


def test_busy_port_is_one_clear_error():
    from llm_mlx_audio.errors import AudioError
    from llm_mlx_audio.server.app import bind_socket

    taken = bind_socket("127.0.0.1", 0)
    try:
        with pytest.raises(AudioError, match="Cannot listen on 127.0.0.1"):
            bind_socket("127.0.0.1", taken.getsockname()[1])
    finally:
        taken.close()


@pytest.fixture
def own_user_dir(tmp_path, monkeypatch):
    """A user directory of the test's own, so stored keys do not reach the shared one."""
    path = tmp_path / "own-llm-user"
    path.mkdir()
    monkeypatch.setenv("LLM_USER_PATH", str(path))
    monkeypatch.delenv("LLM_MLX_AUDIO_API_KEY", raising=False)
    return path


def test_api_key_comes_from_llm_keys(llm_cli, own_user_dir):
    from llm_mlx_audio.server.app import resolve_api_key

    assert llm_cli("keys", "set", "mlx-audio-server", "--value", "stored-key").exit_code == 0
    assert resolve_api_key(None) == "stored-key"


def test_api_key_comes_from_the_environment(own_user_dir, monkeypatch):
    from llm_mlx_audio.server.app import resolve_api_key

    monkeypatch.setenv("LLM_MLX_AUDIO_API_KEY", "env-key")
    assert resolve_api_key(None) == "env-key"


def test_serve_refuses_a_public_host_without_an_api_key(own_user_dir):
    from conftest import llm_subprocess

    # A real process with a time limit: were the check missing, the server would just run.
    result = llm_subprocess("audio", "serve", "--host", "0.0.0.0", "--port", "0", timeout=60)
    stderr = result.stderr.decode()
    assert result.returncode == 1
    assert "without an API key" in stderr
    assert len(stderr.strip().splitlines()) == 1


def test_serve_command_preloads_serves_and_stops_cleanly_on_ctrl_c(shared_user_dir, models, clip):
    env = dict(os.environ, LLM_USER_PATH=str(shared_user_dir), HF_HUB_OFFLINE="1")
    process = subprocess.Popen(
        [sys.executable, "-m", "llm", "audio", "serve", "--port", "0", "--preload", "tiny-kitten"],
        stderr=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=env,
        text=True,
    )
    try:
        lines = []
        for line in process.stderr:
            lines.append(line)
            if line.startswith("Listening on "):
                break
        url = lines[-1].split()[2]
        assert httpx.get(url + "/health").json()["models_loaded"] == 1  # preloaded before serving
        response = httpx.post(url + "/v1/audio/speech", json={"input": "Hi.", "response_format": "wav"}, timeout=120)
        assert response.content[:4] == b"RIFF"
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    output = "".join(lines) + stderr
    assert process.returncode == 0, output
    assert "Traceback" not in output and "Stopped" in output
