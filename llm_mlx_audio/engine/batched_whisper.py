"""Whisper over several speech windows at once, on the MLX thread.

mlx-audio's ``generate`` decodes one 30-s window after another, each conditioned on
the text before it. Here up to N windows (cut at pauses by the VAD, so none starts
or ends mid-word) are decoded as one batch: each decoder step reads the weights
once for N tokens. The windows are independent: the same text comes out whatever N is (at
temperature 0). What stays as in ``generate``: the timestamp rules, the temperature
fallback (a failing window is re-decoded alone at the next temperature), the
no-speech rule, ``--prompt`` (given to every window) and word timestamps.

Times in the returned segments are relative to each window's own audio; the caller
maps them back to the recording (``audio.speech_regions.Window``).
"""

from __future__ import annotations

import dataclasses
import sys
import zlib

from .loading import Loaded
from .patches import allocator

_WHISPER = "mlx_audio.stt.models.whisper.whisper"
_DECODING = "mlx_audio.stt.models.whisper.decoding"
_AUDIO = "mlx_audio.stt.models.whisper.audio"
_TIMING = "mlx_audio.stt.models.whisper.timing"
DEFAULT_TEMPERATURES = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)


@dataclasses.dataclass
class Decoded:
    """A batch's segments, one list per window (dicts with start, end, text, tokens and
    words; times in that window's own audio), and the language they were decoded in."""

    segments: list[list[dict]]
    language: str
    language_probability: float | None = None  # when it was detected here


def is_batched_whisper(loaded: Loaded) -> bool:
    """Whether this loaded model is an mlx-audio Whisper (the only family batched here)."""
    whisper = sys.modules.get(_WHISPER)
    return whisper is not None and isinstance(loaded.model, whisper.Model)


def decode_windows(
    loaded: Loaded,
    windows: list,
    *,
    language: str | None = None,
    task: str = "transcribe",
    prompt: str | None = None,
    temperature=None,
    word_timestamps: bool = False,
    seams: list[list[float]] | None = None,
    _depth: int = 0,
) -> Decoded:
    """Decode a batch of mono 16 kHz windows (each at most 30 s) into segments.

    language None: detected on the first windows (``detect_language``); English-only
    models are English. ``long_form`` detects before its first batch and passes it.

    seams: per window, the times (in its joined audio) where a pause was cut out. A
    segment Whisper runs across one is split there, at the words on either side.

    Whisper sometimes ends its text well before the end of a window (a pause, a change
    of voice). ``generate`` would seek there and read on; here the rest of each such
    window is decoded again as a window of its own (all of them in one more batch), so
    no speech is left out.
    """
    model = loaded.model
    mels = _mels(model, windows)
    features = _encode(model, mels)
    probability = None
    if language is None:
        language, probability = detect_language(model, windows)
    tokenizer = model.get_tokenizer(language=language, task=task)
    options = _Options(model, tokenizer, language, task, prompt, temperature)
    results = _decode(model, features, windows, options)
    seams = seams or [[] for _ in windows]
    out, tails = [], []
    for index, (window, mel, result, cuts) in enumerate(zip(windows, mels, results, seams, strict=True)):
        if _is_silence(result):  # no-speech probability high and the text improbable
            out.append([])
            continue
        duration = len(window) / 16000
        segments = _segments(result, tokenizer, duration)
        crossing = any(_crosses(s, cut) for s in segments for cut in cuts)
        if (word_timestamps or crossing) and segments:
            sys.modules[_TIMING].add_word_timestamps(
                segments=segments,
                model=model,
                tokenizer=tokenizer,
                mel=mel,
                num_frames=min(len(window) // 160, 3000),
                last_speech_timestamp=0.0,
            )
            if crossing:
                segments = _split_at_seams(segments, cuts)
            if not word_timestamps:
                for segment in segments:
                    segment.pop("words", None)
        segments = [s for s in segments if s["text"].strip() and s["end"] > s["start"]]
        covered = max((s["end"] for s in segments), default=0.0)
        if segments and duration - covered > _UNREAD_SECONDS and _depth < 2:
            tails.append((index, covered))
        out.append(segments)
    if tails:
        rest = decode_windows(
            loaded,
            [windows[i][int(at * 16000) :] for i, at in tails],
            language=language,
            task=task,
            prompt=prompt,
            temperature=temperature,
            word_timestamps=word_timestamps,
            seams=[[c - at for c in seams[i] if c > at] for i, at in tails],
            _depth=_depth + 1,
        )
        for (index, at), tail in zip(tails, rest.segments, strict=True):
            out[index] += [_shifted(segment, at) for segment in tail]
    _release_freed_memory()
    return Decoded(out, language, probability)


def is_multilingual(model) -> bool:
    return bool(getattr(model, "is_multilingual", False))


LANGUAGE_WINDOWS = 3  # the most windows the language is detected on
SURE_SECONDS = 10.0  # speech enough for one window's decision to stand...
SURE_PROBABILITY = 0.6  # ...when the model is this sure of it


def detect_language(model, windows) -> tuple[str, float | None]:
    """The language of the first windows of mono 16 kHz audio, and its probability.

    Read window after window until ``language_settled``; English-only models are English.
    """
    if not is_multilingual(model):
        return "en", None
    votes, seconds = [], 0.0
    for window in windows:
        votes.append(language_probabilities(model, window))
        seconds += len(window) / 16000
        if language_settled(votes, seconds):
            break
    return vote(votes)


def language_probabilities(model, samples) -> dict[str, float]:
    """Whisper's own language probabilities for mono 16 kHz audio (its first 30 s).

    The mel is the one ``generate`` detects on: the samples padded with 30 s of zeros
    *before* the log-Mel (the silence Whisper was trained on, with the log floor set by
    the speech), cut to 3000 frames. The decoding mel (``_mels``) is padded after the
    log, as ``generate`` decodes; on a short window that padding moved the decision (a
    3-s German sentence came out English, 0.45, where ``generate`` said German).
    Costs one encoder pass.
    """
    import mlx.core as mx
    import numpy as np

    audio = sys.modules[_AUDIO]
    first = mx.array(np.asarray(samples[: audio.N_SAMPLES], dtype=np.float32))
    mel = audio.log_mel_spectrogram(first, n_mels=model.dims.n_mels, padding=audio.N_SAMPLES)
    mel = audio.pad_or_trim(mel, audio.N_FRAMES, axis=-2).astype(model.dtype)
    _, probabilities = model.detect_language(mel)
    return {code: float(p) for code, p in probabilities.items()}


def vote(votes: list[dict[str, float]]) -> tuple[str, float]:
    """The language whose probability summed over the windows is highest, and its mean."""
    totals: dict[str, float] = {}
    for probabilities in votes:
        for code, p in probabilities.items():
            totals[code] = totals.get(code, 0.0) + p
    language = max(totals, key=totals.get)
    return language, totals[language] / len(votes)


def language_settled(votes: list[dict[str, float]], seconds: float) -> bool:
    """Whether the windows read so far decide the language.

    One window of a few seconds (a "yes" before a long pause) or an unsure one is often
    wrong (espeak's 1.5-s "Ja, genau." reads as English), so more windows are read,
    up to LANGUAGE_WINDOWS, while there is under SURE_SECONDS of speech or the vote's
    probability is under SURE_PROBABILITY.
    """
    _, probability = vote(votes)
    return len(votes) >= LANGUAGE_WINDOWS or (seconds >= SURE_SECONDS and probability >= SURE_PROBABILITY)


_UNREAD_SECONDS = 2.0  # audio left after the last segment that is decoded again


@dataclasses.dataclass
class _Options:
    model: object
    tokenizer: object
    language: str
    task: str
    prompt: str | None
    temperature: float | None

    def decoding(self, temperature: float, best_of: int | None = None):
        import mlx.core as mx

        decoding = sys.modules[_DECODING]
        prompt = self.tokenizer.encode(" " + self.prompt.strip()) if self.prompt else None
        return decoding.DecodingOptions(
            language=self.language,
            task=self.task,
            prompt=prompt,
            without_timestamps=False,
            fp16=getattr(self.model, "dtype", None) == mx.float16,
            temperature=temperature,
            best_of=best_of,
        )

    @property
    def temperatures(self):
        return DEFAULT_TEMPERATURES if self.temperature is None else (float(self.temperature),)


def _encode(model, mels):
    """The windows' encoder outputs, (n, 1500, state), one window at a time: on a CPU
    batching the encoder gains nothing, and 8 windows' attention scores take ~0.4 GB."""
    import mlx.core as mx

    features = []
    for mel in mels:
        encoded = model.encoder(mel[None])
        mx.eval(encoded)
        features.append(encoded)
    batch = mx.concatenate(features)
    mx.eval(batch)
    del features
    _release_freed_memory()  # the encoder's scratch, before the decoder's caches take its place
    return batch


def _release_freed_memory() -> None:
    """MLX's buffer cache and the heap's freed blocks back to the system, between stages
    (patches/allocator.py): a long recording's peak memory is then what is live, not
    what fragments of earlier batches left behind."""
    import mlx.core as mx

    mx.clear_cache()
    allocator.release_freed_memory()


def _decode(model, features, windows, options: _Options) -> list:
    """The batch at the first temperature; a failing window again alone at the next ones."""
    import mlx.core as mx
    import numpy as np

    temperatures = options.temperatures
    results = list(model.decode(features, options.decoding(temperatures[0])))
    for index, result in enumerate(results):
        if len(temperatures) < 2 or not _needs_fallback(result):
            continue
        # A seed from the window's own samples: the same audio gives the same text every
        # time, in any batch, in a warm server or not.
        mx.random.seed(zlib.crc32(np.ascontiguousarray(windows[index], np.float32).tobytes()))
        for t in temperatures[1:]:
            # Best of 5 samples, as openai-whisper's and faster-whisper's defaults do: one
            # sample at a high temperature is mostly noise.
            results[index] = result = model.decode(features[index], options.decoding(t, best_of=5))
            if not _needs_fallback(result):
                break
    _release_freed_memory()  # the decoder's caches, before word timing runs the encoder again
    return results


def _shifted(segment: dict, offset: float) -> dict:
    shifted = {**segment, "start": segment["start"] + offset, "end": segment["end"] + offset}
    if "words" in segment:
        shifted["words"] = [
            {**w, "start": w["start"] + offset, "end": w["end"] + offset} for w in segment["words"]
        ]
    return shifted


_SEAM_MARGIN = 0.25  # seconds a segment may reach past a seam without being split


def _crosses(segment: dict, seam: float) -> bool:
    return segment["start"] < seam - _SEAM_MARGIN and segment["end"] > seam + _SEAM_MARGIN


def _split_at_seams(segments: list[dict], seams: list[float]) -> list[dict]:
    """Segments cut where their words fall on both sides of a seam (a removed pause)."""
    out = []
    for segment in segments:
        words = segment.get("words") or []
        if not words or not any(_crosses(segment, seam) for seam in seams):
            out.append(segment)
            continue
        # A word goes with the region it starts in (a word that starts in a region's last
        # 0.1 s of padding starts the next); its DTW end may overrun the seam, its start less so.
        groups: list[list[dict]] = [[]]
        for word in words:
            if groups[-1] and any(groups[-1][-1]["start"] < seam - 0.1 <= word["start"] for seam in seams):
                groups.append([])
            groups[-1].append(word)
        for group in groups:
            out.append(
                {
                    **segment,
                    "start": group[0]["start"],
                    "end": group[-1]["end"],
                    "text": "".join(w["word"] for w in group),
                    "words": group,
                }
            )
    return out


def _mels(model, windows) -> list:
    """Each window's log-Mel spectrogram, 3000 frames, as ``generate`` makes it for one window."""
    import mlx.core as mx

    audio = sys.modules[_AUDIO]
    mels = []
    for window in windows:
        mel = audio.log_mel_spectrogram(mx.array(window), n_mels=model.dims.n_mels, padding=audio.N_SAMPLES)
        content = min(mel.shape[-2] - audio.N_FRAMES, audio.N_FRAMES)
        mels.append(audio.pad_or_trim(mel[:content], audio.N_FRAMES, axis=-2).astype(model.dtype))
    return mels


def _needs_fallback(result) -> bool:
    """generate()'s rule: too repetitive or too improbable, unless it is silence."""
    if result.compression_ratio > 2.4 or result.avg_logprob < -1.0:
        return not (result.no_speech_prob > 0.6 and result.avg_logprob < -1.0)
    return False


def _is_silence(result) -> bool:
    return result.no_speech_prob > 0.6 and result.avg_logprob <= -1.0


def _segments(result, tokenizer, duration: float) -> list[dict]:
    """Split a window's tokens at its timestamp pairs, as ``generate`` does.

    Text after the last pair (the model ran out of window before closing it) is kept
    as a segment ending at its last timestamp, or at the window's end.
    """
    import numpy as np

    tokens = np.array(result.tokens)
    begin = tokenizer.timestamp_begin
    precision = 0.02
    is_timestamp = tokens >= begin
    pieces: list[tuple[float, float, np.ndarray]] = []
    consecutive = np.where(is_timestamp[:-1] & is_timestamp[1:])[0] + 1
    last = 0
    for cut in consecutive.tolist():
        piece = tokens[last:cut]
        pieces.append(((piece[0] - begin) * precision, (piece[-1] - begin) * precision, piece))
        last = cut
    rest = tokens[last:]
    if (rest < begin).any():
        start = (rest[0] - begin) * precision if rest[0] >= begin else (pieces[-1][1] if pieces else 0.0)
        end = (rest[-1] - begin) * precision if rest[-1] >= begin else duration
        pieces.append((start, end if end > start else duration, rest))
    segments = []
    for start, end, piece in pieces:
        text_tokens = [int(t) for t in piece if t < tokenizer.eot]
        segments.append(
            {
                "seek": 0,
                "start": float(min(start, duration)),
                "end": float(min(end, duration)),
                "text": tokenizer.decode(text_tokens),
                "tokens": [int(t) for t in piece],
                "temperature": result.temperature,
                "avg_logprob": result.avg_logprob,
                "compression_ratio": result.compression_ratio,
                "no_speech_prob": result.no_speech_prob,
            }
        )
    return segments
