"""`llm speak --captions` with a model that reports no word durations: one line, no files."""

from llm_runner import llm_subprocess, run_llm


def test_captions_from_a_model_without_durations_are_refused_in_one_line(tiny_models, tmp_path):
    audio, captions = tmp_path / "a.wav", tmp_path / "a.srt"
    result = run_llm("speak", "Hello there.", "-o", str(audio), "--captions", str(captions))
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [
        "Error: Captions need a model that reports word durations (Kokoro); tiny-kitten does not"
    ]
    assert not audio.exists() and not captions.exists()
    assert list(tmp_path.iterdir()) == []


def test_captions_format_without_captions_is_refused(tiny_models, tmp_path):
    result = run_llm("speak", "Hello.", "-o", str(tmp_path / "a.wav"), "--captions-format", "srt")
    assert result.exit_code == 1
    assert "--captions-format needs --captions FILE" in result.stderr


def test_a_stream_with_nothing_to_say_leaves_no_captions_file(tiny_models, tmp_path):
    captions = tmp_path / "a.vtt"
    code_only = b"```python\nprint('hi')\n```\n"
    result = llm_subprocess(
        "speak", "--stream", "-o", str(tmp_path / "a.wav"), "--captions", str(captions), input=code_only
    )
    assert result.returncode == 1
    assert b"No text to speak" in result.stderr
    assert list(tmp_path.iterdir()) == []
