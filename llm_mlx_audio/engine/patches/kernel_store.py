"""The CPU path's re-laid kernels, kept in one file and memory-mapped on the next load.

Why: weight-normalising and re-laying Kokoro's ~130 convolutions for the numpy path
takes ~0.65 s of every cold `llm speak` on 2 cores (measured), for results that only
change when the weights do. Written once, the next process maps the file and has them
at once: pages come from the page cache, shared between processes, and are never
copied into the process's own memory.

The file: an 8-byte magic, the length of a JSON header, the header, then the arrays,
each 64-byte aligned. The header holds a fingerprint (what the kernels were made
from; the caller decides), every array's offset, dtype and shape, and the structures
they sit in (nested lists, tuples and dicts of arrays, numbers, strings and None). A
file whose fingerprint, size or layout does not match is ignored and written again;
arrays are mapped read-only.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import struct
import tempfile
from pathlib import Path

MAGIC = b"LMAKERN1"
_ALIGN = 64


@dataclasses.dataclass(frozen=True)
class Store:
    """Where one model's kernels are kept, and what they must have been made from."""

    path: Path
    fingerprint: str

    def load(self) -> dict | None:
        return load(self.path, self.fingerprint)

    def save(self, entries: dict) -> bool:
        return save(self.path, self.fingerprint, entries)

    def with_version(self, version: str) -> Store:
        """The same file, for kernels made by code of this version (part of the fingerprint)."""
        combined = hashlib.sha256(f"{self.fingerprint}\0{version}".encode()).hexdigest()
        return Store(self.path, combined)


def fingerprint(model_folder: Path, *parts: str) -> str:
    """What a model folder's kernels are made from: its weight files (name, size, time
    of change), plus whatever the caller adds (the code's version, the libraries')."""
    digest = hashlib.sha256("\0".join(parts).encode())
    for weights in sorted(Path(model_folder).glob("*.safetensors")):
        stat = weights.stat()
        digest.update(f"\0{weights.name}\0{stat.st_size}\0{stat.st_mtime_ns}".encode())
    return digest.hexdigest()


def load(path: Path, fingerprint: str) -> dict | None:
    """The entries saved in path for this fingerprint, with arrays mapped; None if unusable."""
    import numpy as np

    try:
        with open(path, "rb") as f:
            if f.read(8) != MAGIC:
                return None
            (length,) = struct.unpack("<Q", f.read(8))
            header = json.loads(f.read(length).decode())
        start = _aligned(16 + length)
        if header.get("fingerprint") != fingerprint or os.path.getsize(path) != start + header["data_bytes"]:
            return None
        data = np.memmap(path, dtype=np.uint8, mode="r", offset=start)
        arrays = [
            data[offset : offset + nbytes].view(np.dtype(dtype)).reshape(shape)
            for offset, nbytes, dtype, shape in header["arrays"]
        ]
        return _rebuild(header["entries"], arrays)
    except (OSError, ValueError, KeyError, TypeError, IndexError, struct.error):
        return None


def save(path: Path, fingerprint: str, entries: dict) -> bool:
    """Write entries to path, atomically (a reader sees the old file or the whole new one)."""
    import numpy as np

    arrays: list = []
    skeleton = _flatten(entries, arrays)
    layout, offset = [], 0  # offsets from the start of the data
    for array in arrays:
        offset = _aligned(offset)
        layout.append([offset, array.nbytes, array.dtype.str, list(array.shape)])
        offset += array.nbytes
    header = {"fingerprint": fingerprint, "data_bytes": offset, "arrays": layout, "entries": skeleton}
    encoded = json.dumps(header, separators=(",", ":")).encode()
    start = _aligned(16 + len(encoded))

    def write(f):
        f.write(MAGIC + struct.pack("<Q", len(encoded)) + encoded)
        for (at, _, _, _), array in zip(layout, arrays, strict=True):
            f.write(b"\0" * (start + at - f.tell()))
            f.write(np.ascontiguousarray(array).tobytes())

    return write_atomically(path, write)


def write_atomically(path: Path, write) -> bool:
    """write(file) into a temporary file beside path, then rename it over path.

    A reader sees the old file or the whole new one, never half of one; on any error
    nothing is left behind and False is returned (a cache that cannot be written is
    simply not kept).
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    except OSError:
        return False
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
        os.replace(temporary, path)
        return True
    except (OSError, ValueError):
        try:
            os.unlink(temporary)
        except OSError:
            pass
        return False


def _aligned(offset: int) -> int:
    return -(-offset // _ALIGN) * _ALIGN


def _flatten(value, arrays: list):
    import numpy as np

    if isinstance(value, np.ndarray):
        arrays.append(value)
        return {"a": len(arrays) - 1}
    if isinstance(value, dict):
        return {"d": {str(k): _flatten(v, arrays) for k, v in value.items()}}
    if isinstance(value, tuple):
        return {"t": [_flatten(v, arrays) for v in value]}
    if isinstance(value, list):
        return {"l": [_flatten(v, arrays) for v in value]}
    if value is None or isinstance(value, (bool, int, float, str)):
        return {"v": value}
    if isinstance(value, np.generic):
        return {"v": value.item()}
    raise TypeError(f"cannot store a {type(value).__name__}")


def _rebuild(node, arrays: list):
    ((kind, value),) = node.items()
    if kind == "a":
        return arrays[value]
    if kind == "d":
        return {k: _rebuild(v, arrays) for k, v in value.items()}
    if kind == "t":
        return tuple(_rebuild(v, arrays) for v in value)
    if kind == "l":
        return [_rebuild(v, arrays) for v in value]
    if kind == "v":
        return value
    raise ValueError(f"unknown entry kind {kind!r}")
