"""Every CLI process that used MLX exits cleanly: no abort at exit, ever."""

from llm_runner import llm_subprocess


def test_twenty_cli_runs_exit_cleanly(tiny_models, tmp_path):
    clip = tmp_path / "clip.wav"
    first = llm_subprocess("speak", "A clip to transcribe.", "-o", str(clip))
    assert first.returncode == 0, first.stderr
    for i in range(19):
        if i % 2:
            result = llm_subprocess("transcribe", "--no-log", str(clip))
        else:
            result = llm_subprocess("speak", f"Run number {i}.", "-o", str(tmp_path / f"{i}.wav"))
        assert result.returncode == 0, result.stderr
        assert b"terminate called" not in result.stderr
        assert b"Traceback" not in result.stderr


QUICK_EXIT_PROBE = """
import atexit, pathlib, sys
marks = pathlib.Path(sys.argv[1])

class Teardown:
    def __del__(self):  # runs only when the interpreter tears its modules down
        (marks / "teardown").write_text("ran")

keep = Teardown()
atexit.register(lambda: (marks / "atexit").write_text("ran"))
from llm.cli import cli
cli(sys.argv[2:])
"""


def _probe(tmp_path, *args, env=None):
    import os
    import subprocess
    import sys

    marks = tmp_path / "marks"
    marks.mkdir()
    result = subprocess.run(
        [sys.executable, "-c", QUICK_EXIT_PROBE, str(marks), *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=300,
    )
    return result, sorted(p.name for p in marks.iterdir())


def test_after_a_model_ran_the_process_skips_teardown_but_not_atexit(tiny_models, tmp_path):
    out = tmp_path / "hello.wav"
    result, marks = _probe(tmp_path, "speak", "Hello there.", "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert marks == ["atexit"]  # atexit handlers ran; the slow module teardown did not
    assert result.stderr == ""
    from llm_mlx_audio.audio.decode import decode_audio

    assert len(decode_audio(str(out))) > 1000


def test_the_quick_exit_can_be_switched_off(tiny_models, tmp_path):
    result, marks = _probe(
        tmp_path,
        "speak",
        "Hello there.",
        "-o",
        str(tmp_path / "a.wav"),
        env={"LLM_MLX_AUDIO_QUICK_EXIT": "0"},
    )
    assert result.returncode == 0, result.stderr
    assert marks == ["atexit", "teardown"]


def test_an_error_after_the_model_loaded_still_exits_1_with_one_line(tiny_models, tmp_path):
    out = tmp_path / "x.wav"
    result, marks = _probe(tmp_path, "speak", "Hello there.", "-v", "no-such-voice", "-o", str(out))
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("Error: ")
    assert "no-such-voice" in result.stderr
    assert "atexit" in marks
    assert not out.exists()


def test_a_transcript_logged_just_before_the_quick_exit_is_in_the_logs(tiny_models, tmp_path):
    import json

    clip = tmp_path / "clip.wav"
    assert llm_subprocess("speak", "A clip.", "-o", str(clip)).returncode == 0
    result = llm_subprocess("transcribe", str(clip))
    assert result.returncode == 0, result.stderr
    logs = llm_subprocess("logs", "-n", "1", "--json")
    [entry] = json.loads(logs.stdout)
    assert entry["response"] == result.stdout.decode().strip()
