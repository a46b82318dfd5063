"""Keep the engine's libraries quiet on stderr, unless the user asked to hear them.

In normal use `llm speak` prints nothing but its own errors: phonemizer's "words count
mismatch", misaki's DeprecationWarnings and mlx-audio's root-logger lines ("Truncating
to 510 characters") are for the people who work on those libraries. With
``LLM_MLX_AUDIO_DEBUG=1`` (what ``--verbose`` sets) they all show, beside this
plugin's own timings (logger ``llm_mlx_audio``: load, G2P, synthesis, real-time factor).
"""

from __future__ import annotations

import logging
import os
import warnings

ENV_DEBUG = "LLM_MLX_AUDIO_DEBUG"
_LIBRARIES = ("mlx_audio", "misaki", "phonemizer", "spacy", "transformers", "huggingface_hub", "tokenizers")
_done = {"quiet": False}


def debugging() -> bool:
    return os.environ.get(ENV_DEBUG, "").strip().lower() not in ("", "0", "false", "no", "off")


def quiet_libraries() -> None:
    """Silence the libraries' warnings and log lines below errors (once per process)."""
    if _done["quiet"] or debugging():
        return
    _done["quiet"] = True
    for name in _LIBRARIES:
        logging.getLogger(name).setLevel(logging.ERROR)
        warnings.filterwarnings("ignore", module=rf"{name}(\.|$)")
    # mlx-audio logs through the root logger itself (logging.warning(...)).
    logging.getLogger().addFilter(_not_from_libraries)


def _not_from_libraries(record: logging.LogRecord) -> bool:
    if record.levelno >= logging.ERROR:
        return True
    path = record.pathname.replace(os.sep, "/")
    return not any(f"/{name}/" in path for name in _LIBRARIES)
