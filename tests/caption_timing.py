"""Caption times against what Whisper hears: the texts and the comparison, for the tests and
benchmarks/caption_timing.py.

Kokoro speaks a text with its word times (engine/word_timing.py); Whisper transcribes the
audio with word timestamps; the two word lists are aligned by their normalised text
(difflib, so words Whisper hears differently or not at all drop out) and each matched
word's difference is the mean of |start difference| and |end difference|.
"""

from __future__ import annotations

import difflib
import re

import numpy as np

# The three Markdown answers of tests/text/test_markdown_aloud.py.
MARKDOWN_ANSWERS = [
    "# Three tips for better sleep\n\n"
    "1. **Go to bed** at the *same* time every night.\n"
    "2. Keep your bedroom dark; see [this guide](https://www.sleepfoundation.org/guide) for details. 😴\n"
    "3. Avoid coffee in the afternoon.\n\n"
    "```python\nprint('hello world')\nimport numpy\n```\n",
    "## Packing list\n\n"
    "| Item | Why |\n|---|---|\n| Water | Hydration |\n| Jacket | Cold evenings |\n\n"
    "> Pack light, travel far. ✈️🌍\n\n"
    "- ~~Heavy books~~ Paperback novels\n  - one or two at most\n",
    "Email **support** at help@example.com or visit `https://example.com/docs/setup_guide`.\n\n"
    "    def setup():\n        return install_everything()\n\n"
    "___\n\nThat is _all_ you need. 🎉",
]

# A little over two minutes of plain prose when spoken.
PLAIN_TEXT = (
    "The old lighthouse stood at the edge of the harbour for nearly two hundred years. Every evening "
    "the keeper climbed the narrow stairs, trimmed the wick, and watched the beam sweep across the "
    "water. Fishermen said they could find their way home in any weather as long as the light was "
    "burning. When the storm of the century arrived, the waves rose higher than the sea wall and the "
    "wind tore slates from every roof in the village. The keeper's daughter, who was only twelve, "
    "stayed awake all night to keep the lamp alight while her father mended the broken window. "
    "By morning the harbour was full of boats that had come through the dark safely, and the whole "
    "village gathered on the quay to thank her. Years later, when the light was replaced by an "
    "automatic beacon, she wrote a small book about those nights. It described the smell of the oil, "
    "the sound of the gulls at dawn, and the long quiet hours when nothing moved but the beam. "
    "Visitors still come to read her words on a plaque beside the door. Some of them climb the stairs "
    "and look out over the water, trying to imagine the storm. Others simply sit on the bench outside "
    "and watch the boats come and go. The lighthouse is a museum now, but on winter evenings a lamp "
    "is still lit in the top window, in memory of the girl who kept it burning. Children from the "
    "school visit every spring and draw pictures of the tower, the waves and the ships. The best of "
    "them hang in the hallway, beside a photograph of the keeper and his daughter standing proudly "
    "at the door on a bright summer morning long ago. The girl grew up to become a teacher in the "
    "same village, and she told the story of the storm to every class she taught. Her pupils "
    "remembered the details for the rest of their lives: the candle in the window, the cold stone "
    "steps, and the boats coming home one by one through the rain. When she retired, the village "
    "named the little square beside the harbour after her, and a new bench was placed there, facing "
    "the sea, so that anyone who sat on it could watch the light."
)


def normalise(word: str) -> str:
    return re.sub(r"[^a-z0-9]", "", word.lower().replace("’", "'"))


def compare(caption_words, whisper_words) -> list[float]:
    """Seconds between each caption word and the Whisper word matched to it by text."""
    ours = [normalise(w.word) for w in caption_words]
    theirs = [normalise(w.word) for w in whisper_words]
    matcher = difflib.SequenceMatcher(a=ours, b=theirs, autojunk=False)
    differences = []
    for block in matcher.get_matching_blocks():
        for k in range(block.size):
            a, b = caption_words[block.a + k], whisper_words[block.b + k]
            if not ours[block.a + k]:
                continue
            differences.append((abs(a.start - b.start) + abs(a.end - b.end)) / 2)
    return differences


def summary(differences: list[float]) -> dict:
    values = np.asarray(differences)
    return {
        "words": len(values),
        "median_ms": round(float(np.median(values)) * 1000, 1),
        "p95_ms": round(float(np.percentile(values, 95)) * 1000, 1),
    }


def whisper_words(transcript) -> list:
    return [w for s in transcript.segments for w in s.words]
