"""What model loads keep on disk for the next process, and where (llm's user directory).

The CPU path's re-laid kernels (one file per model folder) and misaki's ready-made
dictionaries live under ``llm-mlx-audio-cache/``. Everything there is made again when
missing or stale, so the folder may be deleted at any time.
"""

from __future__ import annotations

from pathlib import Path

from . import patches

CACHE_DIR = "llm-mlx-audio-cache"


def cache_folder() -> Path:
    """The folder of everything the adaptations keep between processes."""
    import llm

    return llm.user_dir() / CACHE_DIR


def caches_for(path: Path) -> patches.Caches:
    """The caches for a model folder: its re-laid kernels in one file (written again when
    the folder's weights change), and the shared folder."""
    import hashlib
    import sys
    from importlib import metadata

    from .patches import kernel_store

    folder = Path(path).resolve()
    name = f"{folder.name}-{hashlib.sha256(str(folder).encode()).hexdigest()[:12]}.bin"
    try:
        versions = metadata.version("mlx-audio"), metadata.version("mlx")
    except metadata.PackageNotFoundError:
        versions = ("unknown", "unknown")
    fingerprint = kernel_store.fingerprint(folder, *versions, sys.byteorder)
    folder_cache = cache_folder()
    return patches.Caches(kernel_store.Store(folder_cache / "kernels" / name, fingerprint), folder_cache)
