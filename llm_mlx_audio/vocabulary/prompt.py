"""Terms in Whisper's prompt: what fits its budget, in what order, and what was left out.

Whisper reads its prompt as the text said before the window, and its decoder keeps at
most ``n_text_ctx // 2 - 1`` prompt tokens (223 for every Whisper size), cutting from
the front. A prompt built here fits that budget, counted with the model's own tokenizer,
so nothing is cut silently: terms that do not fit are left out whole and named.

The terms come first, as a list ("kubectl, Anthropic, Ngozi."), and the user's own
--prompt after them: it is the text nearest the speech, where its style (punctuation,
spelling) matters most, and it is never shortened here.

Measured on tests/vocabulary_clips.py (18 terms, two 30-s windows): a list keeps
Whisper's punctuation and capitals; terms separated by spaces alone ("a b c") made base
and tiny.en write without any (tiny.en then kept more of the speech, 56 words of ~68
against 14 with the list in one window, but base spelled 12 terms right, not 14).
Whisper tiny.en given a long list may end a window's text early (see the README).
"""

from __future__ import annotations

from collections.abc import Callable

#: Whisper's prompt budget: n_text_ctx // 2 - 1 with n_text_ctx 448 (all sizes, tiny to large-v3).
WHISPER_PROMPT_TOKENS = 223
_SHOWN = 5  # dropped terms named in the notice


def compose(terms: list[str], prompt: str | None = None) -> str | None:
    """The prompt text: the terms as a comma-separated sentence, then the user's prompt."""
    glossary = ", ".join(terms)
    if glossary and not glossary.endswith((".", "!", "?")):
        glossary += "."
    prompt = (prompt or "").strip()
    joined = f"{glossary} {prompt}".strip()
    return joined or None


def fit(
    terms: list[str],
    prompt: str | None,
    count_tokens: Callable[[str], int],
    budget: int = WHISPER_PROMPT_TOKENS,
) -> tuple[str | None, list[str]]:
    """(the prompt with as many terms as fit in budget tokens, in order; the terms left out).

    count_tokens counts what the decoder will see (the model's tokenizer). A user prompt
    that is itself over budget is kept as it is (the decoder then keeps its end, as it
    always did) and every term is left out.
    """
    kept, dropped = [], []
    for term in terms:
        if count_tokens(compose([*kept, term], prompt)) <= budget:
            kept.append(term)
        else:
            dropped.append(term)
    return (compose(kept, prompt) if kept else prompt), dropped


def dropped_notice(dropped: list[str], total: int, budget: int = WHISPER_PROMPT_TOKENS) -> str:
    """The one stderr line that says which terms did not fit."""
    shown = ", ".join(dropped[:_SHOWN]) + (
        f" and {len(dropped) - _SHOWN} more" if len(dropped) > _SHOWN else ""
    )
    return (
        f"Vocabulary: {len(dropped)} of {total} terms left out of Whisper's prompt "
        f"(at most {budget} tokens): {shown}"
    )
