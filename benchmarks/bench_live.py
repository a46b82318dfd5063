"""Issue 17: how quickly `llm listen` and `llm audio chat` answer, and what listening costs.

    python benchmarks/bench_live.py [--quick] [--repeats N] [--workdir DIR]

Runs against a private PulseAudio (tests/pulse_audio.py: a microphone and a speaker
that run in real time; needs pulseaudio, pulseaudio-utils, libasound2-plugins):

* listen latency: three espeak-ng sentences are "spoken" into the microphone; for each
  printed line, the time from the sentence's true end to the line on stdout. Anchor:
  that utterance's own transcription time (Whisper tiny.en, warm, in a fresh process)
  plus the end-of-speech hangover (--pause, 0.8 s). Target: at most 1.10x.
* chat first audio: `llm audio chat -m echo` (llm-echo answers at once); the time from
  the end of the spoken prompt to the first sound on the speaker. Anchor: the prompt's
  transcription + the synthesis of the reply's first sentence (Kokoro, warm, measured
  the same way) + the hangover. Target: at most 1.10x.
* the rig's playback delay (PortAudio -> ALSA's pulse plugin -> PulseAudio -> parec),
  measured with a tone, is reported and taken off the chat's time in a second row. It is
  erratic on this rig (0.02 to 1.4 s between runs), so the targets are on the raw times.
* idle CPU: `llm listen` with a silent room, CPU time of the process over 10 s after
  it is ready, as a share of one core. Target: under 10%.

The recording's clock: each sentence's end is the moment paplay started plus its end
in the played file, so PulseAudio's own latency counts against us.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))  # pulse_audio, spoken_clips

import _common as c

SENTENCES = ["The weather is cold today.", "Please send me the report.", "Our team finished early."]
PROMPT = "Tell me about the weather in the mountains."
PAUSE = 0.8  # llm listen's and llm audio chat's --pause: silence that ends an utterance
RATE = 16000


def listen_latency(pulse, env, workdir: Path) -> dict:
    from spoken_clips import with_pauses

    from llm_mlx_audio.audio.encode import encode_audio

    samples, spans = with_pauses([SENTENCES[0], 2.5, SENTENCES[1], 2.5, SENTENCES[2], 1.0])
    talk = workdir / "live-talk.wav"
    talk.write_bytes(encode_audio(samples, RATE, "wav"))
    process = subprocess.Popen(
        c.llm_command() + ["listen", "-m", "whisper-tiny.en", "--until-silence", "2.5"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    _ready(process)
    started = time.monotonic()
    pulse.play(talk)
    arrivals = [time.monotonic() - started for _ in process.stdout]
    process.wait(60)
    if len(arrivals) != len(spans):
        raise RuntimeError(f"listen printed {len(arrivals)} lines for {len(spans)} sentences")
    latencies = [arrival - end for arrival, (_, end) in zip(arrivals, spans, strict=True)]
    utterances = [samples[max(int((s - 0.3) * RATE), 0) : int((e + 0.3) * RATE)] for s, e in spans]
    return {"latencies": latencies, "utterances": utterances}


def chat_first_audio(pulse, env, workdir: Path) -> dict:
    from pulse_audio import sounding
    from spoken_clips import speech_wav

    prompt = workdir / "live-prompt.wav"
    prompt.write_bytes(speech_wav(PROMPT))
    spoken_end = _spoken_seconds(prompt)
    recorder = pulse.recorder()
    process = subprocess.Popen(
        c.llm_command() + ["audio", "chat", "-m", "echo", "--transcription-model", "whisper-tiny.en"]
        + ["--turns", "1", "-n"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )  # fmt: skip
    _ready(process)
    time.sleep(0.5)
    started = time.monotonic()
    pulse.play(prompt)
    out, err = process.communicate(timeout=300)
    played = recorder.stop()
    if process.returncode != 0:
        raise RuntimeError(err.decode()[-2000:])
    first_sound = sounding(played)[0][0] + recorder.started
    reply = out.decode().split("echo: ", 1)[1].strip()
    return {"latency": first_sound - (started + spoken_end), "reply": reply}


def playback_lag(pulse, env) -> float:
    """The rig's own delay from opening an output and handing it audio to hearing it on the
    speaker's monitor (ALSA's pulse plugin is slow to start a stream)."""
    from pulse_audio import sounding

    code = (
        "import time, numpy as np\n"
        "from llm_mlx_audio.audio.playback import StreamPlayer\n"
        "print(time.monotonic(), flush=True)\n"
        "player = StreamPlayer(24000)\n"
        "player.feed(0.5 * np.sin(np.arange(7200) * 0.1).astype(np.float32))\n"
        "player.finish()\n"
    )
    recorder = pulse.recorder()
    time.sleep(0.5)
    fed = float(subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, check=True).stdout)
    time.sleep(0.3)
    played = recorder.stop()
    return sounding(played)[0][0] + recorder.started - fed


def idle_cpu(env, seconds: float) -> float:
    """Share of one core `llm listen` uses while the room is silent."""
    process = subprocess.Popen(
        c.llm_command() + ["listen", "-m", "whisper-tiny.en"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    _ready(process)
    time.sleep(2)  # past start-up work
    before, at = _cpu_seconds(process.pid), time.monotonic()
    time.sleep(seconds)
    used = (_cpu_seconds(process.pid) - before) / (time.monotonic() - at)
    process.terminate()
    process.wait(30)
    return used


def _ready(process):
    line = process.stderr.readline().decode()
    if not line.startswith(("Listening on", "Talking with")):
        process.kill()
        raise RuntimeError(line + process.stderr.read().decode()[-2000:])


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _spoken_seconds(wav: Path) -> float:
    """Where the speech in a wav file ends (espeak-ng pads with silence)."""
    import numpy as np

    from llm_mlx_audio.audio.decode import decode_audio

    samples = decode_audio(wav.read_bytes(), RATE)
    return (np.flatnonzero(np.abs(samples) > 1e-3)[-1] + 1) / RATE


def model_times(utterances_file: str, reply: str, repeats: int) -> dict:
    """In a fresh process, warm: transcription of each utterance, first sentence of the reply."""
    import numpy as np

    from llm_mlx_audio import registry
    from llm_mlx_audio.streaming import stream_speech

    utterances = list(np.load(utterances_file, allow_pickle=False).values())
    listener = registry.find_model("transcription", "whisper-tiny.en")
    speaker = registry.find_model("speech", None)
    voice = speaker.resolve_voice(None)
    listener.transcribe(utterances[0], vad=False)  # warm, as in the commands
    next(iter(stream_speech(speaker, iter(["Hello there, how are you?"]), voice=voice)))

    def timed(work):
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            work()
            times.append(time.perf_counter() - start)
        return c.median(times)

    def first_sentence():
        pieces = stream_speech(speaker, iter([reply]), voice=voice)
        next(iter(pieces))
        pieces.close()

    return {
        "transcribe": [timed(lambda u=u: listener.transcribe(u, vad=False)) for u in utterances],
        "first_sentence": timed(first_sentence),
    }


def main():
    args = c.parser(__doc__, default_repeats=3).parse_args()
    if c.child_main(args, {"model_times": model_times}):
        return
    from pulse_audio import HAVE_PULSEAUDIO, PrivatePulse

    if not HAVE_PULSEAUDIO:
        raise SystemExit("needs PulseAudio: apt-get install pulseaudio pulseaudio-utils libasound2-plugins")
    runs = c.repeats(args)
    workdir = c.prepare_workdir(args.workdir)
    c.ensure_models()
    print(f"load average before: {c.load_average()}", flush=True)
    with PrivatePulse() as pulse:
        env = {**os.environ, **pulse.env, "HF_HUB_OFFLINE": "1"}
        heard = [listen_latency(pulse, env, workdir) for _ in range(runs)]
        chats = [chat_first_audio(pulse, env, workdir) for _ in range(runs)]
        idle = idle_cpu(env, 5 if args.quick else 10)
        lag = c.median([playback_lag(pulse, env) for _ in range(3)])
    import numpy as np
    from spoken_clips import speech_samples

    saved = workdir / "live-utterances.npz"
    prompt = speech_samples(PROMPT)
    np.savez(saved, *heard[0]["utterances"], prompt)
    models = c.run_child(
        __file__, "model_times", utterances_file=str(saved), reply=chats[0]["reply"], repeats=runs
    )
    *per_utterance, prompt_transcribe = models["transcribe"]

    listen_ours = [c.median([run["latencies"][i] for run in heard]) for i in range(len(SENTENCES))]
    listen_anchor = [t + PAUSE for t in per_utterance]
    chat_anchor = prompt_transcribe + models["first_sentence"] + PAUSE
    chat_net = [run["latency"] - lag for run in chats]  # less the test rig's own playback delay
    rows = [
        c.row(
            "listen latency",
            "end of utterance to its line (median over 3 sentences)",
            {"times": listen_ours},
            {"times": listen_anchor},
            goal=1.10,
            anchor_label="transcribe + hangover",
        ),
        c.row(
            "chat first audio",
            "end of prompt to first reply sound (llm-echo)",
            {"times": [run["latency"] for run in chats]},
            {"times": [chat_anchor]},
            goal=1.10,
            anchor_label="transcribe + first sentence + hangover",
        ),
        c.row(
            "chat first audio, net",
            f"the same, less the rig's playback delay ({lag:.2f} s)",
            {"times": chat_net},
            {"times": [chat_anchor]},
            anchor_label="transcribe + first sentence + hangover",
        ),
    ]
    c.print_rows("Listening live (issue 17)", rows)
    print(
        f"\nper sentence, listen latency {[round(x, 2) for x in listen_ours]} s; "
        f"transcription {[round(x, 2) for x in per_utterance]} s; hangover {PAUSE} s"
    )
    print(
        f"chat: transcription {prompt_transcribe:.2f} s, first sentence {models['first_sentence']:.2f} s, "
        f"reply {json.dumps(chats[0]['reply'])[:80]}..."
    )
    print(f"idle CPU of llm listen in a silent room: {idle * 100:.1f}% of one core (target < 10%)")
    print(f"load average after: {c.load_average()}", flush=True)
    c.save(args, rows, extra={"idle_cpu_share": idle, "playback_lag_s": lag})


if __name__ == "__main__":
    main()
