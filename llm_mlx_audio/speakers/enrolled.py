"""Enrolled voices: a name and the mean of its speaker vectors, in llm's user directory.

Only embeddings are kept, never audio: ``llm-mlx-audio-speakers.json`` holds, per name,
the unit-length mean of the GE2E vectors of every 1.5-s window of the clips' speech
(256 numbers), how many windows made it and when it was created and last extended.
A voice cannot be played back from it. Adding clips to a name already enrolled extends
it: the new mean weighs old and new windows by their counts.

The file is written atomically (a crash leaves the old one), and read as empty when it
is missing; a damaged file is one clear line, not a traceback.
"""

from __future__ import annotations

import datetime
import json
import re
import unicodedata

import llm

from ..errors import AudioError
from ..files import write_atomically

FILENAME = "llm-mlx-audio-speakers.json"
MAX_NAME = 64
VERSION = 1


def path():
    """Where the enrolled voices live."""
    return llm.user_dir() / FILENAME


def check_name(name: str) -> str:
    """The name stripped, or one line saying why it cannot name a voice."""
    name = (name or "").strip()
    if not name:
        raise AudioError("A speaker name cannot be empty")
    if len(name) > MAX_NAME:
        raise AudioError(f"A speaker name can have at most {MAX_NAME} characters, not {len(name)}")
    if any(unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") for c in name):
        raise AudioError(f"The speaker name {name!r} has control characters")
    if re.fullmatch(r"SPEAKER_\d+", name):
        raise AudioError(f"{name} is what an unknown speaker is called; choose a person's name")
    if "," in name:
        raise AudioError(f"The speaker name {name!r} has a comma (--speaker-names separates names with them)")
    return name


def load() -> dict[str, dict]:
    """{name: {"vector": [256 floats], "windows": n, "created": iso, "updated": iso}}, by name."""
    file = path()
    try:
        text = file.read_text()
    except FileNotFoundError:
        return {}
    except OSError as e:
        raise AudioError(f"Cannot read the enrolled voices ({file}): {e.strerror}") from None
    try:
        data = json.loads(text)
        voices = data["speakers"]
        for entry in voices.values():
            if not (isinstance(entry["vector"], list) and int(entry["windows"]) > 0):
                raise ValueError
    except (ValueError, KeyError, TypeError, AttributeError):
        raise AudioError(f"The enrolled voices file {file} is damaged; remove it and enrol again") from None
    return voices


def vectors() -> dict[str, object]:
    """{name: unit vector (numpy)} of every enrolled voice."""
    import numpy as np

    return {name: np.asarray(entry["vector"], np.float32) for name, entry in load().items()}


def fingerprint() -> str:
    """'' with no voices enrolled, else ' enrolled:' and a digest of them (for cache keys)."""
    import hashlib

    voices = load()
    if not voices:
        return ""
    digest = hashlib.sha256(json.dumps(voices, sort_keys=True).encode()).hexdigest()[:16]
    return f" enrolled:{digest}"


def save(voices: dict[str, dict]) -> None:
    file = path()
    file.parent.mkdir(parents=True, exist_ok=True)
    data = {"version": VERSION, "speakers": dict(sorted(voices.items(), key=lambda kv: kv[0].casefold()))}
    write_atomically(file, (json.dumps(data, indent=1) + "\n").encode())


def add(name: str, vector, windows: int) -> tuple[dict, bool]:
    """Enrol (or extend) name with a mean vector of windows windows; (entry, extended)."""
    import numpy as np

    name = check_name(name)
    if windows < 1:
        raise AudioError(f"No speech to enrol for {name}")
    voices = load()
    now = _now()
    vector = np.asarray(vector, np.float64)
    old = voices.get(name)
    extended = old is not None
    if extended:
        vector = np.asarray(old["vector"], np.float64) * old["windows"] + vector * windows
        windows += old["windows"]
    vector = vector / max(float(np.linalg.norm(vector)), 1e-12)
    entry = {
        "vector": [round(float(x), 6) for x in vector],
        "windows": int(windows),
        "created": old["created"] if extended else now,
        "updated": now,
    }
    voices[name] = entry
    save(voices)
    return entry, extended


def remove(name: str) -> None:
    voices = load()
    if name not in voices:
        raise _unknown(name, voices)
    del voices[name]
    save(voices)


def rename(old: str, new: str) -> None:
    voices = load()
    if old not in voices:
        raise _unknown(old, voices)
    new = check_name(new)
    if new in voices and new != old:
        raise AudioError(f"A voice is already enrolled as {new}; remove it first")
    voices[new] = voices.pop(old)
    save(voices)


def _unknown(name: str, voices) -> AudioError:
    known = ", ".join(sorted(voices)) or "none yet: see `llm audio speakers add --help`"
    return AudioError(f"No voice is enrolled as {name!r}; enrolled: {known}")


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
