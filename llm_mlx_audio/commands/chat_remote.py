"""`llm audio chat` through this machine's running `llm audio serve`: its models are warm.

The chat opens one Realtime conversation session on the server's /v1/realtime
WebSocket (server/realtime/) and streams the microphone into it as pcm16 at 16 kHz.
The server does what the local chat does itself: its VAD cuts the utterances, its
transcription model hears them, the llm model answers and the server's speech model
speaks the answer sentence by sentence. This side prints "you: ..." and the answer as
it streams, and plays the audio through the same StreamPlayer. Nothing is loaded here:
the first exchange starts without the local chat's model loading and warm-up.

Half-duplex as locally: the microphone is muted while an answer plays (and for the
room's echo after it), and what it heard between a finished turn and its answer is held
here and sent after the answer (the server would take it as a turn that cuts the answer
short; the local chat keeps it as the next prompt the same way). With --barge-in the server stops its answer when speech starts,
this side stops playing, and conversation.item.truncate tells the server how much was
heard, so the conversation and the log hold what the user heard. The server logs the
exchanges to logs.db (same user, same file): this side never logs them again.

A server that cannot be reached, or that refuses the session before the first word,
means the chat runs locally (``ServerUnavailable``); one that goes away mid-chat ends
the chat with one line.
"""

from __future__ import annotations

import base64
import json
import logging
import sys
import threading
import time

import click

from ..errors import AudioError
from .warm import ServerUnavailable

logger = logging.getLogger(__name__)
#: The microphone's rate, as the local chat hears it.
INPUT_RATE = 16000
OUTPUT_RATE = 24000
#: The local chat's end-of-utterance pause (UtteranceStream's 0.8 s).
SILENCE_MS = 800
#: The session must be set up within this; otherwise the chat runs locally.
SETUP_SECONDS = 30


def chat_through_server(local: bool, options: dict) -> bool:
    """Chat through this machine's running server when there is one that takes the session;
    False when the chat is to run locally (--local, no server, or one that refused it).

    options: model_id, model_name (the llm model's id, for the printed answers), system,
    voice, transcription_model, tools (names), turns, barge_in, device, output_device,
    echo_tail (seconds the microphone stays muted after an answer has played, half-duplex).
    """
    from .warm import find_server

    server = find_server(local, options["transcription_model"] or "")
    if server is None:
        return False
    try:
        connection = _connect(server, options["model_id"])
    except ServerUnavailable as error:
        logger.debug("the server cannot chat (%s): chatting locally", error)
        return False
    try:
        try:
            _set_up(connection, options)
            _warm_up(server, options)
        except ServerUnavailable as error:
            logger.debug("the server refused the chat (%s): chatting locally", error)
            return False
        logger.debug("chatting through the server at %s", server["url"])
        from ..audio.capture import Microphone, find_input, find_output

        microphone = Microphone(find_input(options["device"]))
        output = find_output(options["output_device"])
        with microphone:
            _Chat(connection, options, microphone, output).run()
        return True
    finally:
        connection.close()


def _connect(server: dict, model_id: str | None):
    from urllib.parse import quote

    from websockets.exceptions import WebSocketException
    from websockets.sync.client import connect

    url = "ws" + server["url"].removeprefix("http") + "/v1/realtime"
    if model_id:
        url += "?model=" + quote(model_id)
    try:
        return connect(
            url,
            additional_headers={"Authorization": f"Bearer {server.get('token', '')}"},
            proxy=None,  # the token and the microphone never go through http_proxy
            max_size=None,
            open_timeout=10,
        )
    except (OSError, WebSocketException, TimeoutError) as error:
        raise ServerUnavailable(str(error)) from None


def _set_up(connection, options: dict) -> None:
    """session.update; ServerUnavailable unless the server takes it."""
    transcription = {"model": options["transcription_model"]} if options["transcription_model"] else {}
    session = {
        "type": "realtime",
        "instructions": options["system"] or "",
        "tools": [{"type": "function", "name": name} for name in options["tools"]],
        "output_modalities": ["audio"],
        "audio": {
            "input": {
                "format": {"type": "audio/pcm", "rate": INPUT_RATE},
                "transcription": transcription,
                "turn_detection": {
                    "type": "server_vad",
                    "silence_duration_ms": SILENCE_MS,
                    "create_response": True,
                    "interrupt_response": bool(options["barge_in"]),
                },
            },
            "output": {"format": {"type": "audio/pcm", "rate": OUTPUT_RATE}},
        },
    }
    if options["voice"]:
        session["audio"]["output"]["voice"] = options["voice"]
    _send(connection, {"type": "session.update", "session": session})
    end = time.monotonic() + SETUP_SECONDS
    from websockets.exceptions import WebSocketException

    try:
        while True:
            message = json.loads(connection.recv(timeout=max(end - time.monotonic(), 0.01)))
            if message.get("type") == "session.updated":
                return
            if message.get("type") == "error":  # a voice or tool it lacks: the local chat says so
                raise ServerUnavailable((message.get("error") or {}).get("message"))
    except (OSError, WebSocketException, TimeoutError, ValueError) as error:
        raise ServerUnavailable(str(error)) from None


def _warm_up(server: dict, options: dict) -> None:
    """Have the server load and run both models before the microphone opens, as the local
    chat does: the server loads a model at its first use, and an utterance heard while it
    loads would be answered late, over the next one."""
    import numpy as np

    from .warm import exact_wav, speech_chunks, transcript

    silence = exact_wav(np.zeros(INPUT_RATE, np.float32), INPUT_RATE)
    transcript(server, options["transcription_model"] or "whisper-1", silence, {}, False)
    for _ in speech_chunks(server, "tts-1", "Hello.", options["voice"], 1.0, None, False):
        pass


_send_lock = threading.Lock()


def _send(connection, message: dict) -> None:
    with _send_lock:  # the microphone's thread and the event loop both send
        connection.send(json.dumps(message))


class _Chat:
    """The event loop of one chat: the server's events in, the microphone out (a thread)."""

    def __init__(self, connection, options: dict, microphone, output):
        self.connection = connection
        self.options = options
        self.microphone = microphone
        self.output = output
        self.exchanges = 0
        self.player = None
        self.item = None  # the assistant item being played
        self.fed_ms = 0.0
        self.first_fed = None  # when its first audio went to the player
        self.answer_done = False  # response.done has come for the answer playing
        self.interrupted = False
        self.answering = False  # from response.created until its exchange ends
        self.heard_later: list[str] = []  # what was heard while an answer was in progress
        self.holding = False  # half-duplex: the microphone's audio is held here, not sent
        self.held: list[bytes] = []
        self.held_lock = threading.Lock()
        self.stop = threading.Event()

    def run(self) -> int:
        from websockets.exceptions import ConnectionClosed

        sender = threading.Thread(target=self._stream_microphone, daemon=True)
        sender.start()
        model = self.options["model_name"]
        click.echo(f"Talking with {model} through the server; Ctrl-C to end.", err=True)
        try:
            while not (self.options["turns"] and self.exchanges >= self.options["turns"]):
                try:
                    text = self.connection.recv(timeout=0.05)
                except TimeoutError:
                    self._check_playback()
                    continue
                self._handle(json.loads(text))
                self._check_playback()
        except ConnectionClosed:
            raise AudioError("The server closed the chat (it stopped?)") from None
        except KeyboardInterrupt:
            click.echo("", err=True)
        finally:
            self.stop.set()
            self.microphone.stop()
            if self.player is not None:
                self.player.stop()
            self.microphone.muted = False
            sender.join(2)
        return self.exchanges

    def _stream_microphone(self) -> None:
        import numpy as np
        from websockets.exceptions import ConnectionClosed

        try:
            for block in self.microphone.blocks():
                if self.stop.is_set():
                    return
                data = (np.clip(block, -1, 1) * 32768).clip(-32768, 32767).astype("<i2").tobytes()
                with self.held_lock:
                    if self.holding:
                        self.held.append(data)
                        continue
                self._append(data)
        except (ConnectionClosed, AudioError) as error:
            logger.debug("the microphone stream ended: %s", error)

    def _append(self, data: bytes) -> None:
        _send(
            self.connection,
            {"type": "input_audio_buffer.append", "audio": base64.b64encode(data).decode("ascii")},
        )

    def _hold(self) -> None:
        """Half-duplex: from a committed turn until its answer has played, keep what the
        microphone hears here (the server would take it as a turn that cuts the answer short);
        the local chat keeps it the same way, as the next prompt."""
        if not self.options["barge_in"]:
            with self.held_lock:
                self.holding = True

    def _release(self) -> None:
        """Send what was held back, in order, and stream again."""
        with self.held_lock:
            held, self.held, self.holding = self.held, [], False
            for data in held:  # under the lock: the microphone's next block goes after these
                self._append(data)

    def _handle(self, message: dict) -> None:
        kind = message.get("type")
        if kind == "conversation.item.input_audio_transcription.completed":
            heard = (message.get("transcript") or "").strip()
            if not heard and not self.answering:
                self._release()  # nothing to answer
            if heard and self.answering:
                self.heard_later.append(heard)  # said before the answer began: printed after it
            elif heard:
                click.echo(f"you: {heard}")
        elif kind == "response.created":
            self.microphone.muted = not self.options["barge_in"]
            self.item, self.fed_ms, self.first_fed = None, 0.0, None
            self.answer_done = self.interrupted = False
            self.answering = True
            click.echo(f"{self.options['model_name']}: ", nl=False)
        elif kind == "input_audio_buffer.committed":
            self._hold()
        elif kind == "conversation.item.input_audio_transcription.failed":
            self._release()
        elif kind == "response.output_item.added":
            self.item = (message.get("item") or {}).get("id")
        elif kind == "response.output_audio_transcript.delta":
            if not self.interrupted:
                click.echo(message.get("delta", ""), nl=False)
                sys.stdout.flush()
        elif kind == "response.output_audio.delta":
            self._play(message)
        elif kind == "input_audio_buffer.speech_started":
            logger.debug("speech started (answering: %s)", self.answering)
            if self.options["barge_in"] and self.answering and not self.interrupted:
                self._interrupt()
        elif kind == "response.done":
            status = (message.get("response") or {}).get("status")
            logger.debug("response %s", status)
            self.answer_done = True
            if status == "cancelled" and self.answering and not self.interrupted:
                # the server stopped it for the next turn (said before this answer began)
                self._interrupt()
            elif self.player is None:  # nothing to play (or all of it cut): the exchange is over
                self._end_exchange()
        elif kind == "error":
            error = message.get("error") or {}
            click.echo(f"Error: {error.get('message') or 'the server failed'}", err=True)

    def _play(self, message: dict) -> None:
        import numpy as np

        from ..audio.playback import StreamPlayer

        if self.interrupted:
            return
        samples = (
            np.frombuffer(base64.b64decode(message.get("delta") or ""), "<i2").astype(np.float32) / 32768
        )
        if self.player is None:
            self.player = StreamPlayer(OUTPUT_RATE, device=self.output)
            self.first_fed = time.monotonic()
        self.player.feed(samples)
        self.fed_ms += 1000 * len(samples) / OUTPUT_RATE

    def _check_playback(self) -> None:
        """An answer that is all in and all played ends its exchange."""
        if self.player is None or not self.answer_done:
            return
        if self.options["barge_in"] and not self.player.done(0.0):
            return  # still playing: speech may yet interrupt it
        self.player.finish()  # half-duplex: nothing to hear until it has played
        self.player = None
        if not self.options["barge_in"]:
            time.sleep(self.options["echo_tail"])
        self._end_exchange()

    def _interrupt(self) -> None:
        """Speech over the answer: stop playing, tell the server how much was heard."""
        played = min(1000 * (time.monotonic() - self.first_fed), self.fed_ms) if self.first_fed else 0
        if self.player is not None:
            self.player.stop()
            self.player = None
        self.interrupted = True
        click.echo(" [interrupted]", nl=False)
        logger.debug("interrupted after %d of %d ms played", played, self.fed_ms)
        if self.item is not None:
            truncate = {"type": "conversation.item.truncate", "item_id": self.item, "content_index": 0}
            _send(self.connection, {**truncate, "audio_end_ms": int(played)})
        if self.answer_done:
            self._end_exchange()

    def _end_exchange(self) -> None:
        click.echo()
        for heard in self.heard_later:
            click.echo(f"you: {heard}")
        self.heard_later = []
        self.answering = False
        self.microphone.muted = False
        self.exchanges += 1
        if not (self.options["turns"] and self.exchanges >= self.options["turns"]):
            self._release()
        self.answer_done = False
