"""How much model work the server takes on, and dropping work nobody waits for any more.

All model work runs one job at a time on the MLX thread, so requests queue. Past
``max_queue`` waiting requests a new one gets 503 with Retry-After at once, instead of
hanging for minutes. A request whose client hangs up is cancelled: if its work has not
started it never starts, and running work stops at its next decoder step (transcription) or
sentence (speech), so the next client waits for little more than one step. A request keeps
its place until its response is sent: a streamed speech response is still synthesizing
after its first chunk, and an upload is admitted before it is read.
"""

from __future__ import annotations

import threading

import anyio
from fastapi.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from .. import registry
from ..errors import JobCancelled
from .errors import ApiError


class Admission:
    """Counts requests doing model work; refuses more than one running plus max_queue waiting."""

    def __init__(self, max_queue: int):
        self.max_queue = max_queue
        self._lock = threading.Lock()
        self._active = 0
        self.cancelled = 0  # requests whose work was stopped because their client left

    def enter(self) -> Slot:
        with self._lock:
            if self._active > self.max_queue:
                waiting = self._active - 1
                raise ApiError(
                    503,
                    f"The server is busy: {waiting} requests are waiting for the model; try again shortly",
                    code="server_busy",
                    headers={"Retry-After": str(min(60, 1 + waiting))},
                )
            self._active += 1
        return Slot(self)

    def leave(self) -> None:
        with self._lock:
            self._active -= 1

    @property
    def active(self) -> int:
        return self._active


class Slot:
    """One admitted request's place in the queue, given back exactly once."""

    def __init__(self, admission: Admission):
        self._admission = admission
        self._held = True

    def release(self) -> None:
        if self._held:
            self._held = False
            self._admission.leave()


class _ReleasingResponse(Response):
    """A route's response that gives its slot back once it has been sent (or abandoned):
    a streamed response is still doing model work after its first chunk."""

    def __init__(self, inner: Response, slot: Slot):
        self._inner = inner
        self._slot = slot
        self.status_code = inner.status_code
        self.background = None  # FastAPI hands its background tasks over through this

    async def __call__(self, scope, receive, send):
        if self.background is not None and self._inner.background is None:
            self._inner.background = self.background
        try:
            await self._inner(scope, receive, send)
        finally:
            self._slot.release()


async def run_model_work(request: Request, admission: Admission, fn, *args, prepare=None):
    """fn(*args) on a worker thread, admitted by admission, cancelled if the client goes.

    Admission comes first: with ``prepare`` (an upload's reading and checks, returning
    fn's arguments) nothing is read from a client that would be refused anyway, so
    concurrent uploads held in memory are bounded by the queue. The slot is held until
    the response has been sent.
    """
    slot = admission.enter()
    try:
        if prepare is not None:
            args = await prepare()
        response = await _cancellable_in_thread(request, admission, fn, *args)
    except BaseException:
        slot.release()
        raise
    return _ReleasingResponse(response, slot)


async def _cancellable_in_thread(request: Request, admission: Admission, fn, *args):
    gone = threading.Event()
    outcome: list = []
    async with anyio.create_task_group() as tasks:
        tasks.start_soon(_watch_disconnect, request, gone)
        try:
            outcome.append((True, await run_in_threadpool(_cancellable, gone, fn, *args)))
        except Exception as error:  # raised below, outside the task group (no ExceptionGroup)
            if isinstance(error, JobCancelled):
                admission.cancelled += 1
            outcome.append((False, error))
        tasks.cancel_scope.cancel()
    ok, value = outcome[0]
    if not ok:
        raise value
    return value


def _cancellable(gone: threading.Event, fn, *args):
    with registry.cancel_when(gone):
        return fn(*args)


async def _watch_disconnect(request: Request, gone: threading.Event) -> None:
    while not gone.is_set():
        if await request.is_disconnected():
            gone.set()
            return
        await anyio.sleep(0.1)
