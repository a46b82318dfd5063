"""Whisper's tokenizer without importing transformers.

mlx-audio's Whisper asks transformers for a ``WhisperProcessor`` after loading, only
to use its tokenizer. Importing transformers and building it costs ~0.7 s of every
``llm transcribe`` on 2 cores (measured), more than model loading itself.
``WhisperTokenizer`` here does the same work on the same ``tokenizer.json`` with the
``tokenizers`` library that transformers itself drives, reproducing transformers'
Whisper decoding rules (prompt stripping, timestamp removal; no space clean-up for
BPE). Tests compare it with transformers' tokenizer token by token.

It is used only where it can be exact: a ``tokenizer.json`` that holds Whisper's
special and timestamp tokens. Otherwise ``load_processor`` returns None and the
caller keeps mlx-audio's own hook (transformers).
"""

from __future__ import annotations

import json
import re
import warnings
from contextlib import contextmanager
from pathlib import Path

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


def load_processor(model_path) -> WhisperProcessor | None:
    """A WhisperProcessor for the folder, or None where transformers must do it."""
    folder = Path(model_path)
    tokenizer_file = folder / "tokenizer.json"
    if not tokenizer_file.is_file():
        return None
    try:
        from tokenizers import Tokenizer

        backend = Tokenizer.from_file(str(tokenizer_file))
        config_file = folder / "tokenizer_config.json"
        config = json.loads(config_file.read_text()) if config_file.is_file() else {}
    except Exception:  # noqa: BLE001 (a file tokenizers cannot read: transformers decides)
        return None
    vocab = backend.get_vocab(with_added_tokens=True)
    if not all(token in vocab for token in _REQUIRED) or type(backend.model).__name__ != "BPE":
        return None
    return WhisperProcessor(WhisperTokenizer(backend, config))


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
def light_processor_for(model_type: str):
    """While loading a Whisper, give it this tokenizer instead of transformers'.

    mlx-audio's loader calls ``Model.post_load_hook`` (processor, then alignment
    heads) with no way to opt out, so the hook is replaced for the duration of the
    load (on the MLX thread, where every load runs) and restored after. Where
    ``load_processor`` declines, mlx-audio's own hook runs unchanged.
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
        processor = load_processor(model_path)
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
    """The second half of mlx-audio's hook: word-timestamp heads from generation_config."""
    path = folder / "generation_config.json"
    if not path.exists():
        return
    try:
        config = json.loads(path.read_text())
        if "alignment_heads" in config:
            model.set_alignment_heads(config["alignment_heads"])
    except Exception as e:  # noqa: BLE001 (mlx-audio warns and goes on, so do we)
        warnings.warn(f"Could not load alignment_heads from generation_config.json: {e}.", stacklevel=2)
