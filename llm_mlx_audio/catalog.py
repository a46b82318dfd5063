"""The models this user has downloaded or imported, kept in llm's user directory.

Like llm-mlx's llm-mlx.json: a small JSON file read when models are registered, so
listing models never touches the weights. Aliases are NOT kept here: they live in
llm's own aliases.json. Defaults sit beside llm's default_model.txt, as
default_speech_model.txt and default_transcription_model.txt.
"""

from __future__ import annotations

import json
from pathlib import Path

import llm

CATALOG_FILE = "llm-mlx-audio.json"
MODELS_DIR = "llm-mlx-audio-models"
DEFAULT_FILES = {
    "speech": "default_speech_model.txt",
    "transcription": "default_transcription_model.txt",
}


def catalog_path() -> Path:
    return llm.user_dir() / CATALOG_FILE


def models_dir() -> Path:
    """Where imported (converted) models are stored."""
    return llm.user_dir() / MODELS_DIR


def read_json_object(path: Path) -> dict:
    """A JSON file holding an object; {} when missing or damaged (never crash llm over it)."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def load_catalog() -> dict[str, dict]:
    """{model_id: {"kind": ..., "path": ..., "source": ...}}"""
    models = read_json_object(catalog_path()).get("models", {})
    return {k: v for k, v in models.items() if isinstance(v, dict)} if isinstance(models, dict) else {}


def record_model(model_id: str, kind: str, path, source: str, **extra) -> None:
    models = load_catalog()
    models[model_id] = {"kind": kind, "path": str(path), "source": source, **extra}
    _write_json(catalog_path(), {"models": models})


def forget_model(model_id: str) -> bool:
    models = load_catalog()
    if model_id not in models:
        return False
    del models[model_id]
    _write_json(catalog_path(), {"models": models})
    return True


def get_default(kind: str) -> str | None:
    path = llm.user_dir() / DEFAULT_FILES[kind]
    if path.exists():
        value = path.read_text().strip()
        return value or None
    return None


def set_default(kind: str, model_id: str | None) -> None:
    path = llm.user_dir() / DEFAULT_FILES[kind]
    if model_id is None:
        if path.exists():
            path.unlink()
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(model_id)


def _write_json(path: Path, data) -> None:
    from .files import write_atomically

    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, json.dumps(data, indent=2).encode())
