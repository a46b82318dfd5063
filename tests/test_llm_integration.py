"""The plugin as part of llm: models, attachments, logs, fragments, tools.

The tiny whisper's words are random, and Whisper's temperature fallback samples:
comparisons of text use temperature 0, which is greedy and repeatable.
"""

import json

import pytest
from spoken_clips import speech_wav, wav_seconds


@pytest.fixture
def clip(tmp_path):
    path = tmp_path / "memo.wav"
    path.write_bytes(speech_wav("Remember to call the dentist on Monday."))
    return path


def test_transcription_models_are_llm_models(llm_cli, tiny_models):
    result = llm_cli("models", "list", "--options")
    assert "MLX transcription: tiny-whisper" in result.stdout
    data = {m["model_id"]: m for m in json.loads(llm_cli("models", "--json").stdout)}
    types = set(data["tiny-whisper"]["attachment_types"])
    assert {"audio/wav", "audio/mpeg", "video/mp4", "audio/ogg", "application/ogg"} <= types


def test_speech_models_are_not_llm_models(llm_cli, tiny_models):
    data = {m["model_id"] for m in json.loads(llm_cli("models", "--json").stdout)}
    assert "tiny-kitten" not in data


def greedy(llm_cli, clip):
    return llm_cli("transcribe", str(clip), "--temperature", "0").stdout.strip()


def test_llm_prompt_with_an_audio_attachment_prints_the_transcript(llm_cli, tiny_models, clip):
    direct = greedy(llm_cli, clip)
    result = llm_cli("-m", "tiny-whisper", "-a", str(clip), "-o", "temperature", "0")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == direct


def test_attachment_from_stdin(llm_cli, tiny_models, clip):
    direct = greedy(llm_cli, clip)
    result = llm_cli("-m", "tiny-whisper", "-a", "-", "-o", "temperature", "0", input=clip.read_bytes())
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == direct


def test_response_format_option(llm_cli, tiny_models, clip):
    result = llm_cli("-m", "tiny-whisper", "-a", str(clip), "-o", "response_format", "json")
    assert json.loads(result.stdout)["duration"] == pytest.approx(wav_seconds(clip), abs=0.01)


def test_bad_response_format_is_refused(llm_cli, tiny_models, clip):
    result = llm_cli("-m", "tiny-whisper", "-a", str(clip), "-o", "response_format", "docx")
    assert result.exit_code != 0
    assert "response_format must be one of" in result.output


def test_aliases_of_transcription_models_show_in_llm(llm_cli, tiny_models, clip):
    llm_cli("aliases", "set", "ears", "tiny-whisper")
    assert "ears" in llm_cli("aliases", "list").stdout
    assert llm_cli("-m", "ears", "-a", str(clip)).exit_code == 0


def last_log(llm_cli):
    return json.loads(llm_cli("logs", "--json", "-n", "1").stdout)[0]


def test_prompts_are_logged_with_their_attachment(llm_cli, tiny_models, clip):
    text = llm_cli("-m", "tiny-whisper", "-a", str(clip)).stdout.strip()
    entry = last_log(llm_cli)
    assert entry["model"] == "tiny-whisper"
    assert entry["response"].strip() == text
    assert [a["path"] for a in entry["attachments"]] == [str(clip)]


def test_llm_transcribe_logs_too(llm_cli, tiny_models, clip):
    text = llm_cli("transcribe", str(clip)).stdout.strip()
    entry = last_log(llm_cli)
    assert entry["model"] == "tiny-whisper" and entry["response"].strip() == text
    assert entry["response_json"]["transcripts"][0]["text"] == text


def test_no_log_and_logs_off_are_honoured(llm_cli, tiny_models, clip, user_dir):
    llm_cli("transcribe", str(clip))
    logged = len(json.loads(llm_cli("logs", "--json", "-n", "0").stdout))
    assert logged == 1
    llm_cli("transcribe", "--no-log", str(clip))
    llm_cli("logs", "off")
    llm_cli("transcribe", str(clip))
    llm_cli("logs", "on")
    assert len(json.loads(llm_cli("logs", "--json", "-n", "0").stdout)) == logged


def test_conversations_are_refused(llm_cli, tiny_models, clip):
    llm_cli("-m", "tiny-whisper", "-a", str(clip))
    result = llm_cli("-c", "and then?")
    assert result.exit_code != 0
    assert "does not support conversations" in result.output


def test_no_attachment_says_how_to_attach(llm_cli, tiny_models):
    result = llm_cli("-m", "tiny-whisper", "hello")
    assert result.exit_code != 0
    assert "attach a file with -a" in result.output


def test_transcript_fragment_feeds_another_model(llm_cli, tiny_models, clip, user_dir):
    result = llm_cli("-m", "echo", "-f", f"transcript:{clip}", "list the action items")
    assert result.exit_code == 0, result.output
    prompt = json.loads(result.stdout)["prompt"]
    (cached,) = (user_dir / "llm-mlx-audio-transcripts").glob("*.json")
    transcript = json.loads(cached.read_text())["text"]
    assert prompt == f"{transcript}\nlist the action items"
    logged = json.loads(llm_cli("logs", "--json", "-n", "1").stdout)[0]
    assert logged["prompt_fragments"][0]["content"] == transcript


def test_transcript_fragment_is_cached_by_content(llm_cli, tiny_models, clip, user_dir):
    llm_cli("-m", "echo", "-f", f"transcript:{clip}", "x")
    cached = list((user_dir / "llm-mlx-audio-transcripts").glob("*.json"))
    assert len(cached) == 1
    # a copy with the same bytes hits the same cache entry
    copy = clip.parent / "copy.wav"
    copy.write_bytes(clip.read_bytes())
    before = cached[0].stat().st_mtime_ns
    llm_cli("-m", "echo", "-f", f"transcript:{copy}", "x")
    assert list((user_dir / "llm-mlx-audio-transcripts").glob("*.json")) == cached
    assert cached[0].stat().st_mtime_ns == before


def test_transcript_fragment_of_a_missing_file_fails_clearly(llm_cli, tiny_models, tmp_path):
    result = llm_cli("-m", "echo", "-f", f"transcript:{tmp_path}/nope.m4a", "x")
    assert result.exit_code != 0
    assert "no such audio file" in result.output


def tool_call(name, arguments):
    return json.dumps({"tool_calls": [{"name": name, "arguments": arguments}]})


def final_echo(stdout):
    """The echo model answers once per turn; the last answer carries the tool results."""
    decoder, position, documents = json.JSONDecoder(), 0, []
    while position < len(stdout.strip()):
        document, position = decoder.raw_decode(stdout, position)
        documents.append(document)
        while position < len(stdout) and stdout[position].isspace():
            position += 1
    return documents[-1]


def test_a_model_can_call_transcribe_audio(llm_cli, tiny_models, clip, monkeypatch):
    monkeypatch.chdir(clip.parent)  # the tools act only inside the current directory
    result = llm_cli(
        "-m", "echo", "-T", "transcribe_audio", tool_call("transcribe_audio", {"path": str(clip)})
    )
    assert result.exit_code == 0, result.output
    (tool_result,) = final_echo(result.stdout)["tool_results"]
    assert tool_result["name"] == "transcribe_audio"
    assert isinstance(tool_result["output"], str) and "Error" not in tool_result["output"]


def test_a_tool_call_on_a_missing_file_reports_the_error_to_the_model(
    llm_cli, tiny_models, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    args = {"path": str(tmp_path / "nope.wav")}
    result = llm_cli("-m", "echo", "-T", "transcribe_audio", tool_call("transcribe_audio", args))
    assert result.exit_code == 0, result.output
    assert "no such file" in final_echo(result.stdout)["tool_results"][0]["output"]


def test_a_model_can_call_speak_to_write_a_file(llm_cli, tiny_models, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "said.wav"
    result = llm_cli(
        "-m", "echo", "-T", "speak", tool_call("speak", {"text": "Hello there.", "output_path": str(out)})
    )
    assert result.exit_code == 0, result.output
    output = final_echo(result.stdout)["tool_results"][0]["output"]
    assert str(out) in output and out.read_bytes()[:4] == b"RIFF"
