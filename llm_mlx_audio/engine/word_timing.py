"""When each word is said, from Kokoro's own predicted durations.

Kokoro predicts how many frames each phoneme lasts (``pred_dur``, one count per input
symbol plus the start and end tokens) and its decoder turns every frame into exactly
600 samples at 24 kHz (25 ms): a chunk's audio is ``sum(pred_dur) * 600`` samples long
(checked on every chunk; were it not, the frame length would be taken from the audio and
--verbose would say so). mlx-audio's ``Model.generate`` drops those durations and
misaki's tokens, so Kokoro runs here through its pipeline directly, the same calls
``generate`` makes (the pipeline, the vocoder and the numpy patches are unchanged): each
result keeps its tokens (one per word as misaki split it, "1,234" being one) and the
durations, and a word's time is the frames before its first phoneme to the frames after
its last. Against Whisper base's word timestamps on the same audio (benchmarks/caption_timing.py,
mean of the start and end differences): median 102 ms / 95th percentile 302 ms on the tests'
Markdown answers, 133 / 322 ms on 97 s of plain text. Against the audio's energy, starts come
10-80 ms after the sound begins; a phrase's last word ends 100-200 ms after its sound fades (the
last phoneme before a pause is given frames that fade out). misaki's own ``join_timestamps``
moves every time 3 frames earlier and splits spaces in halves; the onsets measured here do not
call for that, so the frames are used as they are.

Only what the model reports is used: no forced alignment, nothing guessed. The stock path
(LLM_MLX_AUDIO_CPU_FAST=blas) and the numpy CPU path give the same times (same durations).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterator

from ..models import Word

log = logging.getLogger("llm_mlx_audio")

#: Samples per duration frame in Kokoro's decoder (its iSTFT hop times its upsampling).
KOKORO_FRAME_SAMPLES = 600
#: Frames of the start token's silence kept before a piece's first phoneme (150 ms).
LEAD_KEEP_FRAMES = 6


def kokoro_speech(model, text: str, voice, speed: float, lang_code: str) -> Iterator[tuple]:
    """Kokoro's audio for text, one (samples, words) per chunk it makes.

    words are timed from the chunk's own start (None when the pipeline gave no tokens,
    as for languages misaki's English tokenizer does not handle).
    """
    import numpy as np

    pipeline = model._get_pipeline(lang_code)
    pipeline.voices = {}  # as Model.generate does: voices load fresh for each call
    rate = int(getattr(model, "sample_rate", None) or 24000)
    for result in pipeline(text, voice=voice or "af_heart", speed=speed, split_pattern=r"\n+"):
        if result.audio is None:
            continue
        samples = np.asarray(result.audio, dtype=np.float32).reshape(-1)
        if not samples.size:
            continue
        words = None
        if result.pred_dur is not None:
            durations = np.asarray(result.pred_dur).reshape(-1).astype(np.int64)
            frames = max(int(durations.sum()), 1)
            if samples.size != frames * KOKORO_FRAME_SAMPLES:
                log.debug("Kokoro made %d samples for %d frames", samples.size, frames)
            per_frame = samples.size / frames
            cut = trimmed_lead(durations, per_frame)
            samples = fade_in(samples[cut:], rate)
            if result.tokens is not None:
                words = token_times(result.tokens, durations, model.vocab, per_frame / rate)
                words = [_earlier(w, cut / rate) for w in words]
        yield samples, words


def trimmed_lead(durations, samples_per_frame: float) -> int:
    """How many samples of the start token's silence to drop from a piece's audio.

    Kokoro gives its start token ~15 frames (0.35-0.4 s) of silence, then ~0.2 s after the
    last word. A text said in pieces (--stream must, and the whole text is too, so both say
    the same) would pause ~0.6 s between pieces, against ~0.2 s between sentences inside one.
    LEAD_KEEP_FRAMES of the lead are kept: the sound starts 10-60 ms before the first
    phoneme's frame, and with 3 frames Whisper tiny.en heard "Pack light" as "backlight".
    Pieces end up ~0.35 s apart.
    """
    lead = int(durations[0]) if len(durations) else 0
    return int(max(lead - LEAD_KEEP_FRAMES, 0) * samples_per_frame)


def fade_in(samples, rate: int):
    """A 5 ms fade at the start, so a cut into near-silence never clicks."""
    import numpy as np

    n = min(len(samples), rate // 200)
    if n:
        samples = samples.copy()
        samples[:n] *= np.linspace(0.0, 1.0, n, dtype=samples.dtype)
    return samples


def _earlier(word: Word, seconds: float) -> Word:
    return dataclasses.replace(
        word, start=round(max(word.start - seconds, 0.0), 3), end=round(word.end - seconds, 3)
    )


def token_times(
    tokens, durations, vocab, seconds_per_frame: float = KOKORO_FRAME_SAMPLES / 24000
) -> list[Word]:
    """Each spoken token's start and end in seconds from misaki tokens and Kokoro's frames.

    The phoneme string is rebuilt the way the pipeline builds it (each token's phonemes,
    a space after a token followed by whitespace, the ends stripped), symbols the
    vocabulary lacks are dropped as the model drops them, and each remaining symbol owns
    its frame count; the first count is the start token's. Tokens without phonemes ("$"
    before "5.50") and punctuation are not words and get no entry.
    """
    owners: list[int | None] = []
    for index, token in enumerate(tokens):
        owners += [index] * len(token.phonemes or "")
        if token.whitespace:
            owners.append(None)
    symbols = "".join((t.phonemes or "") + (" " if t.whitespace else "") for t in tokens)
    lead = len(symbols) - len(symbols.lstrip())
    kept = [(char, owner) for char, owner in zip(symbols, owners, strict=True)][lead:]
    stripped_len = len(symbols.strip())
    kept = kept[:stripped_len][:510]  # the pipeline truncates longer strings to 510
    frame = int(durations[0]) if len(durations) else 0
    position = 1
    spans: dict[int, list[int]] = {}
    for char, owner in kept:
        if vocab.get(char) is None:
            continue
        if position >= len(durations) - 1:
            break
        count = int(durations[position])
        if owner is not None:
            span = spans.setdefault(owner, [frame, frame])
            span[1] = frame + count
        frame += count
        position += 1
    words = []
    for index, (first, last) in sorted(spans.items()):
        text = tokens[index].text
        if not any(char.isalnum() for char in text):
            continue
        words.append(
            Word(start=round(first * seconds_per_frame, 3), end=round(last * seconds_per_frame, 3), word=text)
        )
    return words
