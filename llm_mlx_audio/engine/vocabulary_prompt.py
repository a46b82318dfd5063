"""A vocabulary's terms in an MLX Whisper's prompt, counted with the model's own tokenizer.

The prompt reaches every window: batched_whisper gives it to each window it decodes (the
VAD's path, the default). With --no-vad mlx-audio's ``generate`` gives it to the first
window and then carries it as the text before the next ones, until the decoded text
pushes it out of the 223-token context.
"""

from __future__ import annotations

import sys

from ..vocabulary import prompt as vocabulary_prompt


def with_terms(loaded, prompt: str | None, terms: list[str] | None) -> str | None:
    """prompt with as many of terms as fit Whisper's budget; one stderr line names any left out.

    Models without a Whisper tokenizer (other families) get every term: their own limits apply.
    """
    if not terms:
        return prompt
    tokenizer = _tokenizer(loaded.model)
    if tokenizer is None:
        return vocabulary_prompt.compose(terms, prompt)
    budget = _budget(loaded.model)
    fitted, dropped = vocabulary_prompt.fit(
        terms, prompt, lambda text: len(tokenizer.encode(" " + text.strip())), budget
    )
    if dropped:
        print(vocabulary_prompt.dropped_notice(dropped, len(terms), budget), file=sys.stderr, flush=True)
    return fitted


def _tokenizer(model):
    """The model's text tokenizer (Whisper's), or None for a model that has none to give."""
    get = getattr(model, "get_tokenizer", None)
    if get is None:
        return None
    try:
        return get()
    except (ValueError, AttributeError, TypeError):
        return None


def _budget(model) -> int:
    dims = getattr(model, "dims", None)
    n_text_ctx = getattr(dims, "n_text_ctx", None)
    return n_text_ctx // 2 - 1 if isinstance(n_text_ctx, int) else vocabulary_prompt.WHISPER_PROMPT_TOKENS
