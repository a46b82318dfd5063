"""Silero VAD's weights from faster-whisper's wheel, in mlx-audio's silero_vad layout.

The plugin ships the result (``llm_mlx_audio/assets/silero-vad``, MIT), so nothing is
converted at run time: ``scripts/vendor_assets.py`` makes it with this module from
faster-whisper 1.2.1's wheel, and the tests convert it again to check what is shipped.

``faster-whisper`` ships ``assets/silero_vad_v6.onnx`` (MIT): its initializers hold
the convolutions under PyTorch names and one ONNX LSTM (gates i, o, f, c; input and
recurrent biases side by side). mlx-audio's model wants conv weights as (out, kernel,
in) and an LSTM with ``Wx``, ``Wh`` and one summed bias in PyTorch's gate order (i, f,
g, o). Only the 16 kHz branch exists in the file: the 8 kHz branch is written as zeros
so strict loading works, and nothing here ever runs it (the transcription input is 16 kHz).
"""

from __future__ import annotations

import json
from pathlib import Path

SAMPLE_RATE = 16000
_ONNX_NAMES = {
    "stft": "encoder.feature_extractor.forward_basis_buffer",
    "conv1": "encoder.conv_layers.0",
    "conv2": "encoder.conv_layers.1",
    "conv3": "encoder.conv_layers.2",
    "conv4": "encoder.conv_layers.3",
    "final": "decoder.conv1d",
}
_SHAPES_8K = {  # mlx-audio's 8 kHz branch (config defaults), zero-filled
    "stft_conv.weight": (130, 128, 1),
    "conv1.weight": (128, 3, 65),
    "conv1.bias": (128,),
    "conv2.weight": (64, 3, 128),
    "conv2.bias": (64,),
    "conv3.weight": (64, 3, 64),
    "conv3.bias": (64,),
    "conv4.weight": (128, 3, 64),
    "conv4.bias": (128,),
    "lstm.Wx": (512, 128),
    "lstm.Wh": (512, 128),
    "lstm.bias": (512,),
    "final_conv.weight": (1, 1, 128),
    "final_conv.bias": (1,),
}


def packaged_source() -> Path | None:
    """faster-whisper's Silero VAD ONNX file, if its wheel is installed (found without importing it)."""
    import importlib.util

    try:
        spec = importlib.util.find_spec("faster_whisper")
    except (ImportError, ValueError):
        return None
    for location in (spec.submodule_search_locations or []) if spec else []:
        candidate = Path(location) / "assets" / "silero_vad_v6.onnx"
        if candidate.is_file():
            return candidate
    return None


def convert(src: Path, dest: Path) -> None:
    """Write an mlx-audio silero_vad folder (config.json, model.safetensors) at dest."""
    import numpy as np
    from safetensors.numpy import save_file

    src, dest = Path(src), Path(dest)
    if src.suffix != ".onnx":
        raise ValueError(f"{src}: expected Silero VAD's ONNX export")
    branch = _from_onnx(src)
    tensors = {f"vad_16k.{k}": np.ascontiguousarray(v, dtype=np.float32) for k, v in branch.items()}
    tensors.update({f"vad_8k.{k}": np.zeros(shape, np.float32) for k, shape in _SHAPES_8K.items()})
    dest.mkdir(parents=True)
    save_file(tensors, str(dest / "model.safetensors"), metadata={"format": "mlx"})
    config = {
        "model_type": "silero_vad",
        "architecture": "silero_vad",
        "dtype": "float32",
        "source": src.name,
    }
    (dest / "config.json").write_text(json.dumps(config, indent=2) + "\n")


def _from_onnx(path: Path) -> dict:
    import numpy as np
    import onnx
    from onnx import numpy_helper

    graph = onnx.load(str(path)).graph
    values = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    lstm = next(node for node in graph.node if node.op_type == "LSTM")
    w, r, b = (values[name] for name in lstm.input[1:4])
    hidden = w.shape[1] // 4
    # ONNX gate order i, o, f, c -> PyTorch/MLX i, f, g, o
    order = np.concatenate([np.arange(g * hidden, (g + 1) * hidden) for g in (0, 2, 3, 1)])
    branch = _convolutions(values, _ONNX_NAMES)
    branch["lstm.Wx"] = w[0][order]
    branch["lstm.Wh"] = r[0][order]
    branch["lstm.bias"] = (b[0][: 4 * hidden] + b[0][4 * hidden :])[order]
    return branch


def _convolutions(values: dict, names: dict) -> dict:
    """PyTorch (out, in, kernel) convolutions as MLX (out, kernel, in)."""
    stft = values[names["stft"]]
    branch = {"stft_conv.weight": stft.transpose(0, 2, 1)}
    for ours in ("conv1", "conv2", "conv3", "conv4", "final"):
        prefix = names[ours]
        target = "final_conv" if ours == "final" else ours
        branch[f"{target}.weight"] = values[f"{prefix}.weight"].transpose(0, 2, 1)
        branch[f"{target}.bias"] = values[f"{prefix}.bias"]
    return branch
