"""The CPU-path modules run only where the CPU speed-ups apply, with the switch left on.

A module marks itself ``pytestmark = pytest.mark.cpu_path``; here that becomes a skip
on macOS and on any GPU device, where every CPU patch stands aside by design.
"""

import sys

import pytest

from llm_mlx_audio.engine import patches


def pytest_collection_modifyitems(items):
    if sys.platform.startswith("linux") and not patches.mlx_uses_gpu():
        return
    skip = pytest.mark.skip(reason="the CPU speed-ups only apply on Linux without a GPU device")
    for item in items:
        if item.get_closest_marker("cpu_path"):
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def speedups_on(monkeypatch):
    """LLM_MLX_AUDIO_CPU_FAST unset (on by default), whatever the caller's environment."""
    monkeypatch.delenv(patches.ENV_SWITCH, raising=False)
