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
