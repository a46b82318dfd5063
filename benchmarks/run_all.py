"""Run every issue-7 benchmark in turn and print one summary table.

    python benchmarks/run_all.py [--quick] [--repeats N] [--workdir DIR] [--only NAME ...]

Each script runs in its own process, one after the other (never two at once: they
would measure each other), and writes its rows to RESULTS/<name>.json; the summary
(also written to RESULTS/summary.md) lists every comparison with our median, the
anchor's median, the ratio, peak RSS on both sides and whether the target is met.
Full run: about 7 minutes on a 2-core machine; --quick: about 3.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as c

SCRIPTS = {
    "transcribe": "bench_transcribe.py",
    "speak": "bench_speak.py",
    "overhead": "bench_overhead.py",
    "batch": "bench_batch.py",
}


def summary(results: dict, started: str, quick: bool) -> str:
    lines = [
        f"Run {started}{' (--quick)' if quick else ''}; shared 2-core machine, medians of several runs.",
        "",
        "| benchmark | case | ours | anchor | ours/anchor | best/best | target | met |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, rows in results.items():
        for r in rows:
            goal = "report" if r["goal"] is None else f"<= {r['goal']:g}"
            met = "" if r["met"] is None else ("yes" if r["met"] else "**no**")
            lines.append(
                f"| {name} | {r['case']} | {r['ours_s']:.2f} s, {_mb(r['ours_mb'])} | "
                f"{r['anchor_s']:.2f} s, {_mb(r['anchor_mb'])} | {r['ratio']:.2f} | {r['ratio_best']:.2f} | {goal} | {met} |"
            )
    return "\n".join(lines) + "\n"


def _mb(value):
    return "?" if value is None else f"{value:.0f} MiB"


def main():
    p = c.parser(__doc__.splitlines()[0])
    p.add_argument("--only", nargs="+", choices=sorted(SCRIPTS), help="run only these")
    p.add_argument("--results", help="folder for the JSON results (default: WORKDIR/results)")
    args = p.parse_args()
    workdir = c.prepare_workdir(args.workdir)
    results_dir = Path(args.results or workdir / "results")
    results_dir.mkdir(parents=True, exist_ok=True)
    started = time.strftime("%Y-%m-%d %H:%M")
    results, failed = {}, []
    for name in args.only or SCRIPTS:
        out = results_dir / f"{name}.json"
        argv = [
            sys.executable,
            str(c.BENCH_DIR / SCRIPTS[name]),
            "--workdir",
            str(workdir),
            "--json",
            str(out),
        ]
        if args.quick:
            argv.append("--quick")
        if args.repeats:
            argv += ["--repeats", str(args.repeats)]
        print(f"\n=== {SCRIPTS[name]} ===", flush=True)
        start = time.perf_counter()
        if subprocess.run(argv, check=False).returncode != 0:
            failed.append(name)
            continue
        print(f"({SCRIPTS[name]} took {time.perf_counter() - start:.0f} s)", flush=True)
        results[name] = json.loads(out.read_text())["rows"]
    text = summary(results, started, args.quick)
    (results_dir / "summary.md").write_text(text)
    print("\n## Summary\n")
    print(text)
    print(f"results in {results_dir}")
    if failed:
        print(f"FAILED: {', '.join(failed)}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
