"""Loading a model folder on the MLX thread: mlx-audio's own loader, then the adaptations.

The one place that applies ``patches``. A patch that breaks on this mlx-audio is
skipped: the model is loaded again without it, so it still runs, stock. A folder
whose configs name its own Python code is refused before any loader sees it
(remote_code.py).
"""

from __future__ import annotations

import dataclasses
import logging
import time
from pathlib import Path
from typing import Any

from ..errors import ModelLoadError
from . import detection, load_caches, patches, quiet, remote_code

log = logging.getLogger("llm_mlx_audio")


@dataclasses.dataclass
class Loaded:
    """A model as it sits in the pool."""

    model: Any
    model_type: str
    generate_kwargs: dict[str, Any]


def load(path: Path, kind: str, model_id: str) -> Loaded:
    """Load a model folder with mlx-audio's own loader, then make it fast and usable here."""
    started = time.perf_counter()
    remote_code.check_folder(path, remote_code.display_name(model_id, path))
    quiet.quiet_libraries()
    patches.prepare_mlx()
    config = detection.read_config(path) or {}
    model_type = str(config.get("model_type") or "").lower()
    skip: set = set()
    caches = load_caches.caches_for(path)
    while True:
        tokenizers = caches.folder / "whisper-tokenizers" if caches.folder else None
        model = _load_stock(path, kind, model_id, model_type, tokenizers)
        try:
            extra = patches.adapt(model, kind, skip=skip, caches=caches)
        except patches.PatchFailed as failed:
            patches.skipped(failed.name, failed.error)
            skip.add(failed.name)  # the model may be half changed: load it afresh
            continue
        notice_slow_path()
        log.debug("loaded %s in %.2f s", model_id, time.perf_counter() - started)
        return Loaded(model=model, model_type=model_type, generate_kwargs=extra)


def _load_stock(path: Path, kind: str, model_id: str, model_type: str, tokenizers: Path | None = None):
    try:
        if kind == "speech":
            from mlx_audio.tts.utils import load_model
        elif kind == "vad":
            from mlx_audio.vad.utils import load_model
        elif kind == "speaker":  # GE2E: our own MLX module (mlx-audio has no speaker encoder)
            from .speaker_encoder import load_model
        else:
            from mlx_audio.stt.utils import load_model
        with patches.loading(model_type, cache_dir=tokenizers):
            return load_model(Path(path))
    except (OSError, ValueError, KeyError, TypeError, AttributeError, ImportError, RuntimeError) as e:
        # RuntimeError: what MLX raises for a corrupt or truncated .safetensors file.
        raise ModelLoadError(f"Could not load {model_id} from {path}: {one_line(e)}") from e


def one_line(e: BaseException) -> str:
    """An exception's first line, for errors shown to a user."""
    text = str(e).strip().splitlines()
    return text[0] if text else type(e).__name__


SLOW_PATH_MARKER = "llm-mlx-audio-slow-blas-noticed"
ENV_QUIET = "LLM_MLX_AUDIO_QUIET"  # set by commands whose output is for programs (JSON)


def notice_slow_path() -> None:
    """Say once per user directory that MLX is on the reference BLAS, and how to fix it.

    What `llm install llm-mlx-audio` gives a Linux user: everything several times
    slower, and nothing would say so. Never in quiet (JSON) runs.
    """
    import os
    import sys

    import llm

    from . import diagnostics

    if os.environ.get(ENV_QUIET) or not diagnostics.on_slow_path():
        return
    marker = llm.user_dir() / SLOW_PATH_MARKER
    if marker.exists():
        return
    print(
        "llm-mlx-audio: MLX is using the slow reference BLAS here (matrix products about 30x slower); "
        f"for speed: {diagnostics.openblas_install_command()} (see `llm audio doctor`)",
        file=sys.stderr,
        flush=True,
    )
    try:
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.touch()
    except OSError:
        pass
