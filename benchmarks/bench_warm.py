"""Issue 16: warm models between commands, and a server that sheds dead work.

    python benchmarks/bench_warm.py [--quick] [--repeats N] [--workdir DIR] [--baseline CHECKOUT]

Same machine, same run, embedded models (Kokoro-82M, Whisper tiny.en):

* cold: `llm speak "one sentence" -o x.wav --local` / `llm transcribe clip.wav --local`,
  each a fresh process that loads its model; warm: the same commands while
  `llm audio serve` runs (they find its advert and send it the work). Target: warm at
  most 35% of cold.
* time to the first audio byte of `llm speak ... -o -`, cold and warm.
* the abandoned upload: a client uploads a 12-minute recording and gives up after 3 s;
  the next client's one-word speech request is timed from then. "Before" is what it
  would wait if the abandoned work ran on: the full transcription of the same file,
  measured in the same run.
* also the cold command on the wheel's reference BLAS (LLM_MLX_AUDIO_BLAS=none), what
  `llm install` gives a Linux user without OpenBLAS.
* with --baseline CHECKOUT (a worktree of an earlier commit): the same cold commands with
  that commit's plugin code, run alternately with this one's (target: cold speak at most
  60% of the baseline's). The kernel and G2P caches are made by a first, untimed run.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as c

SENTENCE = "Warm models make every command after the first one quick."


def baseline_command(checkout: str) -> list:
    """`llm` running the plugin code of another checkout (see _baseline_llm.py)."""
    return [sys.executable, str(Path(__file__).resolve().parent / "_baseline_llm.py"), checkout]


def alternating(first, second, runs, env=None):
    """Time two commands in turn (a b a b ...), so drift on a shared machine hits both."""
    results = {0: [], 1: []}
    for _ in range(runs):
        for side, argv in enumerate((first, second)):
            results[side].append(c.run_command(argv, env=env))
    return tuple(
        {"times": [r["seconds"] for r in runs_], "peak_mb": max(r["peak_mb"] for r in runs_)}
        for runs_ in results.values()
    )


def first_byte(argv, env=None) -> float:
    """Seconds from the start of a command to the first byte on its stdout."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        argv, env={**os.environ, **(env or {})}, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
    )
    proc.stdout.read(1)
    took = time.perf_counter() - start
    proc.stdout.read()
    proc.wait()
    return took


def start_server(user: Path):
    proc = subprocess.Popen(c.llm_command() + ["audio", "serve", "--port", "0"], stderr=subprocess.DEVNULL)
    advert = user / "llm-mlx-audio-server.json"
    for _ in range(600):
        try:
            data = json.loads(advert.read_text())
            if data["pid"] == proc.pid:
                return proc, data["url"]
        except (OSError, ValueError, KeyError):
            time.sleep(0.1)
    raise RuntimeError("the server did not start")


def long_recording(workdir: Path, minutes: float) -> Path:
    """espeak-ng sentences with pauses, tiled to the length asked for (flac)."""
    import numpy as np

    from llm_mlx_audio.audio.decode import decode_audio
    from llm_mlx_audio.audio.encode import encode_audio

    path = workdir / f"long-{minutes:g}min.flac"
    if path.exists():
        return path
    parts = []
    for i, sentence in enumerate(c.SENTENCES):
        clip = c.espeak_clip(sentence, workdir / f"warm-s{i}.wav")
        parts += [decode_audio(str(clip)), np.zeros(16000, np.float32)]
    one = np.concatenate(parts)
    reps = int(minutes * 60 * 16000 / len(one)) + 1
    path.write_bytes(encode_audio(np.tile(one, reps)[: int(minutes * 60 * 16000)], 16000, "flac"))
    return path


def abandoned_upload(url: str, recording: Path) -> dict:
    import httpx

    data = recording.read_bytes()
    start = time.perf_counter()
    response = httpx.post(
        url + "/v1/audio/transcriptions",
        files={"file": ("long.flac", data)},
        data={"model": "whisper-tiny.en"},
        timeout=900,
    )
    full = time.perf_counter() - start
    assert response.status_code == 200
    gave_up = {}

    def impatient():
        try:
            httpx.post(
                url + "/v1/audio/transcriptions",
                files={"file": ("long.flac", data)},
                data={"model": "whisper-tiny.en"},
                timeout=httpx.Timeout(60, read=3),
            )
        except httpx.TimeoutException:
            gave_up["at"] = time.perf_counter()

    client = threading.Thread(target=impatient)
    client.start()
    client.join()
    body = {"model": "kokoro-82m", "input": "Next.", "response_format": "wav"}
    next_ok = httpx.post(url + "/v1/audio/speech", json=body, timeout=900)
    waited = time.perf_counter() - gave_up["at"]
    assert next_ok.status_code == 200
    return {"full_transcription_s": full, "next_request_waited_s": waited}


def main():
    p = c.parser(__doc__, default_repeats=5)
    p.add_argument("--baseline", help="a checkout of an earlier commit to compare the cold commands with")
    args = p.parse_args()
    runs = c.repeats(args)
    workdir = c.prepare_workdir(args.workdir)
    user = Path(os.environ["LLM_USER_PATH"])
    c.ensure_models()
    clip = c.espeak_clip(c.SENTENCES[0], workdir / "warm-clip.wav")
    out = workdir / "warm.wav"
    llm = c.llm_command()
    speak = llm + ["speak", SENTENCE, "-o", str(out)]
    transcribe = llm + ["transcribe", str(clip), "-m", "whisper-tiny.en", "--no-log"]
    print(f"load average before: {c.load_average()}", flush=True)

    def times(argv, env=None):
        return {"times": [c.run_command(argv, env=env)["seconds"] for _ in range(runs)]}

    c.run_command(speak + ["--local"])  # caches made (kernels, lexicon), not timed
    if args.baseline:
        base = baseline_command(args.baseline)
        cold_speak, base_speak = alternating(speak + ["--local"], base + speak[1:] + ["--local"], runs)
        cold_transcribe, base_transcribe = alternating(
            transcribe + ["--local"], base + transcribe[1:] + ["--local"], runs
        )
    else:
        cold_speak = times(speak + ["--local"])
        cold_transcribe = times(transcribe + ["--local"])
    slow_speak = times(speak + ["--local"], env={"LLM_MLX_AUDIO_BLAS": "none"})
    cold_first = {
        "times": [first_byte(speak[:-2] + ["-o", "-", "--format", "pcm", "--local"]) for _ in range(runs)]
    }
    server, url = start_server(user)
    try:
        c.run_command(speak)  # the server loads both models once
        c.run_command(transcribe)
        warm_speak = times(speak)
        warm_transcribe = times(transcribe)
        warm_first = {"times": [first_byte(speak[:-2] + ["-o", "-", "--format", "pcm"]) for _ in range(runs)]}
        minutes = 3 if args.quick else 12
        shed = abandoned_upload(url, long_recording(workdir, minutes))
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=120)
    rows = []
    if args.baseline:
        rows += [
            c.row(
                "cold speak",
                f"cold speak, one sentence -o x.wav: now vs {Path(args.baseline).name}",
                cold_speak,
                base_speak,
                goal=0.60,
                ours_label="now",
                anchor_label="baseline",
            ),
            c.row(
                "cold transcribe",
                f"cold transcribe, one short clip: now vs {Path(args.baseline).name}",
                cold_transcribe,
                base_transcribe,
                ours_label="now",
                anchor_label="baseline",
            ),
            c.row(
                "warm speak vs baseline cold",
                "speak one sentence: warm now vs cold baseline",
                warm_speak,
                base_speak,
                goal=0.35,
                ours_label="warm",
                anchor_label="baseline cold",
            ),
        ]
    rows += [
        c.row(
            "warm speak",
            "speak one sentence: warm vs cold, both now",
            warm_speak,
            cold_speak,
            goal=0.35,
            ours_label="warm",
            anchor_label="cold",
        ),
        c.row(
            "warm transcribe",
            "transcribe one short clip: warm vs cold, both now",
            warm_transcribe,
            cold_transcribe,
            goal=0.35,
            ours_label="warm",
            anchor_label="cold",
        ),
        c.row(
            "first audio byte",
            "first byte of speak -o - --format pcm: warm vs cold",
            warm_first,
            cold_first,
            ours_label="warm",
            anchor_label="cold",
        ),
        c.row(
            "OpenBLAS",
            "cold speak, system OpenBLAS vs reference BLAS",
            cold_speak,
            slow_speak,
            ours_label="openblas",
            anchor_label="reference",
        ),
        c.row(
            "shed dead work",
            f"next request after a {minutes}-min upload is abandoned at 3 s",
            {"times": [shed["next_request_waited_s"]]},
            {"times": [shed["full_transcription_s"]]},
            ours_label="waited",
            anchor_label="if it ran on",
        ),
    ]
    c.print_rows("Warm models and shed work (issue 16)", rows)
    print(
        f"shed dead work: the next request waited {shed['next_request_waited_s']:.2f} s "
        "(issue 27: goal <= 5 s, 9.2 s before; benchmarks/bench_shed.py repeats it)"
    )
    print(f"load average after: {c.load_average()}", flush=True)
    c.save(args, rows, extra=shed)


if __name__ == "__main__":
    main()
