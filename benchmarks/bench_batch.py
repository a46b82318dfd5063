"""Ten short clips in one `llm transcribe` call against mlx-audio's own STT command per clip.

    python benchmarks/bench_batch.py [--quick] [--repeats N] [--workdir DIR] [--json FILE]

Target (issue 7): a batch of 10 short clips in one `llm transcribe` call at least 5x
faster than running `python -m mlx_audio.stt.generate --model <converted whisper folder>
--audio clip --output-path out` once per clip.

Same model folder for both (the plugin's converted whisper-tiny.en), same ten espeak-ng
sentences (2-4 s each, 16 kHz wav). mlx-audio's command is run as shipped: it imports
its whole STT stack and loads the model for every clip, runs Whisper in fp16 (which
MLX's CPU back-end computes without BLAS) and pads every clip to a 30-s window. The
plugin loads once, in fp32 with OpenBLAS. The anchor's ten commands take minutes, so
they run once (their sum is one sample); the plugin's batch runs --repeats times.
Peak RSS: the plugin's one process; the largest of the anchor's ten.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as c

GOAL = 1 / 5  # ours / anchor


def main():
    args = c.parser(__doc__.splitlines()[0], default_repeats=3).parse_args()
    workdir = c.prepare_workdir(args.workdir)
    model_dir = c.ensure_models(["transcription"])["transcription"]
    sentences = c.SHORT_SENTENCES[:3] if args.quick else c.SHORT_SENTENCES
    clips = [str(c.espeak_clip(s, workdir / "audio" / f"short{i:02d}.wav")) for i, s in enumerate(sentences)]
    audio_s = sum(c.wav_seconds(p) for p in clips)
    runs = c.repeats(args)
    anchor_passes = 1
    print(
        f"load average before: {c.load_average()}; {len(clips)} clips, {audio_s:.1f} s of audio; "
        f"ours {runs} runs, anchor {anchor_passes} pass",
        flush=True,
    )
    out_dir = workdir / "batch_out"
    out_dir.mkdir(exist_ok=True)

    ours = [
        c.run_command(c.llm_command() + ["transcribe", "-m", "whisper-tiny.en", *clips]) for _ in range(runs)
    ]
    anchor_times, anchor_peak, anchor_texts = [], 0.0, []
    for _ in range(anchor_passes):
        total = 0.0
        for i, clip in enumerate(clips):
            output = str(out_dir / f"anchor{i:02d}")
            r = c.run_command(
                [
                    sys.executable,
                    "-m",
                    "mlx_audio.stt.generate",
                    "--model",
                    model_dir,
                    "--audio",
                    clip,
                    "--output-path",
                    output,
                ]
            )
            total += r["seconds"]
            anchor_peak = max(anchor_peak, r["peak_mb"])
            anchor_texts.append((out_dir / f"anchor{i:02d}.txt").read_text().strip())
        anchor_times.append(total)

    rows = [
        c.row(
            "batch",
            f"{len(clips)} short clips ({audio_s:.1f} s of audio)",
            c.measured(ours, audio_s=audio_s),
            {"times": anchor_times, "peak_mb": anchor_peak},
            goal=GOAL,
            ours_label=f"one `llm transcribe` call with {len(clips)} files",
            anchor_label="`python -m mlx_audio.stt.generate --model DIR --audio CLIP --output-path OUT` per clip, summed",
            note=f"speed-up {c.median(anchor_times) / c.median([r['seconds'] for r in ours]):.1f}x (goal >= 5x)",
        )
    ]
    print("ours, first transcript lines:", ours[-1]["stdout"].strip().splitlines()[:3])
    print("anchor, first transcripts:", anchor_texts[:3])
    print(f"load average after: {c.load_average()}")
    c.print_rows("Batch transcription (goal: ours/anchor <= 0.2, i.e. >= 5x faster)", rows)
    c.save(args, rows)


if __name__ == "__main__":
    main()
