"""A vocabulary's entries: terms and corrections, how they are written and checked."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re

from ..errors import AudioError

#: The longest entry (either side of a correction): a name or a phrase, not a paragraph.
MAX_ENTRY_CHARS = 100
#: The most entries one vocabulary may hold (terms and corrections together).
MAX_ENTRIES = 1000
_SEPARATORS = re.compile(r"[\s\-]+")


@dataclasses.dataclass(frozen=True)
class Correction:
    """Replace ``heard`` (one or more words, any case) with ``meant`` (as written)."""

    heard: str
    meant: str

    def __str__(self) -> str:
        return f"{self.heard}={self.meant}"


@dataclasses.dataclass
class Vocabulary:
    terms: list[str] = dataclasses.field(default_factory=list)
    corrections: list[Correction] = dataclasses.field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.terms or self.corrections)

    def add(self, entry: str | Correction) -> None:
        """Add a term or a correction; the same term (any case) or heard phrase is replaced."""
        if isinstance(entry, Correction):
            self.corrections = [c for c in self.corrections if key(c.heard) != key(entry.heard)]
            self.corrections.append(entry)
        else:
            self.terms = [t for t in self.terms if key(t) != key(entry)]
            self.terms.append(entry)
        if len(self.terms) + len(self.corrections) > MAX_ENTRIES:
            raise AudioError(f"A vocabulary holds at most {MAX_ENTRIES} entries")

    def merged(self, other: Vocabulary | None) -> Vocabulary:
        """This vocabulary with other's entries added (other wins where both have one)."""
        out = Vocabulary(list(self.terms), list(self.corrections))
        for entry in [*(other.terms if other else []), *(other.corrections if other else [])]:
            out.add(entry)
        return out

    def prompt_terms(self) -> list[str]:
        """The words to put in the model's prompt: the terms, then the corrections' meant forms."""
        seen, out = set(), []
        for term in [*self.terms, *(c.meant for c in self.corrections)]:
            if key(term) not in seen:
                seen.add(key(term))
                out.append(term)
        return out

    def to_dict(self) -> dict:
        return {
            "terms": list(self.terms),
            "corrections": [{"heard": c.heard, "meant": c.meant} for c in self.corrections],
        }

    @classmethod
    def from_dict(cls, data: dict) -> Vocabulary:
        vocabulary = cls()
        for term in data.get("terms") or []:
            vocabulary.add(parse_entry(str(term)))
        for item in data.get("corrections") or []:
            vocabulary.add(parse_entry(f"{item['heard']}={item['meant']}"))
        return vocabulary

    def fingerprint(self) -> str:
        """A short hash of the entries ("" when empty): part of a cached transcript's key."""
        if not self:
            return ""
        canonical = json.dumps(self.to_dict(), sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def key(text: str) -> str:
    """What makes two spellings of an entry the same one: case and spacing aside."""
    return _SEPARATORS.sub(" ", text).strip().casefold()


def parse_entry(text: str) -> str | Correction:
    """A term ("kubectl") or a correction ("kube cuddle=kubectl"), checked; AudioError says why not."""
    if "\n" in text or "\r" in text:
        raise AudioError(f"A vocabulary entry is one line: {text!r}")
    if "=" not in text:
        return _checked(text, "term")
    heard, _, meant = text.partition("=")
    heard, meant = _checked(heard, "heard phrase", text), _checked(meant, "correction", text)
    if "=" in meant:
        raise AudioError(f"A correction has one '=': {text!r} (write it as heard=meant)")
    return Correction(" ".join(heard.split()), meant)


def _checked(part: str, what: str, whole: str | None = None) -> str:
    part = part.strip()
    shown = repr(whole if whole is not None else part)
    if not part:
        raise AudioError(f"Empty {what} in vocabulary entry {shown}")
    if len(part) > MAX_ENTRY_CHARS:
        raise AudioError(f"Vocabulary entries are at most {MAX_ENTRY_CHARS} characters: {shown}")
    if not any(ch.isalnum() for ch in part):
        raise AudioError(f"A vocabulary {what} needs a letter or digit: {shown}")
    return part


def parse_lines(lines, source: str) -> Vocabulary:
    """A vocabulary file: one term or correction per line; blank lines and # comments skipped."""
    vocabulary = Vocabulary()
    for number, line in enumerate(lines, 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        try:
            vocabulary.add(parse_entry(line))
        except AudioError as error:
            raise AudioError(f"{source}:{number}: {error}") from None
    return vocabulary


def read_file(path) -> Vocabulary:
    """The entries of a --vocabulary file."""
    try:
        text = open(path, encoding="utf-8").read()  # noqa: SIM115 (read at once)
    except (OSError, UnicodeDecodeError) as error:
        reason = getattr(error, "strerror", None) or str(error)
        raise AudioError(f"Cannot read vocabulary file {path}: {reason}") from None
    return parse_lines(text.splitlines(), str(path))


def from_field(items: list[str]) -> Vocabulary:
    """The server's ``vocabulary`` field: repeated values, each a comma- or newline-separated list."""
    entries = [part for item in items for part in re.split(r"[,\n\r]+", item) if part.strip()]
    vocabulary = Vocabulary()
    for entry in entries:
        vocabulary.add(parse_entry(entry))
    return vocabulary
