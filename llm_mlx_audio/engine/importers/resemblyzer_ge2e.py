"""resemblyzer's GE2E speaker encoder, converted from its wheel into an MLX folder.

The plugin ships the result (``llm_mlx_audio/assets/ge2e-speaker-encoder``,
Apache-2.0), so nothing is converted at run time: ``scripts/vendor_assets.py`` makes
it with this module from the wheel, without installing it. ``resemblyzer==0.1.4``
ships ``resemblyzer/pretrained.pt`` (17 MB): three LSTM layers of 256 over 40 mel
bands, then a linear layer to 256 with ReLU, L2 normalised (Wan et al., "Generalized
End-to-End Loss for Speaker Verification"). Its package depends on torch; the file
is read without it (``torch_legacy``). The LSTM's two biases are summed, as MLX's
LSTM has one; PyTorch's and MLX's gate orders are the same (i, f, g, o).
"""

from __future__ import annotations

import json
from pathlib import Path

LAYERS = 3


def packaged_source() -> Path | None:
    """resemblyzer's pretrained.pt, if its wheel happens to be installed (found without importing it)."""
    import importlib.util

    try:
        spec = importlib.util.find_spec("resemblyzer")
    except (ImportError, ValueError):
        return None
    for location in (spec.submodule_search_locations or []) if spec else []:
        candidate = Path(location) / "pretrained.pt"
        if candidate.is_file():
            return candidate
    return None


def convert(src: Path, dest: Path) -> None:
    """Write the encoder as config.json + model.safetensors (MLX names) at dest."""
    import numpy as np
    from safetensors.numpy import save_file

    from . import torch_legacy

    state = torch_legacy.load(src)["model_state"]
    weights = {}
    for layer in range(LAYERS):
        weights[f"lstm.{layer}.Wx"] = state[f"lstm.weight_ih_l{layer}"]
        weights[f"lstm.{layer}.Wh"] = state[f"lstm.weight_hh_l{layer}"]
        weights[f"lstm.{layer}.bias"] = state[f"lstm.bias_ih_l{layer}"] + state[f"lstm.bias_hh_l{layer}"]
    weights["linear.weight"] = state["linear.weight"]
    weights["linear.bias"] = state["linear.bias"]
    dest.mkdir(parents=True, exist_ok=True)
    save_file(
        {k: np.ascontiguousarray(v, np.float32) for k, v in weights.items()}, str(dest / "model.safetensors")
    )
    config = {
        "model_type": "ge2e",
        "sample_rate": 16000,
        "n_mels": 40,
        "hidden_size": 256,
        "num_layers": LAYERS,
        "embedding_size": 256,
        "source": "resemblyzer 0.1.4 pretrained.pt (Apache-2.0)",
    }
    (dest / "config.json").write_text(json.dumps(config, indent=1))
