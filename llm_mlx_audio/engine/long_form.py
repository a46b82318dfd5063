"""Transcribing a recording of any length: VAD, windows at pauses, batched decoding.

Two passes over the input, each decoding it in pieces (so an hour of audio never
sits in memory at once):

1. the VAD scores every 32 ms and ``speech_regions`` keeps the speech, padded;
   nothing is decoded from silence, noise or music;
2. the regions are packed into windows of at most 30 s, cut out of the second pass
   as it streams; unless given, the language is detected on the first windows (up to
   three, when the first is short or unsure); all are decoded ``batch_size`` at a
   time in that language (``batched_whisper``).

Every segment and word time is mapped back from the window to the recording's clock.
Each VAD piece and each batch is its own job on the MLX thread, and a batch stops
at its next encoder pass or decoder step (patches/stoppable.py), so a cancelled
request frees the thread within one step's work, not a whole batch's.
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import sys
from collections.abc import Callable, Iterator

from ..audio.speech_regions import VadOptions, Window, pack_windows, speech_regions
from ..models import DEFAULT_BATCH_SIZE, Segment, Transcript, Word
from . import batched_whisper, embedded, loading, vad
from .inference import decoding_fields
from .pool import estimate_size, get_pool
from .thread import get_mlx_thread

PROGRESS_AFTER_SECONDS = 180  # a progress bar for recordings longer than this
RATE = 16000


@dataclasses.dataclass
class LongFormOptions:
    language: str | None = None
    task: str = "transcribe"
    prompt: str | None = None
    temperature: float | None = None
    word_timestamps: bool = False
    batch_size: int = DEFAULT_BATCH_SIZE
    vad: VadOptions = dataclasses.field(default_factory=VadOptions)
    progress: bool = True
    #: Label every segment with its speaker (a third pass: the speaker encoder).
    diarize: bool = False
    speakers: int | None = None
    #: Called with each batch's segments, in order, as soon as they are decoded (a server's
    #: stream=true sends them as text deltas): on the caller's thread, not the MLX thread.
    on_segments: Callable[[list[Segment]], None] | None = None


@contextlib.contextmanager
def vad_model() -> Iterator[object]:
    """The Silero VAD (shipped with the plugin) from the pool, loaded on the MLX thread."""
    path = embedded.ensure_vad()
    with get_pool().use(
        str(path.resolve()), lambda: loading.load(path, "vad", "silero-vad"), estimate_size(path)
    ) as loaded:
        yield loaded.model


def transcribe(loaded, pieces, vad_lease, options: LongFormOptions, speaker_lease=None) -> Transcript:
    """The transcript of the audio that pieces() yields (a fresh iterator per call).

    With options.diarize (and the speaker encoder's lease), words are timed whether or
    not they were asked for, so that a segment can be split where its speaker changes.
    """
    thread = get_mlx_thread()
    probabilities, total = _speech_probabilities(thread, vad_lease, pieces())
    if options.diarize:
        from .. import speakers
        from . import diarization

        wanted_words = options.word_timestamps
        options = dataclasses.replace(options, word_timestamps=True, diarize=False)
        transcript = transcribe_regions(loaded, pieces, probabilities, total, options)
        turns, means = diarization.diarize_with_vectors(
            pieces(), probabilities, total, speaker_lease, options.speakers
        )
        vectors = {speaker: vector for speaker, (vector, _) in means.items()}
        return speakers.label(transcript, turns, keep_words=wanted_words, vectors=vectors)
    return transcribe_regions(loaded, pieces, probabilities, total, options)


def transcribe_regions(loaded, pieces, probabilities, total, options: LongFormOptions) -> Transcript:
    """The transcript, given the VAD's scores of the whole recording."""
    thread = get_mlx_thread()
    duration = total / RATE
    regions = speech_regions(probabilities, total, options.vad)
    windows = pack_windows(regions)
    if not windows:
        return Transcript(text="", language=options.language, duration=duration, segments=[])
    language, probability = options.language, None
    stream = _window_audio(pieces(), windows)
    if language is None:
        language, probability, read = _detect_language(thread, loaded.model, stream)
        stream = itertools.chain(read, stream)
    segments: list[Segment] = []
    with _progress(options, duration, sum(w.samples for w in windows) / RATE) as bar:
        for batch in _batches(stream, options.batch_size):
            decoded = thread.run(
                batched_whisper.decode_windows,
                loaded,
                [audio for _, audio in batch],
                language=language,
                task=options.task,
                prompt=options.prompt,
                temperature=options.temperature,
                word_timestamps=options.word_timestamps,
                seams=[window.seams() for window, _ in batch],
            )
            decoded_now = []
            for (window, audio), window_segments in zip(batch, decoded.segments, strict=True):
                decoded_now.extend(_on_recording_clock(window, window_segments))
                bar.update(len(audio) / RATE)
            segments.extend(decoded_now)
            if options.on_segments is not None and decoded_now:
                options.on_segments(decoded_now)
    text = "".join(s.text if s.text[:1].isspace() else " " + s.text for s in segments).strip()
    for segment in segments:
        segment.text = segment.text.strip()
    return Transcript(
        text=text,
        language=language,
        language_probability=probability,
        duration=duration,
        segments=segments,
    )


def _detect_language(thread, model, audio):
    """(language, probability, the (window, audio) pairs read): Whisper's own decision on
    the first windows, read one job each until ``batched_whisper.language_settled``.

    Detected once, before any decoding, so that every batch decodes in one language.
    """
    if not batched_whisper.is_multilingual(model):
        return "en", None, []
    read, votes, seconds = [], [], 0.0
    for window, samples in audio:
        read.append((window, samples))
        votes.append(thread.run(batched_whisper.language_probabilities, model, samples))
        seconds += len(samples) / RATE
        if batched_whisper.language_settled(votes, seconds):
            break
    language, probability = batched_whisper.vote(votes)
    return language, probability, read


def _speech_probabilities(thread, vad_lease, pieces):
    import numpy as np

    state, parts, total = None, [], 0
    pieces = iter(pieces)
    piece = next(pieces, None)
    while piece is not None:
        following = next(pieces, None)
        total += len(piece)
        result, state = thread.run(vad.speech_probabilities, vad_lease, piece, state, following is None)
        parts.append(result)
        piece = following
    return (np.concatenate(parts) if parts else np.zeros(0, np.float32)), total


def _window_audio(pieces, windows: list[Window]):
    """(window, its joined audio) in order, cut from the streamed pieces."""
    import numpy as np

    pieces = iter(pieces)
    buffer, start = np.zeros(0, np.float32), 0  # buffer[0] is sample `start` of the recording
    for window in windows:
        end = window.regions[-1][1]
        while start + len(buffer) < end:
            piece = next(pieces, None)
            if piece is None:
                break
            buffer = np.concatenate([buffer, piece])
        parts = [buffer[max(s - start, 0) : e - start] for s, e in window.regions]
        yield window, np.concatenate(parts).astype(np.float32)
        buffer, start = buffer[end - start :], end


def _batches(items, size: int):
    batch = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _on_recording_clock(window: Window, raw_segments: list[dict]) -> list[Segment]:
    segments = []
    for raw in raw_segments:
        words = [
            Word(*window.span(w["start"], w["end"]), word=w["word"], probability=w.get("probability"))
            for w in raw.get("words") or []
        ]
        start, end = window.span(raw["start"], raw["end"])
        end = max(end, start)
        segments.append(Segment(start=start, end=end, text=raw["text"], words=words, **decoding_fields(raw)))
    return segments


@contextlib.contextmanager
def _progress(options: LongFormOptions, duration: float, speech_seconds: float):
    """A tqdm bar on stderr (only a TTY's) over seconds of speech, for long recordings."""
    if not options.progress or duration < PROGRESS_AFTER_SECONDS:
        yield _NoBar()
        return
    from tqdm import tqdm

    with tqdm(
        total=round(speech_seconds, 1),
        desc="Transcribing",
        unit="s",
        file=sys.stderr,
        disable=None,
        bar_format="{l_bar}{bar}| {n:.0f}/{total:.0f} s of speech [{elapsed}<{remaining}]",
    ) as bar:
        yield bar


class _NoBar:
    def update(self, _amount):
        pass
