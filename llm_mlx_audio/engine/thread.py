"""The one thread that runs every MLX operation in the process.

Since mlx 0.31.2 a stream belongs to the thread that made it: a model loaded on one
thread can fail when run on another, so loading and inference for every model go
through this single long-lived thread, one job at a time. Callers on any thread get
the job's result or its original exception. At exit the thread clears its MLX
streams before ending, without which the process aborts ("terminate called without
an active exception") about half the time.
"""

from __future__ import annotations

import atexit
import concurrent.futures
import contextlib
import contextvars
import functools
import queue
import threading
from collections.abc import Callable, Iterator
from typing import Any

from ..audio.decode import stop_decoding_when
from ..errors import JobCancelled

_STOP = object()
# Set by whoever may go away before its work is done (a server request): a
# threading.Event that says "stop". Jobs submitted in that context carry it to the MLX
# thread, where long jobs look at it between decoder steps or sentences (cancel_requested).
_cancel_token: contextvars.ContextVar[threading.Event | None] = contextvars.ContextVar(
    "cancel_token", default=None
)
_running = threading.local()


@contextlib.contextmanager
def cancel_when(event: threading.Event):
    """MLX work started inside this block stops when event is set: queued jobs never
    start, a running one stops at its next decoder step or sentence (JobCancelled). Audio
    being decoded in the block (on this thread, not the MLX one) stops at its next packet."""
    reset = _cancel_token.set(event)
    try:
        with stop_decoding_when(event.is_set):
            yield
    finally:
        _cancel_token.reset(reset)


def cancel_requested() -> bool:
    """On the MLX thread: whether the job now running has been asked to stop."""
    event = getattr(_running, "token", None)
    return event is not None and event.is_set()


class MLXThread:
    def __init__(self, name: str = "llm-mlx-audio"):
        self._jobs: queue.Queue = queue.Queue()
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._lock = threading.Lock()
        self._started = False
        self._stopped = False

    # -- public -----------------------------------------------------------

    def submit(self, fn: Callable, *args, **kwargs) -> concurrent.futures.Future:
        """Queue fn to run on the MLX thread; the Future carries its result or exception."""
        future: concurrent.futures.Future = concurrent.futures.Future()
        token = _cancel_token.get()
        if token is not None:
            fn = functools.partial(_with_token, token, fn)
        self._put((future, fn, args, kwargs))
        return future

    def run(self, fn: Callable, *args, timeout: float | None = None, **kwargs) -> Any:
        """Run fn on the MLX thread and wait for it.

        On timeout the job is cancelled if it has not started; if it is running it
        finishes in the background and its result is dropped, so the thread is never
        left waiting on a caller that has gone.
        """
        if self.is_current():
            return fn(*args, **kwargs)
        future = self.submit(fn, *args, **kwargs)
        token = _cancel_token.get()
        try:
            if token is None:
                return future.result(timeout=timeout)
            return _wait_unless_cancelled(future, token, timeout)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise TimeoutError(f"MLX job did not finish within {timeout} seconds") from None

    def stream(self, gen_fn: Callable[..., Iterator], *args, **kwargs) -> Iterator:
        """Run a generator on the MLX thread, handing its items to the caller as they come.

        The generator runs to completion as one job (so no other MLX work interleaves
        with it). If the consumer stops early (break, close, exception), the producer
        is stopped at its next item instead of running on for nothing.
        """
        if self.is_current():
            yield from gen_fn(*args, **kwargs)
            return
        items: queue.Queue = queue.Queue(maxsize=4)
        done = object()
        cancelled = threading.Event()

        def produce():
            try:
                for item in gen_fn(*args, **kwargs):
                    while True:
                        if cancelled.is_set():
                            return
                        try:
                            items.put(("item", item), timeout=0.1)
                            break
                        except queue.Full:
                            continue
            except BaseException as e:  # handed to the consumer, raised there
                _put_until(items, ("error", e), cancelled)
                return
            _put_until(items, ("done", done), cancelled)

        self.submit(produce)
        token = _cancel_token.get()
        try:
            while True:
                tag, value = _next_item(items, token)
                if tag == "item":
                    yield value
                elif tag == "error":
                    raise value
                else:
                    return
        finally:
            cancelled.set()

    def is_current(self) -> bool:
        return threading.current_thread() is self._thread

    def shutdown(self, timeout: float = 30.0) -> None:
        """Stop the thread after the queued jobs, letting it clear its MLX streams."""
        with self._lock:
            if not self._started or self._stopped:
                self._stopped = True
                return
            self._stopped = True
        # Jobs nobody started yet are cancelled: their callers are going away too.
        while True:
            try:
                job = self._jobs.get_nowait()
            except queue.Empty:
                break
            if job is not _STOP:
                job[0].cancel()
        self._jobs.put(_STOP)
        self._thread.join(timeout)

    # -- internals --------------------------------------------------------

    def _put(self, job) -> None:
        with self._lock:
            if self._stopped:
                raise RuntimeError("The MLX thread has been shut down")
            if not self._started:
                _prepare_process()
                self._thread.start()
                self._started = True
        self._jobs.put(job)

    def _loop(self) -> None:
        try:
            while True:
                job = self._jobs.get()
                if job is _STOP:
                    break
                future, fn, args, kwargs = job
                if not future.set_running_or_notify_cancel():
                    continue
                try:
                    result = fn(*args, **kwargs)
                except BaseException as e:
                    future.set_exception(e)
                else:
                    future.set_result(result)
                del job, future, fn, args, kwargs
        finally:
            _release_mlx_thread_state()


def _prepare_process() -> None:
    """The process-wide MLX set-up (patches.prepare_mlx), before the thread's first
    allocation: glibc gives a thread its heap then, and the one it should use is set
    there (patches/allocator.py)."""
    from .patches import prepare_mlx

    prepare_mlx()


def _with_token(token: threading.Event, fn: Callable, *args, **kwargs):
    if token.is_set():
        raise JobCancelled("The request was cancelled before its work started")
    _running.token = token
    try:
        return fn(*args, **kwargs)
    finally:
        _running.token = None


def _wait_unless_cancelled(future: concurrent.futures.Future, token: threading.Event, timeout: float | None):
    """future's result; if token is set first, a job not yet started is dropped at once."""
    import time

    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        try:
            return future.result(timeout=0.05)
        except concurrent.futures.TimeoutError:
            if token.is_set() and future.cancel():
                raise JobCancelled("The request was cancelled before its work started") from None
            if deadline is not None and time.monotonic() > deadline:
                raise


def _next_item(items: queue.Queue, token: threading.Event | None):
    if token is None:
        return items.get()
    while True:
        try:
            return items.get(timeout=0.05)
        except queue.Empty:
            if token.is_set():
                raise JobCancelled("The request was cancelled") from None


def _put_until(items: queue.Queue, entry, cancelled: threading.Event) -> None:
    while not cancelled.is_set():
        try:
            items.put(entry, timeout=0.1)
            return
        except queue.Full:
            continue


def _release_mlx_thread_state() -> None:
    import sys

    # Only touch MLX if this thread ever used it; importing it now would be wasted work.
    mx = sys.modules.get("mlx.core")
    if mx is None:
        return
    try:
        mx.synchronize()
    except Exception:
        pass
    clear = getattr(mx, "clear_streams", None)
    if clear is not None:
        try:
            clear()
        except Exception:
            pass


_executor: MLXThread | None = None
_executor_lock = threading.Lock()


def get_mlx_thread() -> MLXThread:
    """The process-wide MLX thread, started on first use."""
    global _executor
    with _executor_lock:
        if _executor is None:
            _executor = MLXThread()
            atexit.register(_executor.shutdown)
        return _executor
