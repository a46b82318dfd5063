"""The per-process pool of loaded models.

A model loads once and is shared by later calls; concurrent callers asking for the
same model wait on one load; a failed load hands every waiter the original error.
Idle models are evicted least-recently-used first when a new one would not fit the
memory budget; a model in use or pinned is never evicted. Loading itself runs on
the MLX thread (see mlx_thread.py); the pool only keeps the books.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import dataclasses
import os
import re
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from ..errors import AudioError, PoolFullError
from .thread import MLXThread, get_mlx_thread

MEMORY_ENV = "LLM_MLX_AUDIO_MEMORY_LIMIT"
_WEIGHT_SUFFIXES = (".safetensors", ".npz", ".bin", ".pth", ".pt", ".onnx", ".gguf")


@dataclasses.dataclass
class _Entry:
    key: str
    future: concurrent.futures.Future
    size: int
    refs: int = 0
    pinned: bool = False
    last_used: float = dataclasses.field(default_factory=time.monotonic)
    loaded_at: float | None = None

    @property
    def ready(self) -> bool:
        return self.future.done() and self.future.exception() is None


def parse_size(text: str) -> int:
    """'8GB', '512 MiB', '1.5g' or a plain byte count, as bytes."""
    match = re.fullmatch(r"\s*([\d.]+)\s*([kmgt]?)(i?b?)\s*", str(text).lower())
    if not match:
        raise AudioError(f"Cannot read memory size '{text}': use a number like 8GB or 512MB")
    number, unit, _ = match.groups()
    scale = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}[unit]
    return int(float(number) * scale)


def default_budget() -> int:
    """The memory budget: LLM_MLX_AUDIO_MEMORY_LIMIT, else 60% of physical memory."""
    configured = os.environ.get(MEMORY_ENV)
    if configured:
        return parse_size(configured)
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # pragma: no cover - non-POSIX
        total = 16 * 1024**3
    return int(total * 0.6)


def estimate_size(path) -> int:
    """Bytes a model folder will take once loaded: its weight files plus a quarter."""
    path = Path(path)
    if path.is_file():
        return int(path.stat().st_size * 1.25)
    total = 0
    if path.is_dir():
        for file in path.rglob("*"):
            if file.suffix in _WEIGHT_SUFFIXES and file.is_file():
                total += file.stat().st_size
    return int(total * 1.25)


class ModelPool:
    def __init__(self, budget: int | None = None, executor: MLXThread | None = None):
        self.budget = budget if budget is not None else default_budget()
        self._executor = executor
        self._entries: dict[str, _Entry] = {}
        self._lock = threading.Lock()

    @property
    def executor(self) -> MLXThread:
        return self._executor or get_mlx_thread()

    @contextlib.contextmanager
    def use(self, key: str, loader: Callable[[], Any], estimate: int = 0) -> Iterator[Any]:
        """Yield the loaded model for key, loading it (once) with loader on the MLX thread."""
        entry, must_load = self._acquire(key, estimate)
        try:
            if must_load:
                value = self._load(entry, loader)
            else:
                value = entry.future.result()
            yield value
        finally:
            with self._lock:
                entry.refs -= 1
                entry.last_used = time.monotonic()

    def pin(self, key: str, pinned: bool = True) -> None:
        """A pinned model stays loaded whatever the memory pressure."""
        with self._lock:
            if key not in self._entries:
                raise KeyError(key)
            self._entries[key].pinned = pinned

    def unload(self, key: str) -> bool:
        """Drop an idle model now; refuses (False) while it is in use."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry.refs > 0 or not entry.future.done():
                return False
            del self._entries[key]
        self._release(entry)
        return True

    def unload_idle(self, seconds: float) -> list[str]:
        """Unload the models idle for at least seconds (not pinned, not in use); their keys."""
        now = time.monotonic()
        with self._lock:
            idle = [
                e.key
                for e in self._entries.values()
                if not e.pinned and e.refs == 0 and e.future.done() and now - e.last_used >= seconds
            ]
        return [key for key in idle if self.unload(key)]

    def loaded(self) -> list[dict]:
        now = time.monotonic()
        with self._lock:
            return [
                {
                    "key": e.key,
                    "size": e.size,
                    "in_use": e.refs,
                    "pinned": e.pinned,
                    "ready": e.ready,
                    "idle_seconds": 0.0 if e.refs else round(now - e.last_used, 1),
                }
                for e in sorted(self._entries.values(), key=lambda e: e.last_used)
            ]

    def used(self) -> int:
        with self._lock:
            return sum(e.size for e in self._entries.values())

    # -- internals --------------------------------------------------------

    def _acquire(self, key: str, estimate: int):
        evicted: list[_Entry] = []
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                entry.refs += 1
                return entry, False
            evicted = self._make_room(key, estimate)
            entry = _Entry(key=key, future=concurrent.futures.Future(), size=estimate, refs=1)
            self._entries[key] = entry
        for old in evicted:
            self._release(old)
        return entry, True

    def _make_room(self, key: str, needed: int) -> list[_Entry]:
        """Pick idle models to evict (LRU first) so that needed bytes fit. Lock held."""
        used = sum(e.size for e in self._entries.values())
        if used + needed <= self.budget:
            return []
        idle = sorted(
            (e for e in self._entries.values() if e.refs == 0 and not e.pinned and e.future.done()),
            key=lambda e: e.last_used,
        )
        evicted = []
        for entry in idle:
            if used + needed <= self.budget:
                break
            used -= entry.size
            del self._entries[entry.key]
            evicted.append(entry)
        if used + needed > self.budget:
            # Nothing was lost: put the evicted ones back, they are still loaded.
            for entry in evicted:
                self._entries[entry.key] = entry
            raise PoolFullError(
                f"{key} needs about {_gb(needed)} but only {_gb(self.budget - used)} of the "
                f"{_gb(self.budget)} memory budget is free (models in use or pinned); "
                f"set {MEMORY_ENV} to change the budget"
            )
        return evicted

    def _load(self, entry: _Entry, loader: Callable[[], Any]) -> Any:
        try:
            value, measured = self.executor.run(_measured_load, loader)
        except BaseException as e:
            with self._lock:
                if self._entries.get(entry.key) is entry:
                    del self._entries[entry.key]
            entry.future.set_exception(e)
            raise
        with self._lock:
            if measured > 0:
                entry.size = measured
            entry.loaded_at = time.monotonic()
        entry.future.set_result(value)
        return value

    def _release(self, entry: _Entry) -> None:
        entry.future = concurrent.futures.Future()  # drop our reference to the model
        try:
            self.executor.submit(_free_memory)
        except RuntimeError:  # the MLX thread is already shut down at exit
            pass


def _measured_load(loader: Callable[[], Any]):
    """Load on the MLX thread, measuring the MLX memory the load added."""
    import sys

    before = _active_memory() if "mlx.core" in sys.modules else 0
    value = loader()
    after = _active_memory()
    return value, max(0, after - before)


def _active_memory() -> int:
    try:
        import mlx.core as mx

        return int(mx.get_active_memory())
    except Exception:
        return 0


def _free_memory() -> None:
    import gc
    import sys

    gc.collect()
    mx = sys.modules.get("mlx.core")
    if mx is not None:
        mx.clear_cache()


def _gb(n: int) -> str:
    return f"{n / 1024**3:.1f} GB"


_pool: ModelPool | None = None
_pool_lock = threading.Lock()


def get_pool() -> ModelPool:
    """The process-wide model pool."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ModelPool()
        return _pool
