"""`llm audio import`: a local model folder or checkpoint becomes a registered model.

MLX-format folders are used where they are. faster-whisper (CTranslate2) Whisper
folders and kokoro-onnx checkpoints are converted into llm's user directory first.
A conversion is built in a temporary folder and renamed into place, so a failed
or interrupted import leaves nothing half-made.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from .. import catalog
from ..errors import AudioError, WrongModelKindError
from ..files import remove_tree
from . import detection, remote_code


def import_model(path, name: str | None = None, progress: Callable | None = None) -> tuple:
    """Register (converting if needed) the model at path. Returns (model_id, kind, stored path)."""
    from .importers import ctranslate2_whisper, kokoro_onnx

    path = Path(path).expanduser()
    if not path.exists():
        raise AudioError(f"{path}: no such file or directory")
    path = path.resolve()
    model_id = _default_name(path) if name is None else name
    _safe_folder_name(model_id)  # refuse a bad name before any work
    if path.is_dir() and (path / "config.json").exists() and not ctranslate2_whisper.looks_like(path):
        kind = detection.detect_folder(path)
        if kind not in ("speech", "transcription"):
            raise WrongModelKindError(
                f"{path} holds {detection.describe_kind(kind)}; only speech and transcription "
                "models can be imported"
            )
        if not any(path.glob("*.safetensors")) and not any(path.glob("*.npz")):
            raise AudioError(f"{path} has a config.json but no .safetensors weights")
        remote_code.check_folder(path, model_id)
        catalog.record_model(model_id, kind, path, source="import")
        return model_id, kind, path
    if ctranslate2_whisper.looks_like(path):
        converter, kind = ctranslate2_whisper.convert, "transcription"
    elif kokoro_onnx.looks_like(path):
        converter, kind = kokoro_onnx.convert, "speech"
    else:
        raise AudioError(
            f"{path} is not a model this plugin can import: expected an MLX model folder "
            "(config.json + .safetensors), a faster-whisper / CTranslate2 Whisper folder "
            "(model.bin, config.json, tokenizer.json) or a kokoro-onnx .onnx checkpoint with its voices"
        )
    dest = store_converted(model_id, lambda tmp: converter(path, tmp, progress=progress))
    catalog.record_model(model_id, kind, dest, source="import", original=str(path))
    return model_id, kind, dest


def converted_path(model_id: str) -> Path:
    """Where a converted model with this id is stored."""
    return catalog.models_dir() / _safe_folder_name(model_id)


def store_converted(model_id: str, convert: Callable[[Path], None]) -> Path:
    """Run convert(tmp_dest) and move the result to the models directory atomically."""
    root = catalog.models_dir()
    root.mkdir(parents=True, exist_ok=True)
    dest = converted_path(model_id)
    work = Path(tempfile.mkdtemp(prefix=".import-", dir=root))
    try:
        convert(work / "model")
        if dest.exists() or dest.is_symlink():
            remove_tree(dest, root)
        (work / "model").rename(dest)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return dest


def _default_name(path: Path) -> str:
    name = path.stem if path.is_file() else path.name
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-.").lower() or "model"


def _safe_folder_name(model_id: str) -> str:
    """A folder name for model_id that can only ever name a folder inside the models folder.

    ``.``, ``..``, dot-only and hidden names (our own work folders start with a dot)
    are refused: with ``..`` a re-import once deleted llm's whole user directory.
    """
    name = re.sub(r"[^A-Za-z0-9._-]+", "--", model_id)
    if not name.strip(".-") or name.startswith("."):
        raise AudioError(
            f"'{model_id}' cannot name a model: use letters, digits, '-', '_' or '.', not starting with '.'"
        )
    return name
