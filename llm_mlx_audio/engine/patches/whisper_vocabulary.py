"""Whisper's ``tokenizer.json``, built from a ``.tiktoken`` vocabulary and the model's n_vocab.

Many Whisper folders on the hub hold no tokenizer: ``mlx-community/whisper-*`` has
config.json and weights, sometimes OpenAI's ``multilingual.tiktoken``. OpenAI's
Whisper needs only that file (lines ``base64(token bytes) rank``) and n_vocab; the
rest of its vocabulary follows fixed rules, reproduced here:

- the byte-level BPE: GPT-2's byte-to-unicode map of each token's bytes -> its rank,
  and one merge per token of two or more bytes, the split tiktoken itself reaches
  (byte-pair merging with the lower ranks), in rank order. That gives exactly the
  ``vocab`` and ``merges`` of Hugging Face's English-only tokenizer.json, and encodes
  as tiktoken does. Hugging Face's multilingual tokenizer.json lacks the first merge
  (``Ġ t``), so it encodes " the" as two tokens where OpenAI's tokenizer
  (openai-whisper, mlx-whisper) has one, 264; this follows OpenAI.
- after the ranks, openai-whisper's special tokens: ``<|endoftext|>``,
  ``<|startoftranscript|>``, one ``<|xx|>`` per language, the task and control tokens,
  then the 1501 timestamps ``<|0.00|>``..``<|30.00|>``. There are n_vocab - 51765
  languages (one fewer when multilingual, n_vocab >= 51865), as mlx-audio counts them.
  Token names, flags, pre-tokenizer, decoder and post-processor are Hugging Face's
  (``<|nocaptions|>`` before large-v3's ``<|nospeech|>``, ``<|iw|>`` for Hebrew in the
  English-only vocabulary, timestamps not special).

Building one takes ~0.4 s of Python on a loaded 2-core machine (0.2 s of it the
merges; measured), so it is kept as JSON in a cache folder when the caller gives one;
reading that back takes ~0.06 s, about what a real tokenizer.json takes. Only stdlib
is imported at module level; ``tokenizers`` when a tokenizer is made.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import json
import os
import tempfile
from pathlib import Path

# openai-whisper's language order (mlx_audio.stt.models.whisper.tokenizer.LANGUAGES):
# the first 99 in every vocabulary up to large-v2, Cantonese added by large-v3.
LANGUAGES = (
    "en", "zh", "de", "es", "ru", "ko", "fr", "ja", "pt", "tr", "pl", "ca", "nl", "ar", "sv", "it",
    "id", "hi", "fi", "vi", "he", "uk", "el", "ms", "cs", "ro", "da", "hu", "ta", "no", "th", "ur",
    "hr", "bg", "lt", "la", "mi", "ml", "cy", "sk", "te", "fa", "lv", "bn", "sr", "az", "sl", "kn",
    "et", "mk", "br", "eu", "is", "hy", "ne", "mn", "bs", "kk", "sq", "sw", "gl", "mr", "pa", "si",
    "km", "sn", "yo", "so", "af", "oc", "ka", "be", "tg", "sd", "gu", "am", "yi", "lo", "uz", "fo",
    "ht", "ps", "tk", "nn", "mt", "sa", "lb", "my", "bo", "tl", "mg", "as", "tt", "haw", "ln", "ha",
    "ba", "jw", "su", "yue",
)  # fmt: skip

# OpenAI's two vocabularies, shipped as package data (assets/whisper, with their licence).
# A path, not an import: the patches import nothing of the package but its errors.
SHIPPED = Path(__file__).resolve().parents[2] / "assets" / "whisper"
MULTILINGUAL_N_VOCAB = 51865  # tiny ... large-v2; large-v3 and turbo have 51866, English-only 51864
_BASE = 51765  # n_vocab without language tokens (English-only); mlx-audio's num_languages rule
_TIMESTAMPS = 1501  # <|0.00|> ... <|30.00|>, 0.02 s apart
_EOT = "<|endoftext|>"
_CACHE_FORMAT = 1  # bump when what is built changes: older cache files are then not read


def vocabulary_name(n_vocab: int) -> str | None:
    """The .tiktoken file a Whisper of n_vocab tokens uses, or None where no Whisper has that many."""
    multilingual = n_vocab >= MULTILINGUAL_N_VOCAB
    if not 0 <= _language_count(n_vocab) <= len(LANGUAGES):
        return None
    return "multilingual.tiktoken" if multilingual else "gpt2.tiktoken"


def load_tokenizer(tiktoken_file, n_vocab: int, cache_dir=None):
    """A ``tokenizers.Tokenizer`` equal to Hugging Face's Whisper tokenizer.json (see above).

    ``cache_dir``: a folder to keep the built tokenizer in (None: build every time).
    Raises ValueError (one line) when the file is not a tiktoken vocabulary or its
    tokens and Whisper's special tokens do not make exactly n_vocab.
    """
    from tokenizers import Tokenizer

    path = Path(tiktoken_file)
    data = path.read_bytes()
    cache = None
    if cache_dir is not None:
        digest = hashlib.sha256(data).hexdigest()
        cache = Path(cache_dir) / f"whisper-{digest[:32]}-{int(n_vocab)}-v{_CACHE_FORMAT}.json"
        try:
            tokenizer = Tokenizer.from_file(str(cache))
            if tokenizer.get_vocab_size(with_added_tokens=True) == n_vocab:
                return tokenizer
        except Exception:  # noqa: BLE001 (missing or damaged: built again below)
            pass
    tokenizer = Tokenizer.from_str(json.dumps(tokenizer_json(_parse(data, path.name), n_vocab, path.name)))
    if cache is not None:
        _write_atomically(cache, tokenizer.to_str())
    return tokenizer


def tokenizer_json(ranks: dict[bytes, int], n_vocab: int, name: str = "the vocabulary") -> dict:
    """The tokenizer.json (as a dict) for token bytes -> rank and n_vocab."""
    multilingual = n_vocab >= MULTILINGUAL_N_VOCAB
    languages = _language_count(n_vocab)
    if not 0 <= languages <= len(LANGUAGES):
        raise ValueError(
            f"n_vocab {n_vocab} is no Whisper vocabulary size: it leaves {languages} language tokens "
            f"(Whisper has 0 to {len(LANGUAGES)})"
        )
    special = _special_tokens(languages, multilingual)
    size = len(ranks) + len(special) + _TIMESTAMPS
    if size != n_vocab:
        raise ValueError(
            f"{name} has {len(ranks)} tokens; with Whisper's {'multilingual' if multilingual else 'English'} "
            f"special tokens that makes {size}, not n_vocab {n_vocab}"
        )
    byte_encoder = _bytes_to_unicode()

    def text(token: bytes) -> str:
        return "".join(byte_encoder[b] for b in token)

    vocab = {text(token): rank for token, rank in ranks.items()}
    merges = [f"{text(left)} {text(right)}" for left, right in _merges(ranks)]
    first = len(ranks)
    added = [added_token(first + i, token, special=True) for i, token in enumerate(special)]
    vocab[_EOT] = first  # Hugging Face's vocab holds it too (an added token wins when encoding)
    first += len(special)
    added += [added_token(first + i, f"<|{i * 0.02:.2f}|>", special=False) for i in range(_TIMESTAMPS)]
    ids = {entry["content"]: entry["id"] for entry in added}
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": added,
        "normalizer": None,
        "pre_tokenizer": {
            "type": "ByteLevel",
            "add_prefix_space": False,
            "trim_offsets": True,
            "use_regex": True,
        },
        "post_processor": _post_processor(ids),
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "model": {
            "type": "BPE",
            "dropout": None,
            "unk_token": None,
            "continuing_subword_prefix": "",
            "end_of_word_suffix": "",
            "fuse_unk": False,
            "vocab": vocab,
            "merges": merges,
        },
    }


def _language_count(n_vocab: int) -> int:
    return int(n_vocab) - _BASE - (1 if n_vocab >= MULTILINGUAL_N_VOCAB else 0)


def _special_tokens(languages: int, multilingual: bool) -> list[str]:
    # Hugging Face's names: <|nospeech|> only from large-v3 (100 languages) on, and
    # Hebrew's old code <|iw|> in the English-only vocabularies (tiny.en's tokenizer.json).
    no_speech = "<|nospeech|>" if languages >= len(LANGUAGES) else "<|nocaptions|>"
    codes = ["iw" if code == "he" and not multilingual else code for code in LANGUAGES[:languages]]
    return [
        _EOT,
        "<|startoftranscript|>",
        *(f"<|{code}|>" for code in codes),
        "<|translate|>",
        "<|transcribe|>",
        "<|startoflm|>",
        "<|startofprev|>",
        no_speech,
        "<|notimestamps|>",
    ]


def _parse(data: bytes, name: str) -> dict[bytes, int]:
    """token bytes -> rank, as tiktoken's load_tiktoken_bpe reads the file."""
    ranks: dict[bytes, int] = {}
    for number, line in enumerate(data.splitlines(), start=1):
        if not line:
            continue
        try:
            token, rank = line.split()
            ranks[base64.b64decode(token)] = int(rank)
        except (ValueError, binascii.Error):
            raise ValueError(f"{name} is not a tiktoken vocabulary (line {number})") from None
    if sorted(ranks.values()) != list(range(len(ranks))):
        raise ValueError(f"{name} is not a tiktoken vocabulary (its ranks are not 0 to {len(ranks) - 1})")
    return ranks


def _merges(ranks: dict[bytes, int]) -> list[tuple[bytes, bytes]]:
    """One (left, right) per token of two or more bytes, in rank order: the two parts byte-pair
    merging reaches with the lower ranks only (transformers' tiktoken -> Whisper conversion)."""
    merges = []
    for token, rank in sorted(ranks.items(), key=lambda item: item[1]):
        if len(token) < 2:
            continue
        parts = _byte_pair_parts(ranks, token, rank)
        if len(parts) != 2:
            raise ValueError(f"token {rank} cannot be made from two lower-ranked tokens")
        merges.append((parts[0], parts[1]))
    return merges


def _byte_pair_parts(ranks: dict[bytes, int], token: bytes, max_rank: int) -> list[bytes]:
    parts = [token[i : i + 1] for i in range(len(token))]
    get = ranks.get
    while len(parts) > 2:
        best = best_rank = None
        for i in range(len(parts) - 1):
            rank = get(parts[i] + parts[i + 1])
            if rank is not None and rank < max_rank and (best_rank is None or rank < best_rank):
                best, best_rank = i, rank
        if best is None:
            break
        parts[best : best + 2] = [parts[best] + parts[best + 1]]
    return parts


def _bytes_to_unicode() -> dict[int, str]:
    """GPT-2's reversible byte -> printable character map (byte-level BPE)."""
    printable = [
        *range(ord("!"), ord("~") + 1),
        *range(ord("¡"), ord("¬") + 1),
        *range(ord("®"), ord("ÿ") + 1),
    ]
    mapping = {b: chr(b) for b in printable}
    extra = 0
    for b in range(256):
        if b not in mapping:
            mapping[b] = chr(256 + extra)
            extra += 1
    return mapping


def added_token(index: int, content: str, special: bool) -> dict:
    """One entry of a tokenizer.json's added_tokens, as Hugging Face writes Whisper's."""
    return {
        "id": index,
        "content": content,
        "single_word": False,
        "lstrip": False,
        "rstrip": False,
        "normalized": False,
        "special": special,
    }


def _post_processor(ids: dict[str, int]) -> dict:
    """Hugging Face's: <|startoftranscript|> <|notimestamps|> text <|endoftext|>."""

    def special(token: str, type_id: int = 0) -> dict:
        return {"SpecialToken": {"id": token, "type_id": type_id}}

    head = [special("<|startoftranscript|>"), special("<|notimestamps|>")]
    return {
        "type": "TemplateProcessing",
        "single": [*head, {"Sequence": {"id": "A", "type_id": 0}}, special(_EOT)],
        "pair": [
            *head,
            {"Sequence": {"id": "A", "type_id": 0}},
            {"Sequence": {"id": "B", "type_id": 1}},
            special(_EOT, 1),
        ],
        "special_tokens": {
            token: {"id": token, "ids": [ids[token]], "tokens": [token]}
            for token in (_EOT, "<|notimestamps|>", "<|startoftranscript|>")
        },
    }


def _write_atomically(path: Path, text: str) -> None:
    """Write whole or not at all; a cache that cannot be written is no error."""
    temporary = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(
            "w", encoding="utf-8", dir=path.parent, prefix=f".{path.name}.", suffix=".tmp", delete=False
        ) as f:
            temporary = f.name
            f.write(text)
        os.replace(temporary, path)
    except OSError:
        if temporary is not None:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
