"""Model folders that ship their own Python code are refused, before any loader reads them.

Some of mlx-audio's loaders (qwen3_asr, qwen2_audio, glmasr, granite_speech,
vibevoice_asr...) ask transformers for a tokenizer or processor with
``trust_remote_code=True``: transformers then imports whatever Python file the
folder's ``auto_map`` names, with the user's rights. A model is data here, never a
program, so a folder whose configs name custom code is refused with one line, on
every path a model comes in by: download (config.json, before the weights come
down), import and load. ``patches/model_code.py`` is the second lock: transformers
itself refuses to import a repo's code, whoever asks it.

Only the standard library is used (the error and its sentence are the guard's); a
config that cannot be read is left to the loader, which says so in its own words.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from .patches.model_code import ModelCodeRefused, refusal

__all__ = ["CONFIG_FILES", "ModelCodeRefused", "check_config", "check_folder", "display_name", "refusal"]

#: The files transformers' Auto classes read an ``auto_map`` from.
CONFIG_FILES = (
    "config.json",
    "tokenizer_config.json",
    "processor_config.json",
    "preprocessor_config.json",
    "feature_extractor_config.json",
    "video_preprocessor_config.json",
)


def custom_code_key(config) -> str | None:
    """The key by which a config asks for custom code, or None."""
    if not isinstance(config, dict):
        return None
    if "auto_map" in config:
        return "auto_map"
    if config.get("trust_remote_code"):
        return "trust_remote_code"
    if "custom_pipelines" in config:
        return "custom_pipelines"
    return None


def check_config(config, file_name: str, name: str) -> None:
    """Raise ModelCodeRefused when one config (already read) names custom code."""
    key = custom_code_key(config)
    if key:
        raise ModelCodeRefused(refusal(name, f"{key} in {file_name}"))


def check_folder(path, name: str) -> None:
    """Raise ModelCodeRefused when any config in the folder (or one level down) names custom code.

    ``name`` is what the user knows the model by (its id or repo), never a path.
    """
    path = Path(path)
    for file in _config_files(path):
        check_config(_read(file), file.relative_to(path).as_posix(), name)


def display_name(model_id: str, path) -> str:
    """A folder given by its path is named by its folder name; others by their id."""
    return Path(path).name if Path(model_id).is_absolute() else model_id


def _config_files(path: Path) -> Iterator[Path]:
    if not path.is_dir():
        return
    for file_name in CONFIG_FILES:
        yield from sorted(path.glob(file_name))
        yield from sorted(path.glob(f"*/{file_name}"))  # tokenizer/, processor/...


def _read(file: Path):
    try:
        with open(file, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return None
