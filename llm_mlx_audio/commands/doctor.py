"""`llm audio doctor`: one screen on what this machine will do, and what would make it better."""

import json

import click

from .user_errors import user_errors


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Output as JSON")
@user_errors
def doctor(as_json):
    """
    Check this machine: MLX device, BLAS, speed-ups, audio devices, G2P, models

    Says what will be slow or missing and the command that fixes it. Always exits 0.
    """
    from .. import registry

    report = registry.doctor_report()
    if as_json:
        click.echo(json.dumps(report, indent=2))
        return
    for label, lines in _screen(report):
        for i, line in enumerate(lines or ["-"]):
            click.echo(f"{label if i == 0 else '':<16}{line}")


def _screen(report):
    machine, mlx = report["machine"], report["mlx"]
    yield "Machine", [f"{machine['platform']}, {machine['python']}, {machine['cores']} cores"]
    if not mlx.get("installed"):
        yield "MLX", [f"!! not importable: {mlx.get('error')}"]
    else:
        yield "MLX", [f"{mlx['version']} on {mlx['device']}"]
        if mlx.get("blas"):
            blas = mlx["blas"]
            if blas["fast"]:
                yield "BLAS", [f"{blas['path']} (optimised)"]
            else:
                yield (
                    "BLAS",
                    [
                        f"!! {blas['path']}: matrix products about 30x slower",
                        f"   fix: {blas['fix']}",
                    ],
                )
    speedups = report["speedups"]
    state = (
        "on" if speedups["enabled"] else "off" + (f" ({speedups['switch']})" if speedups["switch"] else "")
    )
    lines = [f"{state} (checked with mlx-audio {speedups['checked_with']['mlx-audio']})"]
    if speedups["skipped"]:
        lines.append("!! skipped after errors: " + ", ".join(speedups["skipped"]))
    yield "CPU speed-ups", lines
    g2p = report["g2p"]
    yield (
        "English G2P",
        [g2p["route"]] if g2p["route"] else ["!! missing: pip install " + " ".join(g2p["missing"])],
    )
    audio = report["audio"]
    if not audio.get("portaudio"):
        yield "Audio devices", [f"!! PortAudio: {audio.get('error')}", f"   fix: {audio.get('fix')}"]
    else:
        devices = audio.get("devices") or []
        lines = [
            f"PortAudio {audio.get('version')}: {len(devices)} devices"
            + ("" if devices else " (no playback)")
        ]
        for d in devices:
            marks = [
                m
                for m, on in (("default input", d["default_input"]), ("default output", d["default_output"]))
                if on
            ]
            lines.append(
                f"   {d['index']}: {d['name']} ({d['inputs']} in, {d['outputs']} out, {d['default_rate']:.0f} Hz)"
                + (f" [{', '.join(marks)}]" if marks else "")
            )
        yield "Audio devices", lines
    models = report["models"]
    yield (
        "Models",
        [
            f"{m['id']} ({m['kind']}{', embedded' if m.get('embedded') else ''}) "
            + (_size(m["bytes"]) if m.get("present") else "not converted yet")
            for m in models
        ]
        or ["!! none: pip install 'llm-mlx-audio[offline]' or `llm audio download`"],
    )
    labels = {"vad": "Silero VAD", "speaker_encoder": "GE2E speaker encoder (--diarize)"}
    lines = []
    for name, state in report.get("helpers", {}).items():
        if state["state"] == "shipped":
            licence = f", {state['licence']}" if state.get("licence") else ""
            lines.append(f"{labels[name]}: shipped with the plugin ({_size(state['bytes'])}{licence})")
        else:
            lines.append(f"!! {labels[name]} missing from {state['path']}: {state['fix']}")
    yield "Helper models", lines
    caches = report.get("caches")
    if caches:
        yield (
            "Load caches",
            [
                f"{caches['path']}: CPU kernels {_size(caches['kernels']['bytes'])} "
                f"(for {caches['kernels']['files']} model{'' if caches['kernels']['files'] == 1 else 's'}), "
                f"G2P dictionaries {_size(caches['g2p']['bytes'])}",
                "   made on first load; safe to delete (the next load makes them again)",
            ],
        )
    yield "Defaults", [f"{kind}: {name or '-'}" for kind, name in report["defaults"].items()]
    yield "User directory", [report["user_dir"]]


def _size(n):
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit in ("B", "KB") else f"{n:.1f} {unit}"
        n /= 1024
