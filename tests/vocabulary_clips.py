"""Speech full of rare names and terms, made with espeak-ng, and how many of them a transcript got right.

Used by tests/vocabulary/test_vocabulary_transcription.py and benchmarks/bench_vocabulary.py:
one recording of SENTENCES with a pause between them (several VAD windows, so the
prompt has to reach more than the first), and TERMS, every rare word in them.
"""

from __future__ import annotations

import re

import numpy as np
from spoken_clips import RATE, speech_samples

SENTENCES = [
    "Please ask Siobhan to restart the Grafana dashboard.",
    "Ngozi deployed the fix with kubectl this morning.",
    "The Tauri app now keeps its state in Zustand.",
    "Our team in Oaxaca tested the Ollama server.",
    "Saoirse wrote the Terraform module for Nginx.",
    "Aoife and Tadhg met at the Reykjavik office.",
    "We use Pydantic and FastAPI for the backend.",
    "Anthropic trained the model that Dymphna reviewed.",
]
TERMS = [
    "Siobhan", "Grafana", "Ngozi", "kubectl", "Tauri", "Zustand", "Oaxaca", "Ollama", "Saoirse",
    "Terraform", "Nginx", "Aoife", "Tadhg", "Reykjavik", "Pydantic", "FastAPI", "Anthropic", "Dymphna",
]  # fmt: skip
PAUSE_SECONDS = 1.5


def recording() -> np.ndarray:
    """All the sentences, 16 kHz mono, with PAUSE_SECONDS of silence between them."""
    pause = np.zeros(int(PAUSE_SECONDS * RATE), np.float32)
    parts = []
    for sentence in SENTENCES:
        parts += [speech_samples(sentence), pause]
    return np.concatenate(parts).astype(np.float32)


def terms_right(text: str, terms=TERMS) -> list[str]:
    """The terms the text spells right (whole words, any case)."""
    return [t for t in terms if re.search(rf"(?<!\w){re.escape(t)}(?!\w)", text, re.IGNORECASE)]


#: What Whisper base still wrote for two names with the terms in its prompt (measured): the
#: corrections a user would add after reading one transcript.
CORRECTIONS = ["Sursher=Saoirse", "Efan=Aoife"]
