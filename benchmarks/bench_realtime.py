"""Issue 24: the Realtime WebSocket and streamed speech against the same work done in-process.

    python benchmarks/bench_realtime.py [--quick] [--repeats N] [--workdir DIR]

Same process, same run, embedded models (Kokoro-82M, Whisper tiny.en), llm-echo as the
conversation's model; the server runs on loopback in a thread, as `llm audio serve` does:

* transcription: from ``input_audio_buffer.speech_stopped`` to
  ``...input_audio_transcription.completed`` for a 3-s utterance (streamed as 24 kHz pcm16),
  against transcribing the same utterance in-process. Target: at most 1.1x.
* conversation: from the model's first words (the first transcript delta) to the first
  ``response.output_audio.delta``, against synthesizing the first sentence in-process.
  Target: at most 1.1x.
* speech: the first byte of POST /v1/audio/speech with no stream_format, against the first
  sentence's synthesis in-process. Target: at most 1.1x (the synthesis + 10%).

Runs alternate (server, then anchor) so that load on the machine hits both alike.
"""

from __future__ import annotations

import base64
import json
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as c

UTTERANCE = "Please send the quarterly report to Maria tomorrow."
SPOKEN = "The train leaves at nine. It reaches the coast by noon. Bring a coat, since it will be windy."


def start_server():
    import uvicorn

    from llm_mlx_audio.server import app as server
    from llm_mlx_audio.server.run import bind_socket, make_config, url_for

    sock = bind_socket("127.0.0.1", 0)
    instance = uvicorn.Server(make_config(server.create_app()))
    thread = threading.Thread(target=instance.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not instance.started:
        time.sleep(0.02)
    return url_for(sock)


def pcm16_24k(samples16k, seconds_of_silence=1.2) -> bytes:
    import numpy as np

    from llm_mlx_audio.audio.resampling import StreamResampler

    padded = np.concatenate([samples16k, np.zeros(int(16000 * seconds_of_silence), np.float32)])
    resample = StreamResampler(16000, 24000)
    out = np.concatenate([resample(padded), resample(None)])
    return (np.clip(out, -1, 1) * 32767).astype("<i2").tobytes()


def events_until(socket, kinds: dict, last: str) -> dict:
    """Arrival times of the first event of each kind, until last arrives."""
    seen = {}
    while True:
        message = json.loads(socket.recv(timeout=300))
        if message["type"] == "error":
            raise SystemExit(f"error event: {message['error']}")
        if message["type"] in kinds and message["type"] not in seen:
            seen[message["type"]] = time.perf_counter()
        if message["type"] == last:
            return seen


def realtime_transcription(url: str, pcm: bytes) -> float:
    from websockets.sync.client import connect

    with connect(url.replace("http", "ws") + "/v1/realtime?intent=transcription") as socket:
        socket.recv(timeout=60)
        update = {
            "type": "transcription_session.update",
            "session": {
                "input_audio_format": "pcm16",
                "input_audio_transcription": {"model": "whisper-1", "language": "en"},
                "turn_detection": {"type": "server_vad", "silence_duration_ms": 500},
            },
        }
        socket.send(json.dumps(update))
        socket.recv(timeout=60)
        for start in range(0, len(pcm), 4800):
            chunk = base64.b64encode(pcm[start : start + 4800]).decode()
            socket.send(json.dumps({"type": "input_audio_buffer.append", "audio": chunk}))
        stopped, done = (
            "input_audio_buffer.speech_stopped",
            "conversation.item.input_audio_transcription.completed",
        )
        seen = events_until(socket, {stopped: 1, done: 1}, done)
    return seen[done] - seen[stopped]


def realtime_first_audio(url: str, text: str) -> float:
    from websockets.sync.client import connect

    with connect(url.replace("http", "ws") + "/v1/realtime?model=echo") as socket:
        socket.recv(timeout=60)
        item = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}
        socket.send(json.dumps({"type": "conversation.item.create", "item": item}))
        socket.send(json.dumps({"type": "response.create"}))
        words, audio = "response.output_audio_transcript.delta", "response.output_audio.delta"
        seen = events_until(socket, {words: 1, audio: 1}, "response.done")
    return seen[audio] - seen[words]


def speech_first_byte(url: str, text: str) -> float:
    import httpx

    body = {"input": text, "voice": "alloy", "model": "tts-1", "response_format": "pcm"}
    start = time.perf_counter()
    first = None
    with httpx.stream("POST", url + "/v1/audio/speech", json=body, timeout=300) as response:
        for chunk in response.iter_bytes():
            if chunk and first is None:
                first = time.perf_counter() - start
    return first


def first_sentence(text: str) -> str:
    from llm_mlx_audio.text import prepare_stream
    from llm_mlx_audio.text.sentences import stream_sentences

    return next(iter(stream_sentences(prepare_stream([text]))))


def echo_answer(text: str) -> str:
    import llm

    return llm.get_model("echo").prompt(text).text()


def main() -> None:
    args = c.parser(__doc__, default_repeats=5).parse_args()
    c.prepare_workdir(args.workdir)
    c.ensure_models()
    runs = c.repeats(args)
    import numpy as np

    from llm_mlx_audio import registry

    clip = c.espeak_clip(UTTERANCE, Path(args.workdir) / "realtime_utterance.wav")
    from llm_mlx_audio.audio.decode import decode_audio

    samples = decode_audio(str(clip), sample_rate=16000).astype(np.float32)
    pcm = pcm16_24k(samples)
    listener = registry.find_model("transcription", None)
    speaker = registry.find_model("speech", None)
    url = start_server()

    def in_process_transcription():
        start = time.perf_counter()
        listener.transcribe(samples, vad=False)
        return time.perf_counter() - start

    def synthesis(sentence):
        start = time.perf_counter()
        for _ in speaker.iter_speech(sentence, normalize=False):
            pass
        return time.perf_counter() - start

    answer_sentence = first_sentence(echo_answer("Hello there, how are you?"))
    spoken_sentence = first_sentence(SPOKEN)
    cases = {
        "transcription": (lambda: realtime_transcription(url, pcm), in_process_transcription),
        "conversation": (
            lambda: realtime_first_audio(url, "Hello there, how are you?"),
            lambda: synthesis(answer_sentence),
        ),
        "speech": (lambda: speech_first_byte(url, SPOKEN), lambda: synthesis(spoken_sentence)),
    }
    rows = []
    for case, (ours_fn, anchor_fn) in cases.items():
        ours_fn(), anchor_fn()  # warm: models loaded, kernels and G2P cached
        ours, anchor = [], []
        for _ in range(runs):
            ours.append(ours_fn())
            anchor.append(anchor_fn())
        labels = {
            "transcription": ("speech_stopped -> completed", "in-process transcribe"),
            "conversation": ("first words -> first audio delta", "first sentence synthesis"),
            "speech": ("first byte, no stream_format", "first sentence synthesis"),
        }[case]
        rows.append(
            c.row(
                "issue 24",
                case,
                {"times": ours},
                {"times": anchor},
                goal=1.1,
                ours_label=labels[0],
                anchor_label=labels[1],
            )
        )
    c.print_rows(f"Realtime and streamed speech vs in-process ({c.load_average()})", rows)
    c.save(args, rows)


if __name__ == "__main__":
    main()
