"""A long recording with pauses: `llm transcribe` (VAD + batched windows) against faster-whisper.

    python benchmarks/bench_long.py [--quick] [--workdir DIR] [--json FILE]

Anchors (issue 13), on the same tiny.en weights (the CTranslate2 export the embedded
model is converted from), the same recording, this machine, one run:

* faster-whisper int8, 2 threads, beam_size=1: sequential, sequential with its
  Silero VAD (vad_filter=True), and BatchedInferencePipeline with batch_size=8;
* ours: `llm transcribe rec.wav` (VAD on, the default batch of 6), --batch-size 8 (the
  default before issue 27), --batch-size 1,
  --no-vad (mlx-audio's sequential loop), and the default with the wheel's reference
  BLAS (LLM_MLX_AUDIO_BLAS=none: what `llm install` gives a Linux user without OpenBLAS).

Goal: faster than the batched pipeline, with a word error rate no worse than the
sequential one. Every engine runs as a whole command in its own process; time is
wall time, memory is the process's peak RSS (os.wait4). A breakdown of our time
(VAD, encoder, decoder) comes from a child that times each stage on a loaded model.
Bounded memory: peak RSS of `llm transcribe` on a 60-minute and a 1-minute recording.

The recording is espeak-ng English (paragraphs and sentences) with pauses of 0.3 to
8 s, two 30-s silences, and a faint noise floor: about 12 minutes (--quick: 3).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as c
from bench_transcribe import FW_THREADS, faster_whisper_dir, wer

RATE = 16000


def make_recording(workdir: Path, minutes: float, name: str):
    """(wav path, reference text) for a recording of about `minutes`, made once."""
    import numpy as np

    from llm_mlx_audio.audio.decode import decode_audio
    from llm_mlx_audio.audio.encode import encode_audio

    path = workdir / "audio" / f"{name}.wav"
    reference_path = path.with_suffix(".txt")
    if path.exists() and reference_path.exists():
        return path, reference_path.read_text()
    texts = list(c.PARAGRAPHS.values()) + c.SENTENCES + c.SHORT_SENTENCES
    clips = []
    for i, text in enumerate(texts):
        clip = c.espeak_clip(text, workdir / "audio" / f"part{i}.wav")
        clips.append((decode_audio(clip, RATE), text))
    rng = np.random.default_rng(0)
    pieces, words, seconds, i = [], [], 0.0, 0
    while seconds < minutes * 60:
        samples, text = clips[i % len(clips)]
        pause = 30.0 if i in (7, 19) else float(rng.choice([0.3, 0.6, 1.0, 2.0, 4.0, 8.0]))
        pieces += [samples, np.zeros(int(pause * RATE), np.float32)]
        words.append(text)
        seconds += len(samples) / RATE + pause
        i += 1
    audio = np.concatenate(pieces)
    audio += (0.002 * rng.standard_normal(len(audio))).astype(np.float32)
    path.write_bytes(encode_audio(np.clip(audio, -1, 1), RATE, "wav"))
    reference_path.write_text(" ".join(words))
    return path, " ".join(words)


def child_fw(clip, mode):
    from faster_whisper import BatchedInferencePipeline, WhisperModel

    model = WhisperModel(faster_whisper_dir(), device="cpu", compute_type="int8", cpu_threads=FW_THREADS)
    if mode == "batched":
        segments, _ = BatchedInferencePipeline(model).transcribe(clip, batch_size=8, beam_size=1)
    else:
        segments, _ = model.transcribe(clip, beam_size=1, vad_filter=mode == "vad")
    print(" ".join(s.text.strip() for s in segments))
    return {}


def child_breakdown(clip):
    """Our stages timed on a loaded model: VAD pass, encoder, decoder (the rest of decode)."""
    import time

    import llm_mlx_audio
    from llm_mlx_audio.audio.speech_regions import pack_windows, speech_regions
    from llm_mlx_audio.engine import batched_whisper, long_form
    from llm_mlx_audio.engine.models import _pieces_of
    from llm_mlx_audio.engine.thread import get_mlx_thread
    from llm_mlx_audio.models import DEFAULT_BATCH_SIZE as size

    model = llm_mlx_audio.get_transcription_model("whisper-tiny.en")
    thread = get_mlx_thread()
    pieces = _pieces_of(clip, RATE)
    with model._use() as loaded, long_form.vad_model() as vad_model:
        start = time.perf_counter()
        probabilities, total = long_form._speech_probabilities(thread, vad_model, pieces())
        vad_s = time.perf_counter() - start
        windows = pack_windows(speech_regions(probabilities, total))
        audios = [audio for _, audio in long_form._window_audio(pieces(), windows)]
        encoder_s = decode_s = 0.0
        for i in range(0, len(audios), size):
            batch = audios[i : i + size]

            def encode(batch=batch):  # as decode_windows does it: mels, then one window at a time
                batched_whisper._encode(loaded.model, batched_whisper._mels(loaded.model, batch))

            start = time.perf_counter()
            thread.run(encode)
            encoder_s += time.perf_counter() - start
            start = time.perf_counter()
            thread.run(batched_whisper.decode_windows, loaded, batch, language="en")
            decode_s += time.perf_counter() - start
    return {
        "vad_s": vad_s,
        "encoder_s": encoder_s,
        "decoder_s": decode_s - encoder_s,
        "windows": len(windows),
        "speech_s": sum(w.samples for w in windows) / RATE,
    }


CHILDREN = {"fw": child_fw, "breakdown": child_breakdown}


def main():
    args = c.parser(__doc__.splitlines()[0], default_repeats=1).parse_args()
    if c.child_main(args, CHILDREN):
        return
    workdir = c.prepare_workdir(args.workdir)
    (workdir / "audio").mkdir(exist_ok=True)
    c.ensure_models(["transcription"])
    for model_id in ("whisper-tiny.en", "whisper-base"):  # converted before anything is timed
        c.run_command(
            c.llm_command()
            + [
                "transcribe",
                str(c.espeak_clip("Hello.", workdir / "audio" / "hello.wav")),
                "-n",
                "-m",
                model_id,
            ]
        )
    minutes = 3 if args.quick else 12
    clip, reference = make_recording(workdir, minutes, f"long{minutes}")
    seconds = c.wav_seconds(clip)
    print(f"recording: {seconds / 60:.1f} min; load average before: {c.load_average()}", flush=True)

    def ours(*extra, env=None, model="whisper-tiny.en"):
        argv = c.llm_command() + ["transcribe", str(clip), "-n", "-m", model, *extra]
        return c.run_command(argv, env=env)

    def fw(mode):
        argv = [sys.executable, __file__, "--child", "fw", "--child-args"]
        return c.run_command([*argv, json.dumps({"clip": str(clip), "mode": mode})])

    runs = {
        "ours (VAD, batch 6, the default)": ours(),
        "ours --batch-size 8": ours("--batch-size", "8"),
        "ours --batch-size 1": ours("--batch-size", "1"),
        "ours --no-vad": ours("--no-vad"),
        "ours, reference BLAS": ours(env={"LLM_MLX_AUDIO_BLAS": "none"}),
        "ours, whisper-base (VAD, batch 6)": ours(model="whisper-base"),
        "faster-whisper sequential": fw("sequential"),
        "faster-whisper + VAD": fw("vad"),
        "faster-whisper batched 8": fw("batched"),
    }
    table = []
    for name, result in runs.items():
        table.append((name, result["seconds"], wer(reference, result["stdout"]), result["peak_mb"]))
    anchor = runs["faster-whisper batched 8"]["seconds"]
    print(f"\n{'run':32} {'time s':>8} {'x fw-batched':>12} {'WER':>6} {'peak MB':>8}")
    for name, took, error, peak in table:
        print(f"{name:32} {took:8.1f} {took / anchor:12.2f} {error:6.3f} {peak:8.0f}")
    same = runs["ours (VAD, batch 6, the default)"]["stdout"] == runs["ours --batch-size 1"]["stdout"]
    print(f"batch 6 and batch 1 give the same text: {same}")

    breakdown = c.run_child(__file__, "breakdown", clip=str(clip))
    print(
        "our stages on a loaded model: VAD {vad_s:.2f} s, encoder {encoder_s:.2f} s, decoder {decoder_s:.2f} s "
        "({windows} windows, {speech_s:.0f} s of speech)".format(**breakdown)
    )

    # Bounded memory. A 1-minute recording has 2-3 speech windows: it never fills a batch
    # of 8, whose decoder state (cross-attention caches of 8 windows) is part of every
    # longer file's peak. So the comparison is made at the default batch and at batch 2.
    memory = {}
    for length in (1, 12, 60):
        path, _ = make_recording(workdir, length, f"memory{length}")
        for batch in ("8", "2") if length != 12 else ("8",):
            argv = c.llm_command() + [
                "transcribe",
                str(path),
                "-m",
                "whisper-tiny.en",
                "-q",
                "--batch-size",
                batch,
            ]
            memory[f"{length} min, batch {batch}"] = c.run_command(argv)[
                "peak_mb"
            ]  # logging on: llm hashes the file
    for label, peak in memory.items():
        print(f"peak RSS {label}: {peak:.0f} MB")
    for batch in ("8", "2"):
        ratio = memory[f"60 min, batch {batch}"] / memory[f"1 min, batch {batch}"]
        print(f"batch {batch}: 60-min / 1-min peak RSS {ratio:.2f} (goal <= 1.15)")
    print(f"load average after: {c.load_average()}")
    if args.json:
        Path(args.json).write_text(
            json.dumps({"runs": table, "breakdown": breakdown, "memory": memory, "same_text": same}, indent=2)
        )


if __name__ == "__main__":
    main()
