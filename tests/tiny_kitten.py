"""A tiny random-weight kitten_tts model folder, loaded by mlx-audio's real loader."""

import json
from pathlib import Path

KITTEN_CONFIG = {
    "model_type": "kitten_tts",
    "hidden_dim": 64,
    "max_conv_dim": 64,
    "max_dur": 8,
    "n_layer": 1,
    "n_mels": 80,
    "n_token": 178,
    "style_dim": 128,
    "text_encoder_kernel_size": 5,
    "asr_res_dim": 32,
    "decoder_out_dim": 64,
    "sample_rate": 24000,
    "plbert": {
        "num_hidden_layers": 1,
        "num_attention_heads": 2,
        "hidden_size": 64,
        "intermediate_size": 128,
        "max_position_embeddings": 512,
        "embedding_size": 32,
    },
    "istftnet": {
        "resblock_kernel_sizes": [3],
        "upsample_rates": [10, 6],
        "upsample_initial_channel": 64,
        "resblock_dilation_sizes": [[1, 3, 5]],
        "upsample_kernel_sizes": [20, 12],
        "gen_istft_n_fft": 20,
        "gen_istft_hop_size": 5,
    },
}


def build_tiny_kitten(dest: Path, seed: int = 0, voices=("expr-voice-2-f", "expr-voice-5-m")) -> Path:
    """Write config.json, model.safetensors and voices.npz for a ~1M-parameter kitten_tts.

    Random weights make NaN audio through the vocoder, so its last conv is zeroed
    with a small bias: the output is a steady, finite, non-silent buzz whose length
    follows the duration predictor (longer text and slower speed give more audio).
    """
    import mlx.core as mx
    import numpy as np
    from mlx.utils import tree_flatten
    from mlx_audio.tts.models.kitten_tts.kitten_tts import Model, ModelConfig

    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    mx.random.seed(seed)
    model = Model(ModelConfig.from_dict(KITTEN_CONFIG))
    weights = dict(tree_flatten(model.parameters()))
    for key in list(weights):
        if "conv_post" in key and key.endswith("weight_g"):
            weights[key] = mx.zeros_like(weights[key])
        elif "conv_post" in key and key.endswith("bias"):
            weights[key] = mx.full(weights[key].shape, 0.1)
    mx.save_safetensors(str(dest / "model.safetensors"), weights)
    (dest / "config.json").write_text(json.dumps(KITTEN_CONFIG, indent=2))
    rng = np.random.default_rng(seed)
    np.savez(
        dest / "voices.npz",
        **{name: (0.1 * rng.standard_normal((64, 256))).astype(np.float32) for name in voices},
    )
    return dest
