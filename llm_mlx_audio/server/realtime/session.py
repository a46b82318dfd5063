"""One Realtime WebSocket session: client events in, server events out.

The receive loop handles client events one at a time, in order (an append's VAD runs
on the MLX thread through a worker thread, so the event loop never blocks).
Committed audio goes to a per-session queue that one task transcribes in order, so
``...transcription.completed`` events come in the order the speech was committed
while the next utterance is already being heard. ``responder`` is a conversation
session's answering side (conversation.py): it gets each transcribed turn, the
response events, and word of speech that starts while it answers.

Everything a session holds is released the moment the client goes: its queue is
dropped, work in flight stops at its next decoder step (``registry.cancel_when``),
and the VAD's pool lease is returned.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import math
import threading

from fastapi.concurrency import run_in_threadpool
from starlette.websockets import WebSocket, WebSocketDisconnect

from ... import registry
from ...errors import AudioError
from ..errors import log
from ..names import resolve_model
from .events import RealtimeError, error_event, event, new_id, user_audio_item
from .input_audio import InputBuffer, decode_pcm16, ms
from .settings import Settings, session_object, updated

#: Committed stretches waiting for transcription, per session.
MAX_PENDING = 16
#: A client event's text, at most (OpenAI's 15 MB of audio, base64, with room for the JSON).
MAX_EVENT_CHARS = 21 * 1024 * 1024
#: Appended audio read but not yet heard, at most (base64 characters: about 25 minutes at 24 kHz).
MAX_INBOX_CHARS = 96 * 1024 * 1024


class Session:
    def __init__(self, websocket: WebSocket, settings: Settings, beta: bool = False):
        self.websocket = websocket
        self.settings = settings
        self.beta = beta
        self.id = new_id("sess")
        self._buffer: InputBuffer | None = None
        self._vad = contextlib.ExitStack()
        self._detector = None
        self._speech_item: str | None = None
        self._previous_item: str | None = None
        self._pending: asyncio.Queue = asyncio.Queue(MAX_PENDING)
        self._inbox: collections.deque = collections.deque()
        self._arrived = asyncio.Event()
        self._inbox_chars = 0
        self._send_lock = asyncio.Lock()
        self.cancelled = threading.Event()
        self.responder = None  # a conversation session's (set by the route)

    async def run(self) -> None:
        created = "transcription_session.created" if self.beta else "session.created"
        await self.send(event(created, session=session_object(self.settings, self.id)))
        workers = [asyncio.create_task(self._transcribe_in_order()), asyncio.create_task(self._process())]
        try:
            await self._read()
        finally:
            self.cancelled.set()
            for worker in workers:
                worker.cancel()
            if self.responder is not None:
                await self.responder.close()
            for worker in workers:
                with contextlib.suppress(asyncio.CancelledError):
                    await worker
            await run_in_threadpool(self._vad.close)

    async def send(self, message: dict) -> None:
        async with self._send_lock:
            with contextlib.suppress(WebSocketDisconnect, RuntimeError):
                await self.websocket.send_text(json.dumps(message))

    async def _read(self) -> None:
        """Read client events as fast as they come, into the inbox.

        Reading never waits for the model work an event causes: a socket that is not
        read stops answering the client's keepalive pings, and a client streaming faster
        than real time (a file, not a microphone) would be dropped for it.
        """
        while True:
            try:
                text = await self.websocket.receive_text()
            except (WebSocketDisconnect, RuntimeError):  # RuntimeError: gone while a send was under way
                return
            message, client_event_id = None, None
            try:
                message = _parse(text)
                client_event_id = (
                    message.get("event_id") if isinstance(message.get("event_id"), str) else None
                )
                size = len(text) if message["type"] == "input_audio_buffer.append" else 0
                if self._inbox_chars + size > MAX_INBOX_CHARS:
                    raise RealtimeError(
                        "audio is arriving faster than it can be heard: this append was dropped",
                        code="input_audio_backlog",
                    )
                self._inbox_chars += size
                self._inbox.append((message, client_event_id, size))
            except RealtimeError as error:
                self._inbox.append((error, client_event_id, 0))
            self._arrived.set()

    async def _process(self) -> None:
        """Handle the inbox's events in order; appends waiting together go to the VAD as one."""
        while True:
            while not self._inbox:
                self._arrived.clear()
                await self._arrived.wait()
            message, client_event_id, size = self._inbox.popleft()
            self._inbox_chars -= size
            try:
                if isinstance(message, RealtimeError):
                    raise message
                if message["type"] == "input_audio_buffer.append":
                    await self._append(self._appended_audio(message))
                else:
                    await self._dispatch(message)
            except RealtimeError as error:
                await self.send(error_event(error, client_event_id))

    def _appended_audio(self, first: dict):
        """The samples of this append and of the appends queued right behind it."""
        import numpy as np

        parts = [decode_pcm16(first.get("audio"))]
        while self._inbox:
            message, _client_event_id, size = self._inbox[0]
            if isinstance(message, RealtimeError) or message["type"] != "input_audio_buffer.append":
                break
            try:
                samples = decode_pcm16(message.get("audio"))
            except RealtimeError:
                break  # handled on its own, with its own error event
            self._inbox.popleft()
            self._inbox_chars -= size
            parts.append(samples)
        return parts[0] if len(parts) == 1 else np.concatenate(parts)

    async def _dispatch(self, message: dict) -> None:
        kind = message["type"]
        if kind in ("session.update", "transcription_session.update"):
            await self._update(message.get("session"), beta=kind.startswith("transcription_session"))
        elif kind == "input_audio_buffer.commit":
            await self._commit()
        elif kind == "input_audio_buffer.clear":
            if self._buffer is not None:
                self._buffer.clear()
            self._speech_item = None
            await self.send(event("input_audio_buffer.cleared"))
        elif self.responder is not None and await self.responder.handle(message):
            return
        else:
            raise RealtimeError(
                f"{kind!r} is not an event this server takes", code="unknown_event", param="type"
            )

    async def _update(self, session, beta: bool) -> None:
        new = updated(self.settings, session, beta=beta)
        if new.transcribe:
            try:
                resolve_model("transcription", new.transcription_model)
            except AudioError as error:
                raise RealtimeError(
                    str(error), code="unknown_model", param="session.audio.input.transcription.model"
                ) from None
        if self.responder is not None:
            await self.responder.check(new)
        if self._buffer is not None and (new.rate, new.turn_detection) != (
            self.settings.rate,
            self.settings.turn_detection,
        ):
            self._buffer = await self._new_buffer(new, clock=self._buffer.total)
        self.settings = new
        name = "transcription_session.updated" if beta else "session.updated"
        await self.send(event(name, session=session_object(new, self.id)))

    async def _new_buffer(self, settings: Settings, clock: int = 0) -> InputBuffer:
        if settings.turn_detection is not None and self._detector is None:
            self._detector = await run_in_threadpool(self._vad.enter_context, registry.speech_detector())
        return InputBuffer(settings.rate, settings.turn_detection, self._detector, clock=clock)

    async def _append(self, samples) -> None:
        if self._buffer is None:
            self._buffer = await self._new_buffer(self.settings)
        done = await run_in_threadpool(self._buffer.append, samples)
        for _start, end, utterance in done:
            item = self._speech_item or await self._speech_started(_start)
            await self.send(event("input_audio_buffer.speech_stopped", audio_end_ms=ms(end), item_id=item))
            self._speech_item = None
            await self._committed(item, utterance)
        if self._buffer.in_speech and self._speech_item is None:
            await self._speech_started(None)
        elif self._speech_item is not None and not self._buffer.in_speech:
            # Too short to be speech after all (a cough, a click): it ends without an item.
            item, self._speech_item = self._speech_item, None
            await self.send(
                event("input_audio_buffer.speech_stopped", audio_end_ms=ms(self._buffer.total), item_id=item)
            )

    async def _speech_started(self, start: int | None) -> str:
        self._speech_item = new_id("item")
        start_ms = ms(start) if start is not None else self._buffer.speech_start_ms()
        await self.send(
            event("input_audio_buffer.speech_started", audio_start_ms=start_ms, item_id=self._speech_item)
        )
        if self.responder is not None:
            await self.responder.interrupted(start_ms)
        return self._speech_item

    async def _commit(self) -> None:
        if self._buffer is None:
            raise RealtimeError(
                "the input audio buffer is empty: nothing to commit", code="input_audio_buffer_commit_empty"
            )
        _start, _end, samples = self._buffer.commit()
        item, self._speech_item = self._speech_item or new_id("item"), None
        await self._committed(item, samples)

    async def _committed(self, item: str, samples) -> None:
        previous, self._previous_item = self._previous_item, item
        await self.send(event("input_audio_buffer.committed", item_id=item, previous_item_id=previous))
        added = "conversation.item.created" if self.beta else "conversation.item.added"
        await self.send(event(added, previous_item_id=previous, item=user_audio_item(item)))
        if not self.settings.transcribe and self.responder is None:
            return
        try:
            self._pending.put_nowait((item, samples, self.settings))
        except asyncio.QueueFull:
            raise RealtimeError(
                f"{MAX_PENDING} committed turns are waiting to be transcribed: slow down",
                code="transcription_backlog",
            ) from None

    async def _transcribe_in_order(self) -> None:
        while True:
            item, samples, settings = await self._pending.get()
            try:
                transcript = await run_in_threadpool(self._transcribe, samples, settings)
            except Exception as error:  # noqa: BLE001 - the client hears of every failure
                if not isinstance(error, AudioError):
                    log.exception("Realtime transcription failed")
                await self.send(
                    event(
                        "conversation.item.input_audio_transcription.failed",
                        item_id=item,
                        content_index=0,
                        error={
                            "type": "transcription_error",
                            "code": "transcription_failed",
                            "message": str(error),
                        },
                    )
                )
                continue
            if settings.transcribe:
                await self._send_transcript(item, transcript)
            if self.responder is not None:
                await self.responder.user_turn(item, transcript.text)

    def _transcribe(self, samples, settings: Settings):
        """On a worker thread: the stretch's transcript (the model work queues on the MLX thread)."""
        model = resolve_model("transcription", settings.transcription_model)
        with registry.cancel_when(self.cancelled):
            return model.transcribe(
                samples,
                language=settings.language,
                prompt=settings.prompt if model.supports_prompt else None,
                vad=False,
            )

    async def _send_transcript(self, item: str, transcript) -> None:
        for segment in transcript.segments:
            if segment.text.strip():
                await self.send(
                    event(
                        "conversation.item.input_audio_transcription.delta",
                        item_id=item,
                        content_index=0,
                        delta=segment.text,
                    )
                )
        seconds = math.ceil(transcript.duration or 0)
        await self.send(
            event(
                "conversation.item.input_audio_transcription.completed",
                item_id=item,
                content_index=0,
                transcript=transcript.text,
                usage={"type": "duration", "seconds": seconds},
            )
        )


def _parse(text: str) -> dict:
    if len(text) > MAX_EVENT_CHARS:
        raise RealtimeError("the event is larger than 21 MB", code="event_too_large")
    try:
        message = json.loads(text)
    except ValueError:
        raise RealtimeError("the event is not valid JSON", code="invalid_json") from None
    if not isinstance(message, dict) or not isinstance(message.get("type"), str):
        raise RealtimeError("an event is a JSON object with a 'type'", code="invalid_event", param="type")
    return message
