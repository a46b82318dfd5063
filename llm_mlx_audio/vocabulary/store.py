"""The stored vocabulary: one JSON file in llm's user directory, beside llm's own files.

``llm-mlx-audio-vocabulary.json`` holds {"terms": [...], "corrections": [{"heard",
"meant"}, ...]} in the order they were added. It is read on every transcription (a few
hundred bytes), so `llm audio vocabulary add` takes effect at once, in a running server too,
and written whole and atomically, so a crash never leaves half a file.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..errors import AudioError
from .entries import Vocabulary

FILENAME = "llm-mlx-audio-vocabulary.json"


def path() -> Path:
    import llm

    return llm.user_dir() / FILENAME


def load() -> Vocabulary:
    """The stored vocabulary (empty when none is stored); a damaged file is named in one line."""
    file = path()
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return Vocabulary()
    except (OSError, ValueError) as error:
        raise AudioError(f"Cannot read the stored vocabulary {file}: {error}") from None
    try:
        return Vocabulary.from_dict(data)
    except (AudioError, AttributeError, KeyError, TypeError) as error:
        raise AudioError(
            f"The stored vocabulary {file} is damaged ({error}); remove it to start again"
        ) from None


def save(vocabulary: Vocabulary) -> None:
    from ..files import write_atomically

    file = path()
    file.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(file, (json.dumps(vocabulary.to_dict(), ensure_ascii=False, indent=2) + "\n").encode())
