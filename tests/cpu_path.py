"""What the CPU-path test modules share: where they run, and the switch left on.

    from cpu_path import on_the_cpu_path, speedups_on  # noqa: F401  (the fixture)
    pytestmark = on_the_cpu_path
"""

import sys

import pytest

from llm_mlx_audio.engine.patches import cpu as cpu_speed

on_the_cpu_path = pytest.mark.skipif(
    not sys.platform.startswith("linux") or cpu_speed._mlx_uses_gpu(),
    reason="the CPU speed-ups only apply on Linux without a GPU device",
)


@pytest.fixture(autouse=True)
def speedups_on(monkeypatch):
    """LLM_MLX_AUDIO_CPU_FAST unset (on by default), whatever the caller's environment."""
    monkeypatch.delenv(cpu_speed.ENV_SWITCH, raising=False)
