"""The vocabulary on real speech: espeak-ng saying rare names and terms, Whisper tiny.en hearing them.

Measured on tests/vocabulary_clips.py's recording (8 sentences, 37 s, 18 rare terms):
tiny.en spells 1 of 18 right without the vocabulary and 7 with its terms in the prompt
(benchmarks/bench_vocabulary.py prints the shares for base too).
"""

import json

import httpx
import pytest
from llm_runner import run_llm
from spoken_clips import HAVE_ESPEAK, speech_wav
from vocabulary_clips import TERMS, recording, terms_right

from llm_mlx_audio.audio.encode import encode_audio
from llm_mlx_audio.engine import embedded

pytestmark = pytest.mark.skipif(
    not (HAVE_ESPEAK and embedded.available("whisper-tiny.en")),
    reason="espeak-ng or whisper-tiny.en missing",
)
SHORT = "Ngozi deployed the fix with kubectl this morning."


@pytest.fixture(scope="module")
def clips(shared_user_dir, tmp_path_factory):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LLM_USER_PATH", str(shared_user_dir))
        embedded.ensure_embedded("whisper-tiny.en")
    folder = tmp_path_factory.mktemp("vocabulary-clips")
    (folder / "terms.wav").write_bytes(encode_audio(recording(), 16000, "wav"))
    (folder / "short.wav").write_bytes(speech_wav(SHORT))
    (folder / "terms.txt").write_text("\n".join(["# the rare words", *TERMS]) + "\n")
    return folder


@pytest.fixture(autouse=True)
def shared(shared_user_dir, monkeypatch):
    """The module's user directory (the converted model), with no stored vocabulary at the start."""
    monkeypatch.setenv("LLM_USER_PATH", str(shared_user_dir))
    (shared_user_dir / "llm-mlx-audio-vocabulary.json").unlink(missing_ok=True)


def transcribe(path, *args):
    result = run_llm("transcribe", str(path), "-m", "whisper-tiny.en", "-n", "--local", *args)
    assert result.exit_code == 0, result.stderr
    return result


def test_the_vocabulary_raises_the_share_of_rare_terms_transcribed_right(clips):
    without = terms_right(transcribe(clips / "terms.wav").stdout)
    with_terms = terms_right(transcribe(clips / "terms.wav", "--vocabulary", str(clips / "terms.txt")).stdout)
    print(f"tiny.en: {len(without)}/{len(TERMS)} without the vocabulary, {len(with_terms)} with it")
    assert len(with_terms) >= len(without) + 4, (without, with_terms)


def test_stored_corrections_apply_to_the_text_segments_and_words(clips):
    run_llm("audio", "vocabulary", "add", "this morning=tonight")
    out = json.loads(transcribe(clips / "short.wav", "--format", "verbose_json", "--word-timestamps").stdout)
    assert "tonight" in out["text"] and "morning" not in out["text"], out["text"]
    assert any("tonight" in s["text"] for s in out["segments"])
    assert "".join(w["word"] for w in out["words"]) == out["text"].replace(" ", "")  # words agree with text
    tonight = next(w for w in out["words"] if "tonight" in w["word"])
    assert tonight["end"] - tonight["start"] > 0.3  # "this" and "morning", one word now


def test_no_vocabulary_leaves_the_stored_one_out(clips):
    run_llm("audio", "vocabulary", "add", "this morning=tonight")
    assert "morning" in transcribe(clips / "short.wav", "--no-vocabulary").stdout


def test_terms_left_out_of_the_prompt_are_named_in_one_stderr_line(clips, tmp_path):
    many = tmp_path / "many.txt"
    many.write_text("\n".join(f"Zyxwarblex{n}" for n in range(120)) + "\n")
    result = transcribe(clips / "short.wav", "--vocabulary", str(many))
    notices = [line for line in result.stderr.splitlines() if line.startswith("Vocabulary:")]
    assert len(notices) == 1, result.stderr
    assert "terms left out of Whisper's prompt (at most 223 tokens): Zyxwarblex" in notices[0]


def test_the_transcript_fragment_applies_the_stored_vocabulary_and_caches_per_vocabulary(clips):
    from llm_mlx_audio.llm_tools import transcript_fragment

    run_llm("audio", "default", "transcription", "whisper-tiny.en")
    run_llm("audio", "vocabulary", "add", "this morning=tonight")
    assert "tonight" in str(transcript_fragment(str(clips / "short.wav")))
    run_llm("audio", "vocabulary", "remove", "this morning")
    assert "morning" in str(transcript_fragment(str(clips / "short.wav")))


@pytest.fixture(scope="module")
def server(clips, shared_user_dir):
    from server.server_helpers import start_server

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LLM_USER_PATH", str(shared_user_dir))
        url, stop = start_server()
    yield url
    stop()


def post(url, clip, **fields):
    files = {"file": ("short.wav", clip.read_bytes())}
    return httpx.post(f"{url}/v1/audio/transcriptions", files=files, data=fields, timeout=120)


def test_the_server_applies_the_stored_vocabulary_and_the_requests_field(server, clips):
    run_llm("audio", "vocabulary", "add", "deployed=shipped")
    answer = post(
        server, clips / "short.wav", model="whisper-tiny.en", vocabulary="this morning=tonight, Ngozi"
    )
    assert answer.status_code == 200, answer.text
    text = answer.json()["text"]
    assert "shipped" in text and "tonight" in text, text


def test_the_server_refuses_a_bad_vocabulary_field_naming_it(server, clips):
    answer = post(server, clips / "short.wav", model="whisper-tiny.en", vocabulary="this morning=")
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error["param"] == "vocabulary" and "Empty correction" in error["message"], error
