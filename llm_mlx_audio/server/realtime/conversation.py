"""A conversation session's answering side: any llm model, spoken in the plugin's voice.

Each user turn (a committed, transcribed stretch of speech, or a text item the client
creates) is the next prompt of one llm conversation, with the session's instructions
as its system prompt and its tools by name (chat_models.py, shared with `llm audio
chat`). A response streams the model's words (``response.output_text.delta`` in a text
session; ``response.output_audio_transcript.delta`` in an audio one) and, sentence by
sentence, its speech as pcm16 at the session's output rate (24 kHz unless told) in
``response.output_audio.delta`` events: the sentence streaming of `llm speak --stream`.

Speech that starts while a response runs interrupts it (``interrupt_response``): the
model's stream and the synthesis stop at the next chunk or sentence, and response.done
says "cancelled". The client then says how much it played (conversation.item.truncate),
and the assistant's turn is cut to the sentences that were heard, so the model's next
turn and the log hold what the user actually heard. An exchange is logged to llm's
logs.db once the response after it has finished (or the session has ended), so that a
late truncate still reaches the log.
"""

from __future__ import annotations

import asyncio
import base64
import threading
import time

from fastapi.concurrency import run_in_threadpool

from ... import chat_models, registry
from ...errors import AudioError, JobCancelled
from ..errors import log
from ..names import choose_voice, resolve_model
from .events import RealtimeError, event, new_id


class Responder:
    """Answers a Realtime session's turns with an llm model (see the module docstring)."""

    def __init__(self, session):
        self.session = session
        self._conversation = None
        self._model_key = None
        self._system_sent: str | None = None
        self._waiting: list[str] = []  # user turns not answered yet
        self.count = 0  # responses so far
        self._running: _Response | None = None
        self._unlogged: list[_Response] = []  # answered, not yet logged

    async def check(self, settings) -> None:
        """Refuse (as an error event) a model, tool or voice the session cannot use."""
        if settings.type != "realtime":
            return
        try:
            await run_in_threadpool(answering_model, settings.model)
        except AudioError as error:
            raise RealtimeError(str(error), code="unknown_model", param="session.model") from None
        try:
            await run_in_threadpool(chat_models.tools, settings.tools)
        except AudioError as error:
            raise RealtimeError(str(error), code="unknown_tool", param="session.tools") from None
        if "audio" in settings.output_modalities and settings.voice:
            try:
                await run_in_threadpool(choose_voice, resolve_model("speech", None), settings.voice)
            except Exception as error:  # noqa: BLE001 - ApiError or AudioError, both one line
                raise RealtimeError(
                    str(error), code="invalid_voice", param="session.audio.output.voice"
                ) from None

    async def handle(self, message: dict) -> bool:
        """The conversation's own client events; False for one it does not take."""
        kind = message["type"]
        if self.session.settings.type != "realtime":
            return False
        if kind == "conversation.item.create":
            await self._item(message.get("item"))
        elif kind == "response.create":
            await self.respond()
        elif kind == "response.cancel":
            if self._running is None or self._running.finished:
                raise RealtimeError(
                    "there is no response in progress to cancel", code="response_cancel_not_active"
                )
            await self._stop_running()
        elif kind == "conversation.item.truncate":
            self._truncate(message)
        else:
            return False
        return True

    async def user_turn(self, item: str, text: str) -> None:
        """A transcribed turn: answered at once when turn detection says so."""
        if not text.strip() or self.session.settings.type != "realtime":
            return
        self._waiting.append(text.strip())
        detection = self.session.settings.turn_detection
        if detection is not None and detection.create_response:
            running = self._running
            if running is not None and not running.finished:
                if detection.interrupt_response:
                    await self._stop_running()
                elif running.task is not None:
                    # Not to be interrupted: the new turn is answered once this answer is done.
                    await asyncio.gather(running.task, return_exceptions=True)
            await self.respond()

    async def interrupted(self, start_ms: int) -> None:
        """Speech started: stop the response in progress (unless the session said not to)."""
        detection = self.session.settings.turn_detection
        if detection is not None and not detection.interrupt_response:
            return
        if self._running is not None and not self._running.finished:
            await self._stop_running()

    async def respond(self) -> None:
        if self._running is not None and not self._running.finished:
            raise RealtimeError(
                "a response is in progress: cancel it first", code="conversation_already_has_active_response"
            )
        if not self._waiting:
            raise RealtimeError(
                "there is nothing to answer: no user turn since the last response", code="no_input"
            )
        prompt, self._waiting = "\n".join(self._waiting), []
        for earlier in self._unlogged:
            earlier.record()  # the history the next prompt is sent with
        settings = self.session.settings
        if self._conversation is None or self._model_key != settings.model:
            try:
                model = await run_in_threadpool(answering_model, settings.model)
            except AudioError as error:
                raise RealtimeError(str(error), code="unknown_model", param="session.model") from None
            self._conversation, self._model_key, self._system_sent = (
                model.conversation(),
                settings.model,
                None,
            )
        system = settings.instructions or None
        if system == self._system_sent:
            system = None  # said once: the conversation carries it
        else:
            self._system_sent = system
        response = _Response(self, prompt, system)
        self._running = response
        response.task = asyncio.create_task(response.run())

    async def close(self) -> None:
        await self._stop_running()
        await run_in_threadpool(self.log_finished, None)

    async def _stop_running(self) -> None:
        running = self._running
        if running is not None and running.task is not None:
            running.stop.set()
            await asyncio.gather(running.task, return_exceptions=True)

    async def _item(self, item) -> None:
        """conversation.item.create: a user's text message (input_text parts) is the next turn."""
        if not isinstance(item, dict) or item.get("type", "message") != "message":
            raise RealtimeError("only message items are taken here", param="item.type")
        if item.get("role") not in ("user", "system"):
            raise RealtimeError("item.role must be 'user' or 'system'", param="item.role")
        parts = item.get("content")
        if not isinstance(parts, list):
            raise RealtimeError("item.content must be a list", param="item.content")
        texts = [
            p.get("text") for p in parts if isinstance(p, dict) and p.get("type") in ("input_text", "text")
        ]
        text = " ".join(t for t in texts if isinstance(t, str)).strip()
        if not text:
            raise RealtimeError("the item has no input_text to take", param="item.content")
        item_id = item.get("id") if isinstance(item.get("id"), str) else new_id("item")
        if item["role"] == "system":
            self.session.settings.instructions = text
        else:
            self._waiting.append(text)
        added = "conversation.item.created" if self.session.beta else "conversation.item.added"
        stored = {"id": item_id, "object": "realtime.item", "type": "message", "status": "completed"}
        await self.session.send(event(added, item={**stored, "role": item["role"], "content": parts}))

    def _truncate(self, message: dict) -> None:
        item, end_ms = message.get("item_id"), message.get("audio_end_ms")
        if isinstance(end_ms, bool) or not isinstance(end_ms, int) or end_ms < 0:
            raise RealtimeError("audio_end_ms must be a whole number of milliseconds", param="audio_end_ms")
        for response in [self._running, *self._unlogged]:
            if response is not None and response.item_id == item:
                response.heard_ms = end_ms
                response.cut()
                return
        raise RealtimeError(
            f"no assistant audio item {item!r} to truncate", code="item_truncate_invalid_item_id"
        )

    def log_finished(self, current) -> None:
        """Log the finished responses before current (all of them when None), once each.

        A response is logged once the one after it has finished (or the session has
        ended), so a truncate that comes after it has been answered still reaches the log.
        """
        keep = []
        for response in self._unlogged:
            if (
                response is current
                or not response.finished
                or (current is not None and response.later_than(current))
            ):
                keep.append(response)
            else:
                response.record()
                response.write_log()
        self._unlogged = keep


def answering_model(name: str | None):
    """The llm model a session names; OpenAI's realtime model names (the SDK's connect(model=...)
    sends one) mean llm's default model, unless an llm model has that very name."""
    try:
        return chat_models.language_model(name)
    except AudioError:
        if name and name.lower().startswith(OPENAI_REALTIME_PREFIXES):
            return chat_models.language_model(None)
        raise


OPENAI_REALTIME_PREFIXES = ("gpt-realtime", "gpt-4o-realtime", "gpt-4o-mini-realtime")


class _Response:
    """One response: the llm model's stream, its speech, and the events that carry them."""

    def __init__(self, responder: Responder, prompt: str, system: str | None):
        self.responder = responder
        self.session = responder.session
        self.settings = responder.session.settings
        self.prompt = prompt
        self.system = system
        self.id = new_id("resp")
        self.item_id = new_id("item")
        self.stop = threading.Event()
        self.task: asyncio.Task | None = None
        self.finished = False
        self.heard_ms: int | None = None
        self.llm_response = None
        self.turns: list = []  # llm's Response objects of this answer, as they started
        self.recorded = self.logged = False
        responder.count += 1
        self.number = responder.count
        self.sentences: list[tuple[float, str]] = []  # (start_ms, sentence) in the speech sent
        self.text = ""

    @property
    def audio(self) -> bool:
        return "audio" in self.settings.output_modalities

    async def run(self) -> None:
        send = self.session.send
        status, error = "completed", None
        self.responder._unlogged.append(self)
        part = {"type": "audio", "transcript": ""} if self.audio else {"type": "text", "text": ""}
        ids = {"response_id": self.id, "item_id": self.item_id, "output_index": 0, "content_index": 0}
        await send(event("response.created", response=self._object("in_progress", [])))
        await send(
            event(
                "response.output_item.added",
                response_id=self.id,
                output_index=0,
                item=self._item("in_progress", []),
            )
        )
        added = "conversation.item.created" if self.session.beta else "conversation.item.added"
        await send(event(added, item=self._item("in_progress", [])))
        await send(event("response.content_part.added", part=part, **ids))
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue = asyncio.Queue()
        worker = loop.run_in_executor(
            None, self._produce, lambda item: loop.call_soon_threadsafe(queue.put_nowait, item)
        )
        text_delta = "response.output_audio_transcript.delta" if self.audio else "response.output_text.delta"
        try:
            while True:
                kind, value = await queue.get()
                if kind == "text":
                    self.text += value
                    await send(event(text_delta, delta=value, **ids))
                elif kind == "audio":
                    await send(event("response.output_audio.delta", delta=value, **ids))
                elif kind == "error":
                    status, error = "failed", value
                    break
                else:
                    break
            await worker
        finally:
            if self.stop.is_set():
                status = "cancelled"
            self.finished = True
        if error is not None:
            await send(
                event("error", error={"type": "server_error", "code": "response_failed", "message": error})
            )
        if self.audio:
            await send(event("response.output_audio.done", **ids))
            await send(event("response.output_audio_transcript.done", transcript=self.text, **ids))
            part = {"type": "audio", "transcript": self.text}
        else:
            await send(event("response.output_text.done", text=self.text, **ids))
            part = {"type": "text", "text": self.text}
        await send(event("response.content_part.done", part=part, **ids))
        item = self._item("completed" if status == "completed" else "incomplete", [part])
        await send(event("response.output_item.done", response_id=self.id, output_index=0, item=item))
        # The answers before this one are settled now: logged before response.done goes out.
        await run_in_threadpool(self.responder.log_finished, self)
        await send(event("response.done", response=self._object(status, [item])))

    def _produce(self, put) -> None:
        """On a worker thread: the model's text as it streams, and its speech sentence by sentence."""
        from ...audio.resampling import StreamResampler
        from ...streaming import stream_speech

        try:
            with registry.cancel_when(self.stop):
                options = {"system": self.system} if self.system else {}
                tools = chat_models.tools(self.settings.tools)
                if tools:
                    options["tools"] = tools
                self.llm_response = self.responder._conversation.chain(self.prompt, **options)

                def words():
                    # Response by response (a tool call makes more than one), so that a cut
                    # one can still be settled: llm's chain lists a response only once read.
                    for response in self.llm_response.responses():
                        self.turns.append(response)
                        for chunk in response:
                            if self.stop.is_set():
                                return
                            put(("text", chunk))
                            yield chunk

                if not self.audio:
                    for _ in words():
                        pass
                else:
                    self._speak(words(), put, stream_speech, StreamResampler)
        except JobCancelled:
            pass
        except Exception as error:  # noqa: BLE001 - the client hears of it in an error event
            if not isinstance(error, AudioError):
                log.exception("Realtime response failed")
            put(("error", str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__))
            return
        put(("end", None))

    def _speak(self, words, put, stream_speech, StreamResampler) -> None:
        speaker = resolve_model("speech", None)
        voice = choose_voice(speaker, self.settings.voice) if self.settings.voice else None
        resampler, clock_ms = None, 0.0

        def speak(sentence):
            self.sentences.append((clock_ms, sentence))
            return speaker.iter_speech(sentence, voice=voice, normalize=False)

        for audio in stream_speech(speaker, words, voice=voice, speak=speak):
            if self.stop.is_set():
                return
            if resampler is None:
                resampler = StreamResampler(audio.sample_rate, self.settings.output_rate)
            samples = resampler(audio.samples)
            clock_ms += 1000 * len(audio.samples) / audio.sample_rate
            put(("audio", _pcm16_base64(samples)))
        if resampler is not None:
            tail = resampler(None)
            if len(tail):
                put(("audio", _pcm16_base64(tail)))

    def later_than(self, other: _Response) -> bool:
        return self.number > other.number

    def record(self) -> None:
        """Put this answer in the llm conversation (once), cut to what was heard.

        llm records a response in its conversation only when it was read to the end; one
        that was interrupted is marked done with the words it had so far.
        """
        if self.recorded or not self.finished or not self.turns:
            return
        self.recorded = True
        last = self.turns[-1]
        if not last._done:
            last._done = True
            last._end = time.monotonic()
            self.responder._conversation._record_response(last)
        self.cut()

    def cut(self) -> None:
        """The last turn's text becomes the sentences the user heard (conversation.item.truncate)."""
        heard = self._heard_text()
        if heard is None or not self.turns or self.logged:
            return
        last = self.turns[-1]
        events = getattr(last, "_stream_events", [])
        if any(getattr(e, "type", "text") != "text" for e in events):
            return  # a turn that also called tools keeps its whole record
        # llm builds the logged and replayed message from its stream events when it has
        # any, from _chunks otherwise: the heard text alone is left.
        last._chunks = [heard]
        last._stream_events = []

    def write_log(self) -> None:
        from ...llm_models import log_response, logging_on

        if self.logged or not logging_on():
            return
        self.logged = True
        try:
            for response in self.turns:
                if response._done:
                    log_response(response)
        except Exception:  # noqa: BLE001 - a log that cannot be written must not end the session
            log.exception("Could not log a Realtime exchange")

    def _heard_text(self) -> str | None:
        """The sentences whose speech had started by heard_ms ("" when none had); None: no truncate."""
        if self.heard_ms is None:
            return None
        return " ".join(sentence for start, sentence in self.sentences if start < self.heard_ms).strip()

    def _item(self, status: str, content: list) -> dict:
        return {
            "id": self.item_id,
            "object": "realtime.item",
            "type": "message",
            "status": status,
            "role": "assistant",
            "content": content,
        }

    def _object(self, status: str, output: list) -> dict:
        return {
            "id": self.id,
            "object": "realtime.response",
            "status": status,
            "output": output,
            "output_modalities": list(self.settings.output_modalities),
            "conversation_id": self.session.id,
            "usage": None,
        }


def _pcm16_base64(samples) -> str:
    import numpy as np

    data = (np.clip(np.asarray(samples, dtype=np.float32), -1, 1) * 32767).astype("<i2").tobytes()
    return base64.b64encode(data).decode("ascii")
