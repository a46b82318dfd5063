"""Whisper's tokenizer without importing transformers, also where the folder has none.

mlx-audio's Whisper asks transformers for a ``WhisperProcessor`` after loading, only
to use its tokenizer. Importing transformers and building it costs ~0.7 s of every
``llm transcribe`` on 2 cores (measured), more than model loading itself.
``WhisperTokenizer`` here does the same work on the same ``tokenizer.json`` with the
``tokenizers`` library that transformers itself drives, reproducing transformers'
Whisper decoding rules (prompt stripping, timestamp removal; no space clean-up for
BPE). Tests compare it with transformers' tokenizer token by token.

Where the tokenizer comes from (``load_processor``), first that applies:

1. the folder's ``tokenizer.json``, when it holds Whisper's special and timestamp
   tokens; one that tokenizers cannot read, or that lacks them, is left to
   transformers (None: mlx-audio's own hook runs);
2. the folder's own ``multilingual.tiktoken`` or ``gpt2.tiktoken`` (``-8bit`` repos on
   the hub ship one), the one config.json's ``n_vocab`` (or ``vocab_size``) calls for;
3. a folder with transformers' slow-tokenizer files (vocab.json, merges.txt) is left
   to transformers, as before;
4. the same vocabulary shipped in this package (``assets/whisper``, OpenAI's files):
   ``mlx-community/whisper-*`` repos hold only config.json and weights.

2 and 4 build Hugging Face's tokenizer.json from the vocabulary and n_vocab
(``whisper_vocabulary.py``). Without config.json nothing is decided here (None);
with one whose n_vocab fits no Whisper vocabulary the load fails with a
ModelLoadError of one line, rather than later with mlx-audio's "Processor not found".
"""

from __future__ import annotations

import json
import re
import warnings
from contextlib import contextmanager
from pathlib import Path

from ...errors import ModelLoadError

_TIMESTAMP = re.compile(r"<\|(\d+\.\d+)\|>")
_REQUIRED = ("<|endoftext|>", "<|startoftranscript|>", "<|notimestamps|>", "<|0.00|>")


class WhisperProcessor:
    """The part of transformers' WhisperProcessor that mlx-audio uses: ``.tokenizer``."""

    def __init__(self, tokenizer: WhisperTokenizer):
        self.tokenizer = tokenizer


class WhisperTokenizer:
    """transformers' WhisperTokenizer API, as far as mlx-audio's Whisper calls it."""

    def __init__(self, backend, config: dict):
        self._tokenizer = backend
        self._vocab = backend.get_vocab(with_added_tokens=True)
        self.eos_token = _content(config.get("eos_token")) or "<|endoftext|>"
        self.unk_token = _content(config.get("unk_token")) or self.eos_token
        self.eos_token_id = self._vocab[self.eos_token]
        self.unk_token_id = self._vocab.get(self.unk_token, self.eos_token_id)

    def get_vocab(self) -> dict:
        return dict(self._vocab)

    def convert_tokens_to_ids(self, tokens):
        if isinstance(tokens, str):
            return self._vocab.get(tokens, self.unk_token_id)
        return [self._vocab.get(token, self.unk_token_id) for token in tokens]

    def encode(self, text: str, add_special_tokens: bool = True) -> list:
        return self._tokenizer.encode(text, add_special_tokens=add_special_tokens).ids

    def decode(self, token_ids, skip_special_tokens: bool = False, **_ignored) -> str:
        ids = _as_list(token_ids)
        if skip_special_tokens and ids and ids[0] == self._vocab.get("<|startofprev|>"):
            start = self._vocab.get("<|startoftranscript|>")
            ids = ids[ids.index(start) :] if start in ids else []
        text = self._tokenizer.decode(ids, skip_special_tokens=skip_special_tokens)
        return _TIMESTAMP.sub("", text)


def load_processor(model_path, cache_dir=None) -> WhisperProcessor | None:
    """A WhisperProcessor for the folder, or None where transformers must do it.

    ``cache_dir``: a folder to keep tokenizers built from .tiktoken files in (None: build
    them every time). Raises ModelLoadError when the folder has no tokenizer and none
    can be made for it.
    """
    folder = Path(model_path)
    if (folder / "tokenizer.json").is_file():
        return _from_tokenizer_json(folder)
    config = _read_json(folder / "config.json")
    if not isinstance(config, dict):
        return None
    n_vocab = config.get("n_vocab", config.get("vocab_size"))
    if isinstance(n_vocab, bool) or not isinstance(n_vocab, int):
        n_vocab = None
    from .whisper_vocabulary import load_tokenizer, vocabulary_name

    name = vocabulary_name(n_vocab) if n_vocab is not None else None
    if name is not None and (folder / name).is_file():
        vocabulary = folder / name
    elif (folder / "vocab.json").is_file() and (folder / "merges.txt").is_file():
        return None  # transformers' slow-tokenizer files: transformers decides, as before
    elif name is not None:
        from .whisper_vocabulary import SHIPPED

        vocabulary = SHIPPED / name
    else:
        missing = f"{folder} has no Whisper tokenizer (tokenizer.json or a .tiktoken file)"
        if n_vocab is None:
            raise ModelLoadError(f"{missing} and its config.json gives no n_vocab or vocab_size")
        raise ModelLoadError(f"{missing} and its n_vocab {n_vocab} matches no Whisper vocabulary")
    try:
        backend = load_tokenizer(vocabulary, n_vocab, cache_dir)
    except (OSError, ValueError) as error:
        reason = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise ModelLoadError(
            f"Cannot make {folder}'s Whisper tokenizer from {vocabulary}: {reason}"
        ) from None
    tokenizer_config = _read_json(folder / "tokenizer_config.json")
    return WhisperProcessor(
        WhisperTokenizer(backend, tokenizer_config if isinstance(tokenizer_config, dict) else {})
    )


def _from_tokenizer_json(folder: Path) -> WhisperProcessor | None:
    try:
        from tokenizers import Tokenizer

        backend = Tokenizer.from_file(str(folder / "tokenizer.json"))
        config_file = folder / "tokenizer_config.json"
        config = json.loads(config_file.read_text()) if config_file.is_file() else {}
    except Exception:  # noqa: BLE001 (a file tokenizers cannot read: transformers decides)
        return None
    vocab = backend.get_vocab(with_added_tokens=True)
    if not all(token in vocab for token in _REQUIRED) or type(backend.model).__name__ != "BPE":
        return None
    return WhisperProcessor(WhisperTokenizer(backend, config))


def _read_json(path: Path):
    """The file's JSON, or None when it is missing or unreadable."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _content(token):
    if isinstance(token, dict):
        return token.get("content")
    return token


def _as_list(token_ids) -> list:
    if hasattr(token_ids, "tolist"):
        token_ids = token_ids.tolist()
    if isinstance(token_ids, int):
        return [token_ids]
    return list(token_ids)


@contextmanager
def light_processor_for(model_type: str, cache_dir=None):
    """While loading a Whisper, give it this tokenizer instead of transformers'.

    mlx-audio's loader calls ``Model.post_load_hook`` (processor, then alignment
    heads) with no way to opt out, so the hook is replaced for the duration of the
    load (on the MLX thread, where every load runs) and restored after. Where
    ``load_processor`` declines, mlx-audio's own hook runs unchanged; its
    ModelLoadError passes through mlx-audio's loader, which catches nothing there.
    ``cache_dir``: see ``load_processor``.
    """
    if model_type != "whisper":
        yield
        return
    from mlx_audio.stt.models.whisper import whisper

    original = whisper.Model.__dict__.get("post_load_hook")
    if not isinstance(original, staticmethod):
        yield
        return

    def post_load_hook(model, model_path):
        processor = load_processor(model_path, cache_dir)
        if processor is None:
            return original.__func__(model, model_path)
        model._processor = processor
        _set_alignment_heads(model, Path(model_path))
        return model

    whisper.Model.post_load_hook = staticmethod(post_load_hook)
    try:
        yield
    finally:
        whisper.Model.post_load_hook = original


def _set_alignment_heads(model, folder: Path) -> None:
    """The second half of mlx-audio's hook: word-timestamp heads from generation_config.

    mlx-examples' repos (whisper-large-v3-turbo, whisper-*-mlx) have no generation_config:
    their heads are the ``alignment_heads`` tensor inside the weights file, which
    mlx-audio's loader drops. Without them word times come from default heads (worse)."""
    path = folder / "generation_config.json"
    try:
        if path.exists():
            config = json.loads(path.read_text())
            if "alignment_heads" in config:
                model.set_alignment_heads(config["alignment_heads"])
            return
        heads = _heads_in_weights(folder)
        if heads is not None:
            model.set_alignment_heads(heads)
    except Exception as e:  # noqa: BLE001 (mlx-audio warns and goes on, so do we)
        warnings.warn(f"Could not load alignment_heads: {e}.", stacklevel=2)


def _heads_in_weights(folder: Path):
    """mlx-examples' ``alignment_heads`` tensor ([[layer, head], ...]) from a weights file, or None."""
    from safetensors import safe_open

    for weights in sorted(folder.glob("*.safetensors")):
        with safe_open(str(weights), "numpy") as f:
            if "alignment_heads" in f.keys():  # noqa: SIM118 (safe_open has no __contains__)
                return f.get_tensor("alignment_heads").astype("int64").tolist()
    return None
