"""Transcripts remembered by the audio's content hash, in llm's user directory.

`llm -f transcript:memo.m4a` may run many times against the same memo; the second
time the transcript is read back instead of being computed again. The key is the
file's sha256 plus the model id, so a different model transcribes afresh.
"""

import hashlib
import json
from pathlib import Path

import llm

from .files import write_atomically
from .models import Transcript

CACHE_DIR = "llm-mlx-audio-transcripts"


def content_hash(path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _entry(digest: str, model_id: str) -> Path:
    safe_model = hashlib.sha256(model_id.encode()).hexdigest()[:16]
    return llm.user_dir() / CACHE_DIR / f"{digest}-{safe_model}.json"


def lookup(digest: str, model_id: str) -> Transcript | None:
    path = _entry(digest, model_id)
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return transcript_from_dict(data)


def store(digest: str, model_id: str, transcript: Transcript) -> None:
    path = _entry(digest, model_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, json.dumps(transcript.to_dict()).encode())


def transcript_from_dict(data: dict) -> Transcript:
    from .models import Segment, Word

    segments = [
        Segment(
            start=s["start"],
            end=s["end"],
            text=s["text"],
            words=[Word(**w) for w in s.get("words", [])],
            speaker=s.get("speaker"),
        )
        for s in data.get("segments", [])
    ]
    return Transcript(
        text=data["text"],
        language=data.get("language"),
        duration=data.get("duration"),
        segments=segments,
        has_timestamps=data.get("has_timestamps", True),
        language_probability=data.get("language_probability"),
        task=data.get("task", "transcribe"),
        speakers=list(data.get("speakers") or []),
        speaker_matches=dict(data.get("speaker_matches") or {}),
    )
