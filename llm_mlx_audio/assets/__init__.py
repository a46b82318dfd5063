"""Small model data shipped in the wheel, each folder with its licence notice.

Nothing here is code: ``files(name)`` is the path of one folder.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).parent


def files(name: str) -> Path:
    """The folder of shipped data called name (e.g. ``whisper``)."""
    return ROOT / name
