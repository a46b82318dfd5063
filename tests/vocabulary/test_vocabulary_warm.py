"""`llm transcribe` through this machine's running server: the server applies the stored vocabulary,
and a run with its own vocabulary (--no-vocabulary, --vocabulary FILE) works locally."""

import signal

import httpx
import pytest
from llm_runner import llm_subprocess, run_llm, serve_in_a_process
from spoken_clips import HAVE_ESPEAK, speech_wav

from llm_mlx_audio.engine import embedded

pytestmark = pytest.mark.skipif(
    not (HAVE_ESPEAK and embedded.available("whisper-tiny.en")),
    reason="espeak-ng or whisper-tiny.en missing",
)


def test_the_running_server_applies_the_stored_vocabulary_and_no_vocabulary_works_locally(user_dir, tmp_path):
    embedded.ensure_embedded("whisper-tiny.en")
    clip = tmp_path / "short.wav"
    clip.write_bytes(speech_wav("Ngozi deployed the fix with kubectl this morning."))
    run_llm("audio", "vocabulary", "add", "this morning=tonight")
    process, url = serve_in_a_process(user_dir)
    try:
        warm = llm_subprocess("transcribe", str(clip), "-m", "whisper-tiny.en", "-n", "--verbose")
        assert warm.returncode == 0, warm.stderr
        assert b"tonight" in warm.stdout, warm.stdout
        assert "whisper-tiny.en" in httpx.get(url + "/health", timeout=10).text  # the server did it
        alone = llm_subprocess(
            "transcribe", str(clip), "-m", "whisper-tiny.en", "-n", "--verbose", "--no-vocabulary"
        )
        assert alone.returncode == 0, alone.stderr
        assert b"morning" in alone.stdout, alone.stdout
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)
