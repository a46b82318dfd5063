"""What the plugin adds on top of calling mlx-audio directly, and on top of llm itself.

    python benchmarks/bench_overhead.py [--quick] [--repeats N] [--workdir DIR] [--json FILE]

Targets (issue 7): `llm speak` / `llm transcribe` within 5% of calling mlx-audio directly
in Python on the same model and input; `llm --help` no slower than llm without the plugin.

"Directly" means what a careful user of mlx-audio would write on this machine: the same
BLAS preload and model adaptations the plugin applies (llm_mlx_audio.engine.patches), so
only the plugin's own layers (lookup, pool, MLX thread, audio decoding/encoding, text
chunking, llm logging) are measured, not the CPU speed-ups. For Kokoro the direct path
also needs the offline G2P installed into the model's pipeline cache
(kokoro_g2p.prepare_kokoro): mlx-audio's own English pipeline downloads spaCy's model and
cannot run here. The direct scripts load those two plugin modules without the plugin's
package __init__, so they do not import llm. Nothing is subtracted from either side.

* in-process, same process model (one child each, model loaded, one warm-up call):
  plugin API `speak(text)` / `transcribe(path)` against `model.generate(...)`.
* whole command: `llm speak TEXT -o out.wav` / `llm transcribe clip.wav` against a
  Python script that does the direct calls and writes the same output.
* `llm --help`: only this plugin loaded (LLM_LOAD_PLUGINS=llm-mlx-audio) against no
  plugins (LLM_LOAD_PLUGINS=""), alternating, many runs.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as c

VOICE = "jm_kumo"
SPEAK_TEXT = c.SENTENCES[0]
CLIP = "para_a"


# -- direct mlx-audio (what the plugin wraps) ----------------------------------------


def _patches():
    """The plugin's adaptation entry point. Importing it imports neither llm nor MLX
    (the package's __init__ imports no llm), so the direct path pays nothing extra."""
    from llm_mlx_audio.engine import patches

    return patches


def direct_speech(model_dir):
    """mlx-audio's Kokoro loaded with its own loader, plus the plugin's CPU speed-ups."""
    patches = _patches()
    patches.blas.prepare_mlx()  # only the BLAS: a direct user skips no imports
    from mlx_audio.tts.utils import load_model

    model = load_model(Path(model_dir))
    patches.adapt(model, "speech")  # the offline G2P and the CPU speed-ups

    def speak(text):
        import numpy as np

        return np.concatenate(
            [
                np.asarray(r.audio).reshape(-1)
                for r in model.generate(text, voice=VOICE, speed=1.0, lang_code="a")
            ]
        )

    return speak


def direct_transcription(model_dir):
    """mlx-audio's Whisper loaded with its own loader, plus the plugin's CPU speed-ups."""
    patches = _patches()
    patches.blas.prepare_mlx()
    from mlx_audio.stt.utils import load_model

    model = load_model(Path(model_dir))
    kwargs = patches.adapt(model, "transcription")

    def transcribe(path):
        return model.generate(path, **kwargs).text

    return transcribe


# -- children -------------------------------------------------------------------------


def child_speak(how, model_dir, text, runs):
    if how == "plugin":
        import llm_mlx_audio

        model = llm_mlx_audio.get_speech_model()

        def speak():
            return model.speak(text, voice=VOICE).duration
    else:
        direct = direct_speech(model_dir)

        def speak():
            return len(direct(text)) / 24000

    times, seconds = c.timed(speak, runs, warmup=1)
    return {"times": times, "audio_s": seconds}


def child_transcribe(how, model_dir, clip, runs):
    if how == "plugin":
        import llm_mlx_audio

        model = llm_mlx_audio.get_transcription_model("whisper-tiny.en")

        def transcribe():
            return model.transcribe(clip).text
    else:
        direct = direct_transcription(model_dir)

        def transcribe():
            return direct(clip)

    times, text = c.timed(transcribe, runs, warmup=1)
    return {"times": times, "text": text}


def child_speak_command(model_dir, text, output):
    """The direct whole command: load, speak, write a wav (as `llm speak -o`)."""
    from llm_mlx_audio.audio.encode import encode_audio

    audio = direct_speech(model_dir)(text)

    Path(output).write_bytes(encode_audio(audio, 24000, "wav"))
    return {}


def child_transcribe_command(model_dir, clip):
    """The direct whole command: load, transcribe, print (as `llm transcribe`)."""
    print(direct_transcription(model_dir)(clip))
    return {}


CHILDREN = {
    "speak": child_speak,
    "transcribe": child_transcribe,
    "speak_command": child_speak_command,
    "transcribe_command": child_transcribe_command,
}


# -- parent ---------------------------------------------------------------------------


def _alternate(runs, first, second):
    a, b = [], []
    for i in range(runs):
        # Swap the order every other run: neither side always goes first.
        if i % 2 == 0:
            a.append(first())
            b.append(second())
        else:
            b.append(second())
            a.append(first())
    return a, b


def _child_argv(name, **kwargs):
    return [
        sys.executable,
        __file__,
        "--child",
        name,
        "--child-args",
        json.dumps(kwargs),
    ]


def main():
    args = c.parser(__doc__.splitlines()[0], default_repeats=4).parse_args()
    if c.child_main(args, CHILDREN):
        return
    workdir = c.prepare_workdir(args.workdir)
    models = c.ensure_models()
    clip = str(c.espeak_clip(c.PARAGRAPHS[CLIP], workdir / "audio" / f"{CLIP}.wav"))
    runs = c.repeats(args)
    rounds = 1 if args.quick else 2
    per_round = max(1, -(-runs // rounds))
    print(
        f"load average before: {c.load_average()}; {runs} timed runs per measurement",
        flush=True,
    )
    rows = []

    # In-process.
    for kind, child, data in (
        ("speech", "speak", {"text": SPEAK_TEXT}),
        ("transcription", "transcribe", {"clip": clip}),
    ):
        acc = {how: {"times": [], "peak_mb": 0} for how in ("plugin", "direct")}
        for round_ in range(rounds):
            # A-B then B-A: a drift in background load favours neither side.
            for how in ("plugin", "direct")[:: 1 if round_ % 2 == 0 else -1]:
                r = c.run_child(
                    __file__,
                    child,
                    how=how,
                    model_dir=models[kind],
                    runs=per_round,
                    **data,
                )
                acc[how]["times"] += r["times"]
                acc[how]["peak_mb"] = max(acc[how]["peak_mb"], r["peak_mb"])
                acc[how]["audio_s"] = r.get("audio_s") or c.wav_seconds(clip)
        command = "speak(text)" if kind == "speech" else "transcribe(path)"
        direct = (
            "model.generate(text, voice, lang_code='a')"
            if kind == "speech"
            else "model.generate(path, fp16=False)"
        )
        rows.append(
            c.row(
                "overhead",
                f"{kind}: API, in-process",
                acc["plugin"],
                acc["direct"],
                goal=1.05,
                ours_label=f"plugin API {command}",
                anchor_label=f"mlx-audio {direct}, same speed-ups",
            )
        )

    # Whole commands.
    out_ours, out_direct = (
        workdir / "overhead_ours.wav",
        workdir / "overhead_direct.wav",
    )
    speak_ours, speak_direct = _alternate(
        runs,
        lambda: c.run_command(c.llm_command() + ["speak", SPEAK_TEXT, "-o", str(out_ours)]),
        lambda: c.run_command(
            _child_argv(
                "speak_command",
                model_dir=models["speech"],
                text=SPEAK_TEXT,
                output=str(out_direct),
            )
        ),
    )
    tr_ours, tr_direct = _alternate(
        runs,
        lambda: c.run_command(c.llm_command() + ["transcribe", "-m", "whisper-tiny.en", clip]),
        lambda: c.run_command(
            _child_argv("transcribe_command", model_dir=models["transcription"], clip=clip)
        ),
    )
    for kind, ours, direct, label, audio in (
        (
            "speech",
            speak_ours,
            speak_direct,
            "`llm speak TEXT -o out.wav`",
            c.wav_seconds(out_ours),
        ),
        (
            "transcription",
            tr_ours,
            tr_direct,
            "`llm transcribe clip.wav` (logs to logs.db)",
            c.wav_seconds(clip),
        ),
    ):
        rows.append(
            c.row(
                "overhead",
                f"{kind}: whole command",
                c.measured(ours, audio_s=audio),
                c.measured(direct),
                goal=1.05,
                ours_label=label,
                anchor_label="python script: import, load with mlx-audio + same speed-ups, generate, write",
            )
        )

    # llm --help.
    help_runs = 8 if args.quick else 20
    with_plugin, without = _alternate(
        help_runs,
        lambda: c.run_command(c.llm_command() + ["--help"], env={"LLM_LOAD_PLUGINS": "llm-mlx-audio"}),
        lambda: c.run_command(c.llm_command() + ["--help"], env={"LLM_LOAD_PLUGINS": ""}),
    )
    rows.append(
        c.row(
            "overhead",
            f"`llm --help` ({help_runs} runs each)",
            c.measured(with_plugin),
            c.measured(without),
            goal=1.05,
            ours_label="LLM_LOAD_PLUGINS=llm-mlx-audio (this plugin only)",
            anchor_label='LLM_LOAD_PLUGINS="" (no plugins)',
            note="'no slower' read as within 5% (the noise of one process start here)",
        )
    )
    # What llm itself costs before any plugin code runs: the floor under every `llm` command.
    host_runs = 5 if args.quick else 10
    host, bare = _alternate(
        host_runs,
        lambda: c.run_command(c.llm_command() + ["--help"], env={"LLM_LOAD_PLUGINS": ""}),
        lambda: c.run_command([sys.executable, "-c", "pass"]),
    )
    rows.append(
        c.row(
            "overhead",
            f"llm's own start-up ({host_runs} runs each)",
            c.measured(host),
            c.measured(bare),
            goal=None,
            ours_label='LLM_LOAD_PLUGINS="" llm --help (llm.cli and its default plugins, no plugin code)',
            anchor_label="python -c pass (a bare Python start)",
            note="the difference is paid by every llm command and is not the plugin's to remove",
        )
    )
    print(f"load average after: {c.load_average()}")
    c.print_rows("Plugin overhead (goal: ratio <= 1.05)", rows)
    c.save(args, rows)


if __name__ == "__main__":
    main()
