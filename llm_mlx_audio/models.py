"""What a speech or transcription model is, whatever engine runs it.

Third-party plugins subclass SpeechModel or TranscriptionModel and register instances
through the register_speech_models / register_transcription_models hooks; the MLX
models are registered the same way, so they are peers rather than special cases.
Nothing here imports an engine: these classes must stay cheap to import.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Iterator
from pathlib import Path

from .errors import AudioError

MIN_SPEED = 0.25
MAX_SPEED = 4.0


@dataclasses.dataclass
class Audio:
    """Mono float32 samples in [-1, 1] at sample_rate."""

    samples: object  # numpy.ndarray; typed loosely to keep numpy out of import time
    sample_rate: int
    #: When each word is said, in seconds from this audio's start, for models that report
    #: durations (Kokoro); None otherwise. char_start/char_end: the word in the input text.
    words: list[Word] | None = None

    @property
    def duration(self) -> float:
        return len(self.samples) / float(self.sample_rate)

    def to_bytes(self, format: str = "wav") -> bytes:
        from .audio.encode import encode_audio

        return encode_audio(self.samples, self.sample_rate, format)

    def save(self, path, format: str | None = None) -> Path:
        """Write the audio atomically; the format comes from the extension unless given."""
        from .audio.encode import format_from_path
        from .files import write_atomically

        path = Path(path)
        format = format or format_from_path(str(path)) or "wav"
        write_atomically(path, self.to_bytes(format))
        return path

    @classmethod
    def join(cls, chunks: Iterable[Audio]) -> Audio:
        import numpy as np

        chunks = list(chunks)
        if not chunks:
            raise AudioError("The model produced no audio")
        rate = chunks[0].sample_rate
        samples = np.concatenate([c.samples for c in chunks]).astype(np.float32)
        return cls(samples, rate, words=join_words(chunks))


def join_words(chunks: list[Audio]) -> list[Word] | None:
    """The chunks' words on one clock (each chunk's are timed from its own start), or
    None when any chunk has none to give."""
    if not chunks or any(c.words is None for c in chunks):
        return None
    words, offset = [], 0.0
    for chunk in chunks:
        words += [
            dataclasses.replace(w, start=round(w.start + offset, 3), end=round(w.end + offset, 3))
            for w in chunk.words
        ]
        offset += chunk.duration
    return words


@dataclasses.dataclass
class Word:
    start: float
    end: float
    word: str
    probability: float | None = None
    speaker: str | None = None
    #: Speech captions: where the word is in the text that was spoken ([char_start, char_end)).
    char_start: int | None = None
    char_end: int | None = None


@dataclasses.dataclass
class Segment:
    start: float
    end: float
    text: str
    words: list[Word] = dataclasses.field(default_factory=list)
    #: Who said it (diarized transcripts): a label of Transcript.speakers.
    speaker: str | None = None
    #: How Whisper decoded it (OpenAI's verbose_json carries these; None or [] when the
    #: engine does not say): the token ids, the sampling temperature that was kept, the
    #: mean token log-probability, the text's gzip compression ratio, P(no speech).
    tokens: list[int] = dataclasses.field(default_factory=list)
    temperature: float | None = None
    avg_logprob: float | None = None
    compression_ratio: float | None = None
    no_speech_prob: float | None = None


@dataclasses.dataclass
class Transcript:
    """A transcript with timed segments.

    has_timestamps is False when the model gives no real timings (some return one
    segment stamped 0.0-0.0): formats that need times then refuse rather than invent.
    """

    text: str
    language: str | None = None
    duration: float | None = None
    segments: list[Segment] = dataclasses.field(default_factory=list)
    has_timestamps: bool = True
    #: How sure the model was of ``language`` when it detected it (None when given or unknown).
    language_probability: float | None = None
    #: "transcribe", or "translate" when the text is an English translation of the speech.
    task: str = "transcribe"
    #: Diarized transcripts: the speakers' labels in order of first appearance ([] otherwise).
    speakers: list[str] = dataclasses.field(default_factory=list)
    #: Diarized speakers compared with enrolled voices: {label: {"name": the enrolled name
    #: matched or None, "score": cosine similarity, "nearest": closest name when none matched}}.
    speaker_matches: dict[str, dict] = dataclasses.field(default_factory=dict)
    #: Each diarized speaker's mean voice vector, in this process only (to_dict leaves it
    #: out: a voice print does not belong in logs or caches).
    speaker_vectors: dict[str, object] = dataclasses.field(default_factory=dict, repr=False, compare=False)

    def to_dict(self) -> dict:
        vectors, self.speaker_vectors = self.speaker_vectors, {}
        try:
            data = dataclasses.asdict(self)
        finally:
            self.speaker_vectors = vectors
        del data["speaker_vectors"]
        return data

    def to_srt(self, **rules) -> str:
        """SubRip subtitles; rules: max_line_chars, max_lines, max_cue_seconds, highlight_words."""
        from .audio.writers import format_transcript

        return format_transcript(self, "srt", **rules)

    def to_vtt(self, **rules) -> str:
        """WebVTT subtitles; rules as for to_srt."""
        from .audio.writers import format_transcript

        return format_transcript(self, "vtt", **rules)


def check_speed(speed: float) -> float:
    if speed is None or not (MIN_SPEED <= float(speed) <= MAX_SPEED) or math.isnan(speed):
        raise AudioError(f"Speed must be between {MIN_SPEED} and {MAX_SPEED}, got {speed}")
    return float(speed)


class _AudioModel:
    model_id: str = ""
    #: Where the weights live, for `llm audio models`; None for remote or virtual models.
    location: str | None = None

    def preload(self, pin: bool = False) -> None:
        """Load now rather than on first use (a server's --preload); pin keeps it
        loaded whatever the memory pressure. Engines that load lazily override this."""

    def __str__(self) -> str:
        return f"{type(self).__name__}: {self.model_id}"


class SpeechModel(_AudioModel):
    """Text to speech. Subclasses implement stream_speech(); the rest is shared."""

    kind = "speech"
    #: Sample rate of the audio this model makes, when known before generating.
    sample_rate: int | None = None
    #: Whether a voice may be a blend of voices ("a+b", "a:0.7+b:0.3").
    supports_voice_blends = False

    def voices(self) -> list[str] | None:
        """The voices this model offers, or None when it has no fixed list."""
        return None

    def default_voice(self, language: str | None = None) -> str | None:
        """The voice used when none is asked for (for text in language, where that matters)."""
        voices = self.voices()
        return voices[0] if voices else None

    def warm_up(self) -> None:
        """Start loading without waiting, e.g. while the text to speak is still on its way."""
        import threading

        def load():
            try:
                self.preload()
            except BaseException:
                pass  # the real call reports it; at Ctrl-C the process is ending anyway

        threading.Thread(target=load, name="llm-mlx-audio-warm-up", daemon=True).start()

    def stream_speech(
        self,
        text: str,
        *,
        voice: str | None,
        speed: float,
        language: str | None,
    ) -> Iterator[Audio]:
        """Yield audio chunks, in order, as they are made. Subclasses implement this.

        text is a few whole sentences (iter_speech cuts longer texts), already read aloud
        as the user asked: say it as it is."""
        raise NotImplementedError

    def resolve_voice(self, voice: str | None) -> str | None:
        """The voice to use: the default for None, a known voice, or a blend of known ones."""
        from .voices import blend_id, parse_blend

        voices = self.voices()
        if voice is None:
            return self.default_voice()
        parts = parse_blend(voice)
        if parts is not None and not self.supports_voice_blends:
            raise AudioError(f"{self.model_id} cannot blend voices; choose one voice")
        for name in [name for name, _ in parts] if parts else [voice]:
            if voices is not None and name not in voices:
                shown = ", ".join(voices[:20]) + (" ..." if len(voices) > 20 else "")
                raise AudioError(f"Unknown voice '{name}' for {self.model_id}; choose from: {shown}")
        return blend_id(parts) if parts else voice

    def voice_info(self) -> list[dict]:
        """The voices as objects: {"id", "name"} and, where the id tells, "language" and "gender"."""
        from .voices import describe

        return [describe(voice) for voice in self.voices() or []]

    def iter_speech(
        self,
        text: str,
        voice: str | None = None,
        speed: float = 1.0,
        language: str | None = None,
        normalize: bool = True,
    ) -> Iterator[Audio]:
        """Validated streaming synthesis: one Audio chunk per piece, in order.

        With normalize (the default) the text is read as a person reads it: Markdown
        markup, code blocks and emoji are not spoken, links say their text, URLs their
        host (see text/markdown.py). normalize=False speaks the text exactly as given.
        """
        if not text or not text.strip():
            raise AudioError("No text to speak: the input is empty")
        speed = check_speed(speed)
        voice = self.resolve_voice(voice)
        source = text
        if normalize:
            from .text import prepare

            text = prepare(text)
            if not text.strip():
                raise AudioError("No text to speak: the input is only code, emoji or markup")
        yield from _placed_in(self._pieces(text, voice, speed, language), source, normalize)

    def _pieces(self, text: str, voice, speed: float, language) -> Iterator[Audio]:
        """The model's audio for text, a few sentences at a time (text/sentences.py's
        speech_pieces), so the first audio comes after one piece and a whole text is said
        exactly as `llm speak --stream` says it."""
        from .text.sentences import speech_pieces, split_sentences

        for group in speech_pieces(split_sentences(text)):
            yield from self.stream_speech(" ".join(group), voice=voice, speed=speed, language=language)

    def speak(
        self,
        text: str,
        voice: str | None = None,
        speed: float = 1.0,
        language: str | None = None,
        normalize: bool = True,
    ) -> Audio:
        """Synthesize the whole text and return one joined Audio (normalize: see iter_speech)."""
        return Audio.join(
            self.iter_speech(text, voice=voice, speed=speed, language=language, normalize=normalize)
        )


def _placed_in(chunks: Iterator[Audio], source: str, normalize: bool) -> Iterator[Audio]:
    """The chunks, their words (models that time them) given their text and span in source."""
    spans = None
    for chunk in chunks:
        if chunk.words is not None:
            if spans is None:
                from .text.spans import WordSpans, spoken_map

                spans = WordSpans(spoken_map(source, normalize))
            chunk.words = spans.place(chunk.words)
        yield chunk


class TranscriptionModel(_AudioModel):
    """Speech to text. Subclasses implement transcribe_samples()."""

    kind = "transcription"
    #: The sample rate the model wants its input resampled to.
    input_sample_rate: int = 16000
    supports_prompt = False
    supports_temperature = False
    supports_word_timestamps = False
    #: Whether task="translate" (speech in any language to English text) works.
    supports_translation = False
    #: Whether diarize=True (a speaker label on every segment) works.
    supports_diarization = False

    def transcribe_samples(
        self,
        samples,
        *,
        language: str | None,
        prompt: str | None,
        temperature: float | None,
        word_timestamps: bool,
    ) -> Transcript:
        """Transcribe mono float32 samples at input_sample_rate. Subclasses implement this."""
        raise NotImplementedError

    def transcribe(
        self,
        audio,
        language: str | None = None,
        prompt: str | None = None,
        temperature: float | None = None,
        word_timestamps: bool = False,
        *,
        task: str = "transcribe",
        vad: bool = True,
        vad_options=None,
        batch_size: int | None = None,
        progress: bool = False,
        diarize: bool = False,
        speakers: int | None = None,
        max_seconds: float | None = None,
        on_segments=None,
    ) -> Transcript:
        """Transcribe a path, bytes, or samples already at input_sample_rate.

        task="translate" turns speech in any language into English text (models with
        supports_translation). vad, vad_options, batch_size and progress are for engines
        that cut speech with a voice activity detector and decode windows in batches
        (the MLX engine); others ignore them. diarize labels every segment with its
        speaker (models with supports_diarization; speakers: their number, if known).
        Audio longer than max_seconds raises AudioTooLongError, checked while it decodes.
        on_segments(segments) is called as segments are decoded (engines that decode in
        windows call it once per batch; here, once with them all), for streamed answers.
        """
        check_task(self, task)
        check_diarization(self, diarize)
        samples = load_samples(audio, self.input_sample_rate, max_seconds=max_seconds)
        transcript = self.transcribe_samples(
            samples,
            language=language,
            prompt=prompt,
            temperature=temperature,
            word_timestamps=word_timestamps,
        )
        if transcript.duration is None:
            transcript.duration = len(samples) / float(self.input_sample_rate)
        if on_segments is not None and transcript.segments:
            on_segments(list(transcript.segments))
        return transcript


TASKS = ("transcribe", "translate")
#: Speech windows decoded at once by engines that batch (each decoder step reads the weights once for all).
#: 6, not 8: each window in a batch holds its cross-attention keys and values (18 MB for
#: Whisper tiny, 37 MB for base) while the batch decodes, so a long recording peaked
#: 1.17 (tiny) and 1.25 (base) times higher than a 2.4-minute one (5 windows) at 8; at 6,
#: 1.06 and 1.10 (issue 27: at most 1.15; benchmarks/bench_memory.py). The speed this
#: gives up is benchmarks/bench_long.py's to say: it times 6 and 8.
DEFAULT_BATCH_SIZE = 6


def check_task(model: TranscriptionModel, task: str) -> None:
    """Refuse, in one line, a task the model cannot do."""
    if task not in TASKS:
        raise AudioError(f"Unknown task '{task}'; use transcribe or translate")
    if task == "translate" and not model.supports_translation:
        raise AudioError(
            f"{model.model_id} cannot translate (it is an English-only model); "
            "use a multilingual one such as whisper-base"
        )


def check_diarization(model: TranscriptionModel, diarize: bool) -> None:
    """Refuse, in one line that says which can, a model that cannot tell speakers apart."""
    if diarize and not model.supports_diarization:
        raise AudioError(
            f"{model.model_id} cannot tell speakers apart; the MLX engine's Whisper models can "
            "(for example whisper-base or whisper-tiny.en)"
        )


def transcribe_limited(model, audio, max_seconds: float | None = None, **options) -> Transcript:
    """model.transcribe(audio, **options), refusing audio longer than max_seconds whatever the model.

    max_seconds came after third-party engines were written: one whose own transcribe() does
    not name it is handed the samples, decoded here under the limit (transcribe takes samples
    too), rather than failing on an unexpected keyword or dropping it into its **kwargs.
    """
    if max_seconds is None:
        return model.transcribe(audio, **options)
    if takes_keyword(model.transcribe, "max_seconds"):
        return model.transcribe(audio, max_seconds=max_seconds, **options)
    rate = getattr(model, "input_sample_rate", TranscriptionModel.input_sample_rate)
    return model.transcribe(load_samples(audio, rate, max_seconds=max_seconds), **options)


def takes_keyword(function, name: str) -> bool:
    """Whether function takes name as a keyword (engines written before a keyword existed do not)."""
    import inspect

    try:
        parameter = inspect.signature(function).parameters.get(name)
    except (TypeError, ValueError):  # a callable inspect cannot read
        return False
    return parameter is not None and parameter.kind in (
        parameter.KEYWORD_ONLY,
        parameter.POSITIONAL_OR_KEYWORD,
    )


def load_samples(audio, sample_rate: int, max_seconds: float | None = None):
    """Turn a path, bytes or an array into mono float32 samples at sample_rate.

    Paths and bytes longer than max_seconds stop decoding there (AudioTooLongError); samples
    already in memory are refused the same way, so the limit means one thing for every input.
    """
    import numpy as np

    from .audio.decode import check_length, check_max_seconds, decode_audio

    check_max_seconds(max_seconds)
    if isinstance(audio, (str, Path, bytes, bytearray)):
        samples = decode_audio(audio, sample_rate=sample_rate, max_seconds=max_seconds)
    elif isinstance(audio, Audio):
        if audio.sample_rate != sample_rate:
            raise AudioError("Audio must be resampled to the model's rate first")
        samples = audio.samples
    else:
        samples = np.asarray(audio, dtype=np.float32)
    if len(samples) == 0:
        raise AudioError("The audio is empty")
    check_length(len(samples), sample_rate, max_seconds, "the audio")
    return samples
