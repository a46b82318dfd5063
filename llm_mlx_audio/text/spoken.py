"""Plain text a speech model can say: no emoji, URLs and e-mail addresses as a person says them.

Emoji and other pictographs are dropped (a G2P would spell out "sleeping face"); a URL
is said as its host name ("example dot com"), never character by character, and an
e-mail address as "ann at example dot com". Everything else is left as it is: numbers,
abbreviations and punctuation are the G2P's job.
"""

from __future__ import annotations

import re

_URL = re.compile(r"\b(?:https?://|www\.)[^\s<>\"'`]+", re.IGNORECASE)
_EMAIL = re.compile(r"\b[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+\b")
# What a URL may end with in prose without it being part of the URL.
_URL_TAIL = ".,;:!?)]}'\""
_SPACES = re.compile(r"[ \t\u00a0]{2,}")
_WORD_JOINER = re.compile(r"(?<=[^\W_])_(?=[^\W_])")  # snake_case is said "snake case"

# Pictographs, emoji and their modifiers: the Unicode blocks emoji live in, plus the
# joiners and selectors that glue them together. Letters, digits, currency, maths and
# ordinary symbols (° © ™ €) are not touched.
_PICTOGRAPHS = re.compile(
    "["
    "\U0001f000-\U0001faff"  # mahjong .. symbols & pictographs extended-A (faces, flags, objects)
    "\U00002600-\U000027bf"  # miscellaneous symbols, dingbats (☀ ✅ ✨ ❤)
    "\U00002b00-\U00002bff"  # arrows and stars (⭐ ⬆)
    "\U0000fe00-\U0000fe0f"  # variation selectors
    "\U0000200d"  # zero-width joiner
    "\U000020e3"  # combining keycap
    "\U000e0020-\U000e007f"  # tag characters (subdivision flags)
    "]+"
)


def clean(text: str) -> str:
    """text with emoji dropped and URLs and e-mail addresses said as a person says them."""
    text = _PICTOGRAPHS.sub("", text)
    text = _EMAIL.sub(lambda m: speak_email(m.group(0)), text)
    text = _URL.sub(_url_in_prose, text)
    text = _WORD_JOINER.sub(" ", text)
    return _SPACES.sub(" ", text)


def speak_host(host: str) -> str:
    """example.com -> 'example dot com'."""
    host = host.lower().split("@")[-1].split(":")[0]
    if host.startswith("www."):
        host = host[4:]
    return " dot ".join(part for part in host.split(".") if part)


def speak_email(address: str) -> str:
    """ann.lee@example.com -> 'ann dot lee at example dot com'."""
    user, _, host = address.partition("@")
    return f"{' dot '.join(p for p in user.split('.') if p)} at {speak_host(host)}"


def speak_url(url: str) -> str:
    """https://www.example.com/a/b?c -> 'example dot com'."""
    rest = re.sub(r"^[a-z]+://", "", url, flags=re.IGNORECASE)
    return speak_host(re.split(r"[/?#]", rest, maxsplit=1)[0])


def _url_in_prose(match: re.Match) -> str:
    url = match.group(0)
    tail = ""
    while url and url[-1] in _URL_TAIL:
        tail = url[-1] + tail
        url = url[:-1]
    return speak_url(url) + tail if url else match.group(0)
