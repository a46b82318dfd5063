"""Where the CPU speed-ups apply: Linux, no GPU device, and not switched off.

On Apple Silicon (Metal), any GPU device, or with ``LLM_MLX_AUDIO_CPU_FAST=0`` every
CPU patch stands aside and mlx-audio runs as shipped. ``LLM_MLX_AUDIO_CPU_FAST=blas``
keeps only OpenBLAS under MLX: every model runs mlx-audio's own code (the code Metal
runs), with matrix products a CPU can afford; that is how CI tests the Metal path. Only stdlib at module level:
the plugin is imported on every ``llm`` call.
"""

from __future__ import annotations

import os
import sys

ENV_SWITCH = "LLM_MLX_AUDIO_CPU_FAST"
_OFF = {"0", "false", "no", "off"}


def enabled() -> bool:
    """True where the CPU speed-ups apply: Linux, no GPU device, switch not set to 0.

    Before ``mlx.core`` is imported the device cannot be asked without importing it
    (which would defeat ``prepare_mlx``), so only the platform and switch count then.
    """
    if os.environ.get(ENV_SWITCH, "1").strip().lower() in _OFF | {"blas"}:
        return False
    if not sys.platform.startswith("linux"):
        return False
    return not mlx_uses_gpu()


def blas_enabled() -> bool:
    """True where OpenBLAS goes under MLX: wherever the speed-ups apply, and with ``=blas``."""
    if os.environ.get(ENV_SWITCH, "1").strip().lower() == "blas":
        return sys.platform.startswith("linux") and not mlx_uses_gpu()
    return enabled()


def mlx_uses_gpu() -> bool:
    mx = sys.modules.get("mlx.core")
    if mx is None:
        return False
    try:
        metal = getattr(mx, "metal", None)
        if metal is not None and metal.is_available():
            return True
        return mx.default_device() == mx.gpu
    except (AttributeError, RuntimeError):  # an MLX build without these APIs
        return False
