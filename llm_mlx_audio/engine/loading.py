"""Loading a model folder on the MLX thread: mlx-audio's own loader, then the adaptations.

The one place that applies ``patches``. A patch that breaks on this mlx-audio is
skipped: the model is loaded again without it, so it still runs, stock.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from pathlib import Path
from typing import Any

from ..errors import ModelLoadError
from . import detection, patches, quiet

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
    quiet.quiet_libraries()
    patches.prepare_mlx()
    config = detection.read_config(path) or {}
    model_type = str(config.get("model_type") or "").lower()
    skip: set = set()
    while True:
        model = _load_stock(path, kind, model_id, model_type)
        try:
            extra = patches.adapt(model, kind, skip=skip)
        except patches.PatchFailed as failed:
            patches.skipped(failed.name, failed.error)
            skip.add(failed.name)  # the model may be half changed: load it afresh
            continue
        log.debug("loaded %s in %.2f s", model_id, time.perf_counter() - started)
        return Loaded(model=model, model_type=model_type, generate_kwargs=extra)


def _load_stock(path: Path, kind: str, model_id: str, model_type: str):
    try:
        if kind == "speech":
            from mlx_audio.tts.utils import load_model
        else:
            from mlx_audio.stt.utils import load_model
        with patches.loading(model_type):
            return load_model(Path(path))
    except (OSError, ValueError, KeyError, TypeError, AttributeError, ImportError) as e:
        raise ModelLoadError(f"Could not load {model_id} from {path}: {one_line(e)}") from e


def one_line(e: BaseException) -> str:
    """An exception's first line, for errors shown to a user."""
    text = str(e).strip().splitlines()
    return text[0] if text else type(e).__name__
