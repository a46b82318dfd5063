"""Issue 15: how long diarization takes per minute of audio, from 1 to 30 minutes.

    python benchmarks/bench_diarize.py [--quick] [--workdir DIR]

A conversation of espeak-ng's male and female voices (tests/conversations.py: turns of
1 to 15 s, pauses of 0 to 2 s) is made at each length; a fresh process runs the
diarization pass alone on it (VAD, GE2E windows, clustering: what `--diarize` adds to a
transcription), and reports its time, its peak memory, and the DER against the known
turns. The target: time per minute stays near constant (linear growth), and memory does
not grow with the square of the length (the recording itself is 3.8 MB a minute).
Then the DER on voices of both kinds (issue 27), side by side: the synthetic
conversations of tests/conversations.py and the real voices of tests/real_conversations.py
(Asterisk's recorded prompts, Debian's asterisk-core-sounds-*-g722), two and three
speakers, three seeds each (one with --quick). And `llm transcribe` of the 5-minute
recording with and without --diarize (tiny.en).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))  # conversations, der

import _common as c

VOICES = ("espeak-male", "espeak-female")


def make_recording(minutes: float, path: Path) -> list:
    """A conversation of about `minutes`, written to path; returns its reference turns."""
    import json

    from conversations import conversation

    from llm_mlx_audio.audio.encode import encode_audio

    reference_path = path.with_suffix(".json")
    if path.exists() and reference_path.exists():
        return json.loads(reference_path.read_text())
    samples, reference = conversation(VOICES, seed=int(minutes * 10), turns=max(4, int(minutes * 11)))
    path.write_bytes(encode_audio(samples, 16000, "wav"))
    reference_path.write_text(json.dumps(reference))
    return reference


def diarize_file(path: str, reference: list) -> dict:
    """In a fresh process: the diarization pass alone, timed after the models are loaded."""
    from der import der

    from llm_mlx_audio.audio.decode import decode_pieces
    from llm_mlx_audio.engine import diarization, long_form
    from llm_mlx_audio.engine.thread import get_mlx_thread

    thread = get_mlx_thread()
    with long_form.vad_model() as vad, diarization.speaker_model() as encoder:
        started = time.perf_counter()
        probabilities, total = long_form._speech_probabilities(thread, vad, decode_pieces(path, 16000))
        turns = diarization.diarize(decode_pieces(path, 16000), probabilities, total, encoder)
        seconds = time.perf_counter() - started
    hypothesis = [(t.start, t.end, t.speaker) for t in turns]
    return {
        "seconds": seconds,
        "audio_minutes": total / 16000 / 60,
        "der": der([tuple(r) for r in reference], hypothesis)["der"],
        "speakers": len({t.speaker for t in turns}),
    }


def der_by_voices(seeds: int) -> dict:
    """In a fresh process: {"synthetic 2": {der, right, count}, ...} over every voice set."""
    import conversations as synthetic
    import real_conversations as real

    from llm_mlx_audio.engine import diarization, long_form

    kinds = [("synthetic", synthetic)] + ([("real", real)] if real.HAVE_REAL_VOICES else [])
    results = {}
    with long_form.vad_model() as vad, diarization.speaker_model() as encoder:
        for kind, module in kinds:
            for n, sets, turns in ((2, module.TWO_SPEAKER_SETS, 10), (3, module.THREE_SPEAKER_SETS, 12)):
                scores = [
                    _scored(module.conversation(voices, seed, turns=turns), vad, encoder)
                    for voices in sets
                    for seed in range(seeds)
                ]
                results[f"{kind} {n}"] = {
                    "der": sum(rate for rate, _ in scores) / len(scores),
                    "right": sum(found == n for _, found in scores),
                    "count": len(scores),
                }
    return results


def _scored(conversation, vad, encoder) -> tuple[float, int]:
    """(DER, speakers found) of one (samples, reference turns)."""
    from der import der

    from llm_mlx_audio.engine import diarization, long_form
    from llm_mlx_audio.engine.thread import get_mlx_thread

    samples, reference = conversation
    probabilities, total = long_form._speech_probabilities(get_mlx_thread(), vad, [samples])
    turns = diarization.diarize([samples], probabilities, total, encoder)
    hypothesis = [(t.start, t.end, t.speaker) for t in turns]
    return der(reference, hypothesis)["der"], len({t.speaker for t in turns})


def main():
    args = c.parser(__doc__, default_repeats=1).parse_args()
    if c.child_main(args, {"diarize_file": diarize_file, "der_by_voices": der_by_voices}):
        return
    workdir = c.prepare_workdir(args.workdir)
    c.ensure_models()
    lengths = [1, 5, 10] if args.quick else [1, 5, 10, 30]
    print(f"load average before: {c.load_average()}", flush=True)
    results = []
    for minutes in lengths:
        path = workdir / f"diarize-{minutes}min.wav"
        reference = make_recording(minutes, path)
        result = c.run_child(__file__, "diarize_file", path=str(path), reference=reference)
        results.append(result)
        print(
            f"{result['audio_minutes']:5.1f} min: diarization {result['seconds']:6.2f} s "
            f"({result['seconds'] / result['audio_minutes']:.2f} s per minute), peak RSS "
            f"{result['peak_mb']:.0f} MB, DER {result['der'] * 100:.1f}%, {result['speakers']} speakers",
            flush=True,
        )
    per_minute = [r["seconds"] / r["audio_minutes"] for r in results]
    print(f"\ngrowth: time per minute at {lengths[-1]} min / at 1 min = {per_minute[-1] / per_minute[0]:.2f}")

    voices = c.run_child(__file__, "der_by_voices", seeds=1 if args.quick else 3)
    voices.pop("peak_mb")
    print("\nDER by voices (mean over the conversations; speakers found right):")
    for name, result in voices.items():
        print(
            f"  {name} speakers: DER {result['der'] * 100:4.1f}%, {result['right']}/{result['count']} right",
            flush=True,
        )

    five = workdir / "diarize-5min.wav"
    llm = c.llm_command()
    plain = c.run_command(llm + ["transcribe", str(five), "-m", "whisper-tiny.en", "-n", "-q"])
    diarized = c.run_command(
        llm + ["transcribe", str(five), "-m", "whisper-tiny.en", "-n", "-q", "--diarize"]
    )
    rows = [
        c.row(
            "diarization overhead",
            "llm transcribe of 5 min, --diarize vs not",
            {"times": [diarized["seconds"]], "peak_mb": diarized["peak_mb"]},
            {"times": [plain["seconds"]], "peak_mb": plain["peak_mb"]},
            ours_label="--diarize",
            anchor_label="plain",
        ),
        c.row(
            "linear growth",
            f"diarization s/min at {lengths[-1]} min vs 1 min",
            {"times": [per_minute[-1]]},
            {"times": [per_minute[0]]},
            goal=1.5,
            ours_label=f"{lengths[-1]} min",
            anchor_label="1 min",
        ),
    ]
    c.print_rows("Diarization (issue 15)", rows)
    print(f"load average after: {c.load_average()}", flush=True)
    c.save(args, rows, extra={"lengths": results, "voices": voices})


if __name__ == "__main__":
    main()
