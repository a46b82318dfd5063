"""`llm speak` and `llm transcribe` use this machine's running server, with the same results.

The server runs as `llm audio serve` in its own process and advertises itself in the
user directory; the commands run as fresh processes, as a user's would.
"""

import json
import os
import signal

import numpy as np
import pytest
from llm_runner import llm_subprocess, serve_in_a_process

from llm_mlx_audio.audio.encode import encode_audio

THROUGH = b"through the server"


@pytest.fixture
def server(tiny_models, user_dir):
    process, url = serve_in_a_process(user_dir)
    yield url
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=60)


def test_speak_uses_the_running_server_and_makes_the_same_bytes(server, tmp_path):
    for name in ("same.wav", "same.mp3"):
        warm, local = tmp_path / f"warm-{name}", tmp_path / f"local-{name}"
        text = "The same words. Twice over, warm and cold."
        through = llm_subprocess("speak", text, "-o", str(warm), "--verbose")
        assert through.returncode == 0, through.stderr
        assert THROUGH in through.stderr
        alone = llm_subprocess("speak", text, "-o", str(local), "--local", "--verbose")
        assert alone.returncode == 0 and THROUGH not in alone.stderr
        assert warm.read_bytes() == local.read_bytes()


def test_streamed_speech_uses_the_running_server_piece_by_piece(server, tmp_path):
    text = (
        b"# A heading\n\nThe first sentence arrives, long enough to make a piece of its own. "
        b"Then *the second* one.\n\n---\n\nAnd a last one, which also makes a piece of speech alone.\n"
    )
    warm, local = tmp_path / "warm.wav", tmp_path / "local.wav"
    through = llm_subprocess("speak", "--stream", "-o", str(warm), "--verbose", input=text)
    assert through.returncode == 0, through.stderr
    # One request per piece (sentences grouped until 60 characters): the heading with the first
    # sentence, the second with the last; the rule (---) says nothing.
    assert through.stderr.count(THROUGH) == 2
    assert b"loaded tiny-kitten" not in through.stderr  # nothing loaded in the command itself
    alone = llm_subprocess("speak", "--stream", "-o", str(local), "--local", "--verbose", input=text)
    assert alone.returncode == 0 and THROUGH not in alone.stderr
    assert warm.read_bytes() == local.read_bytes()


def test_a_stream_goes_on_locally_when_the_server_is_gone(tiny_models, user_dir, tmp_path):
    process, _ = serve_in_a_process(user_dir)
    process.kill()  # killed: its advert stays behind, naming a process that is gone
    process.wait(timeout=60)
    out, expected = tmp_path / "out.wav", tmp_path / "expected.wav"
    text = b"One sentence here. Another one there."
    result = llm_subprocess("speak", "--stream", "-o", str(out), "--verbose", input=text)
    assert result.returncode == 0, result.stderr
    assert THROUGH not in result.stderr
    assert llm_subprocess("speak", "--stream", "-o", str(expected), "--local", input=text).returncode == 0
    assert out.read_bytes() == expected.read_bytes()


def test_transcribe_uses_the_running_server_and_gives_the_same_transcript(server, tmp_path):
    clip = tmp_path / "clip.wav"
    rng = np.random.default_rng(1)
    clip.write_bytes(encode_audio((0.1 * rng.standard_normal(32000)).astype(np.float32), 16000, "wav"))
    warm = llm_subprocess(
        "transcribe", str(clip), "--format", "verbose_json", "--word-timestamps", "--no-log"
    )
    local = llm_subprocess(
        "transcribe", str(clip), "--format", "verbose_json", "--word-timestamps", "--no-log", "--local"
    )
    assert warm.returncode == 0 and local.returncode == 0, warm.stderr + local.stderr
    assert json.loads(warm.stdout) == json.loads(local.stdout)


def test_errors_read_the_same_through_the_server(server, tmp_path):
    out = tmp_path / "x.wav"
    for local in ([], ["--local"]):
        result = llm_subprocess("speak", "-v", "nobody", "Hi.", "-o", str(out), *local)
        assert result.returncode != 0 and b"Unknown voice 'nobody'" in result.stderr
        notes = tmp_path / "notes.txt"
        notes.write_text("not audio")
        result = llm_subprocess("transcribe", str(notes), *local)
        assert result.returncode != 0 and b"notes.txt" in result.stderr and b"Traceback" not in result.stderr
    assert not out.exists()


def test_a_stale_advert_is_ignored_and_removed(tiny_models, user_dir, tmp_path):
    advert = user_dir / "llm-mlx-audio-server.json"
    dead = os.fork()
    if dead == 0:
        os._exit(0)
    os.waitpid(dead, 0)
    advert.write_text(json.dumps({"url": "http://127.0.0.1:9", "pid": dead, "token": "x"}))
    result = llm_subprocess("speak", "Hello.", "-o", str(tmp_path / "x.wav"), "--verbose")
    assert result.returncode == 0, result.stderr
    assert THROUGH not in result.stderr
    assert not advert.exists()


def test_the_advert_is_readable_by_this_user_only(server, user_dir):
    advert = user_dir / "llm-mlx-audio-server.json"
    assert advert.stat().st_mode & 0o777 == 0o600
    assert json.loads(advert.read_text())["url"] == server


def test_a_server_with_an_api_key_still_serves_this_machines_commands(tiny_models, user_dir, tmp_path):
    """The advert's token opens a locked server to its own user; other clients need the key."""
    import httpx

    process, url = serve_in_a_process(user_dir, "--api-key", "s3cret-key")
    try:
        assert httpx.get(url + "/openapi.json", timeout=10).status_code == 401
        result = llm_subprocess("speak", "Hello.", "-o", str(tmp_path / "x.wav"), "--verbose")
        assert result.returncode == 0, result.stderr
        assert THROUGH in result.stderr
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)


def test_captured_samples_reach_the_server_exactly_or_not_at_all(tmp_path):
    from llm_mlx_audio.audio.decode import decode_audio
    from llm_mlx_audio.commands.warm import exact_wav

    captured = (np.array([-32768, -32767, -1, 0, 1, 12345, 32767], dtype=np.int16) / 32768.0).astype(
        np.float32
    )
    path = tmp_path / "u.wav"
    path.write_bytes(exact_wav(captured, 16000))
    assert np.array_equal(decode_audio(str(path)), captured)
    assert exact_wav(np.array([0.1234567], np.float32), 16000) is None  # off the 16-bit grid
    assert exact_wav(np.array([1.0], np.float32), 16000) is None  # 32768 does not fit


# -- who the commands trust --------------------------------------------------------------


@pytest.fixture
def recorder():
    """An HTTP server on loopback that answers /health like ours (without the proof) and
    records every request: the impostor, or the proxy, that must learn nothing."""
    import http.server
    import threading

    seen = []

    class Recorder(http.server.BaseHTTPRequestHandler):
        def _record(self):
            length = int(self.headers.get("content-length") or 0)
            seen.append((self.command, self.path, dict(self.headers), self.rfile.read(length)))
            body = json.dumps({"status": "ok"}).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = _record

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", seen
    server.shutdown()


def test_an_impostor_on_the_advertised_port_gets_neither_the_token_nor_the_audio(
    tiny_models, user_dir, tmp_path, recorder
):
    """Our server died and another program took its port (the advert's pid is alive):
    the command must see that it cannot prove the advert's token, and work alone."""
    url, seen = recorder
    advert = user_dir / "llm-mlx-audio-server.json"
    advert.write_text(json.dumps({"url": url, "pid": os.getpid(), "token": "the-advert-secret"}))
    result = llm_subprocess("speak", "Hello.", "-o", str(tmp_path / "x.wav"), "--verbose")
    assert result.returncode == 0, result.stderr
    assert THROUGH not in result.stderr
    assert [(method, path.split("?")[0]) for method, path, _, _ in seen] == [("GET", "/health")]
    assert all("authorization" not in {k.lower() for k in headers} for _, _, headers, _ in seen)
    assert not any(b"the-advert-secret" in body for *_, body in seen)


def test_the_commands_never_send_the_token_through_a_proxy(server, tmp_path, recorder):
    proxy, seen = recorder
    env = {"http_proxy": proxy, "HTTP_PROXY": proxy, "no_proxy": "", "NO_PROXY": ""}
    result = llm_subprocess("speak", "Hello there.", "-o", str(tmp_path / "x.wav"), "--verbose", env=env)
    assert result.returncode == 0, result.stderr
    assert THROUGH in result.stderr
    assert seen == []


def test_a_text_longer_than_one_request_is_spoken_with_a_server_running(server, tmp_path):
    text = " ".join(f"Sentence number {i} is here." for i in range(200))
    assert len(text) > 4096
    warm, local = tmp_path / "warm.wav", tmp_path / "local.wav"
    result = llm_subprocess("speak", text, "-o", str(warm))
    assert result.returncode == 0, result.stderr
    assert llm_subprocess("speak", text, "-o", str(local), "--local").returncode == 0
    assert warm.read_bytes() == local.read_bytes()
