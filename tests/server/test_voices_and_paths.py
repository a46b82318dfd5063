"""A voice is only a name the model lists, and no answer shows where files live.

pocket_tts reads a voice it does not know as a file to clone or a URL to fetch; the
plugin below does the same, as any third-party engine might. A client must get a 400
for such a voice, and the engine must never see it.
"""

import http.server
import sys
import textwrap
import threading

import httpx
import pytest

POCKET_LIKE_PLUGIN = textwrap.dedent(
    '''
    """A test plugin whose engine, like pocket_tts, clones a voice from a path or a URL."""
    import os
    import urllib.request

    import llm
    import numpy as np
    from llm_mlx_audio import Audio, SpeechModel

    READ = []


    class PocketLike(SpeechModel):
        model_id = "pocket-like"
        sample_rate = 8000

        def stream_speech(self, text, *, voice, speed, language):
            if voice and voice.startswith(("http://", "https://")):
                READ.append(urllib.request.urlopen(voice, timeout=5).read())
            elif voice and os.path.exists(voice):
                READ.append(open(voice, "rb").read())
            yield Audio(np.zeros(800, dtype=np.float32), self.sample_rate)


    @llm.hookimpl
    def register_speech_models(register):
        register(PocketLike())
    '''
)


@pytest.fixture
def pocket_plugin(tmp_path):
    from llm.plugins import pm

    sys.path.insert(0, str(tmp_path))
    (tmp_path / "pocket_like_plugin.py").write_text(POCKET_LIKE_PLUGIN)
    import pocket_like_plugin

    pm.register(pocket_like_plugin, name="pocket_like_plugin")
    yield pocket_like_plugin
    pm.unregister(name="pocket_like_plugin")
    sys.path.remove(str(tmp_path))
    sys.modules.pop("pocket_like_plugin", None)


@pytest.fixture
def listener():
    """An HTTP server on loopback that records every request it gets."""
    hits = []

    class Recorder(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            hits.append(self.path)
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"RIFF")

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", hits
    server.shutdown()


def speech(base_url, **body):
    return httpx.post(
        base_url + "/v1/audio/speech", json={"input": "Hello.", "response_format": "wav", **body}, timeout=120
    )


def test_a_voice_url_or_path_is_a_400_and_never_reaches_the_engine(
    base_url, user_dir, pocket_plugin, listener, tmp_path
):
    url, hits = listener
    secret = tmp_path / "secret.wav"
    secret.write_bytes(b"not for clients")
    for voice in (f"{url}/voice.wav", str(secret), "../../etc/passwd", {"id": f"{url}/x"}):
        response = speech(base_url, model="pocket-like", voice=voice)
        assert response.status_code == 400, response.text
        assert response.json()["error"]["code"] == "invalid_voice"
    assert hits == [] and pocket_plugin.READ == []


def test_a_model_without_voices_still_speaks_with_none_or_an_openai_name(base_url, user_dir, pocket_plugin):
    for body in ({}, {"voice": "alloy"}):
        response = speech(base_url, model="pocket-like", **body)
        assert response.status_code == 200 and response.content[:4] == b"RIFF"
    assert pocket_plugin.READ == []


def test_listed_voices_and_blends_still_work(base_url, user_dir, models):
    from llm_mlx_audio import registry

    voices = registry.find_model("speech", "tiny-kitten").voices()
    assert speech(base_url, model="tiny-kitten", voice=voices[0]).status_code == 200
    response = speech(base_url, model="tiny-kitten", voice="/tmp/elsewhere.wav")
    assert response.status_code == 400


# -- no local paths ---------------------------------------------------------------------


def test_health_names_loaded_models_without_their_folders(base_url, user_dir):
    assert speech(base_url, model="tiny-kitten").status_code == 200
    body = httpx.get(base_url + "/health").text
    assert "tiny-kitten" in body
    assert str(user_dir) not in body and "/models/" not in body


def test_an_error_from_a_broken_model_does_not_show_its_folder(base_url, user_dir, models):
    """A model whose weights went bad: the loader's message names its folder; the client
    sees the folder's name only."""
    import shutil

    from llm_mlx_audio.engine.importing import import_model

    broken = user_dir / "broken-source"
    shutil.copytree(models["kitten_path"], broken)
    for weights in broken.glob("*.safetensors"):
        weights.write_bytes(b"\0" * 64)
    import_model(broken, name="broken-kitten")
    response = speech(base_url, model="broken-kitten")
    assert response.status_code >= 400
    message = response.json()["error"]["message"]
    assert str(user_dir) not in message and str(broken) not in message
    assert not any(part.startswith("/") and part.count("/") > 1 for part in message.split())


def test_error_messages_lose_directories_but_keep_api_routes():
    from llm_mlx_audio.server.errors import without_local_paths

    assert without_local_paths("Cannot load /home/ann/.config/io.datasette.llm/m/kit: bad") == (
        "Cannot load kit: bad"
    )
    assert without_local_paths("see GET /v1/audio/voices?model=kit") == "see GET /v1/audio/voices?model=kit"
    assert without_local_paths("no file '~/notes/a.wav'") == "no file 'a.wav'"
