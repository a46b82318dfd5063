"""Words the transcriber should get right: terms it is told about, and corrections of what it mishears.

A vocabulary has two kinds of entries, written the same way everywhere (the command
line, a --vocabulary file, the server's ``vocabulary`` field):

- a term, ``kubectl`` or ``Anthropic``: given to Whisper in its prompt for every window
  (``prompt.py``), which makes the model likelier to write it;
- a correction, ``kube cuddle=kubectl``: what the model still mishears, replaced after
  decoding in the text, the segments and the words (``corrections.py``), whatever engine
  made the transcript. A correction's meant form is a term too.

The stored vocabulary lives in llm's user directory (``store.py``); one run may add a
file's entries or leave the stored ones out. ``transcribe`` applies a vocabulary to any
TranscriptionModel, so the command, the server and the fragments share one path.
"""

from __future__ import annotations

from .entries import Correction, Vocabulary, from_field, parse_entry, read_file

__all__ = ["Correction", "Vocabulary", "for_run", "from_field", "parse_entry", "read_file", "transcribe"]


def for_run(extra_file=None, use_stored: bool = True) -> Vocabulary:
    """The vocabulary of one run: the stored one (unless use_stored is False) plus a file's."""
    from . import store

    vocabulary = store.load() if use_stored else Vocabulary()
    return vocabulary.merged(read_file(extra_file) if extra_file else None)


def transcribe(model, audio, vocabulary: Vocabulary | None, max_seconds: float | None = None, **options):
    """model.transcribe(audio, **options) with the vocabulary: its terms in the prompt, then
    its corrections applied to the transcript. Any TranscriptionModel, from any plugin.

    The MLX engine takes the terms itself (``vocabulary_terms``) and fits them into
    Whisper's prompt with its own tokenizer; another engine that takes a prompt gets them
    folded into it (``prompt.compose``); one that takes none gets only the corrections.
    """
    from ..models import takes_keyword, transcribe_limited
    from .corrections import correct
    from .prompt import compose

    terms = vocabulary.prompt_terms() if vocabulary else []
    if terms:
        if takes_keyword(model.transcribe, "vocabulary_terms"):
            options["vocabulary_terms"] = terms
        elif getattr(model, "supports_prompt", False):
            options["prompt"] = compose(terms, options.get("prompt"))
    corrections = vocabulary.corrections if vocabulary else []
    if corrections and options.get("on_segments") is not None:
        options["on_segments"] = _corrected_segments(options["on_segments"], corrections)
    transcript = transcribe_limited(model, audio, max_seconds, **options)
    return correct(transcript, corrections)


def _corrected_segments(on_segments, corrections):
    """on_segments given corrected copies of the segments as they are decoded (the transcript's
    own segments are corrected once, at the end: a correction must never apply twice)."""
    import copy

    from .corrections import correct_segments

    return lambda segments: on_segments(correct_segments(copy.deepcopy(list(segments)), corrections))
