"""Speech and transcription models run by mlx-audio, through the pool and the MLX thread.

Nothing here imports mlx or mlx_audio at module level: the classes are created for
every registered model on every `llm` call, and only running one pays for the engine.
All engine work (load, generate) is a job on the MLX thread; what comes back to the
caller is plain numpy data and dataclasses.
"""

from __future__ import annotations

import contextlib
import functools
import zipfile
from collections.abc import Iterator
from pathlib import Path

from ..errors import AudioError
from ..models import Audio, SpeechModel, TranscriptionModel, load_samples
from . import detection, inference, loading
from .pool import estimate_size, get_pool

#: What Kokoro's G2P speaks, as text/language.py names languages -> the voices' tags.
_KOKORO_TEXT_LANGUAGES = {
    "en": "en-us", "es": "es", "fr": "fr", "hi": "hi", "it": "it", "ja": "ja", "pt": "pt-br", "zh": "zh",
}  # fmt: skip


def make_model(kind: str, model_id: str, path, embedded: bool = False):
    cls = MlxSpeechModel if kind == "speech" else MlxTranscriptionModel
    return cls(model_id, Path(path), embedded=embedded)


class _MlxModel:
    def __init__(self, model_id: str, path: Path, embedded: bool = False):
        self.model_id = model_id
        self.path = Path(path)
        self.location = str(path)
        self.embedded = embedded

    def _ensure_present(self) -> None:
        """Embedded models are converted from their wheels the first time they are needed."""
        if self.embedded and not (self.path / "config.json").exists():
            from .embedded import ensure_embedded

            ensure_embedded(self.model_id)

    def preload(self, pin: bool = False) -> None:
        with self._use():
            if pin:
                get_pool().pin(self._pool_key())

    def _pool_key(self) -> str:
        return str(self.path.resolve())

    def _use(self):
        """Lease the loaded model from the pool (loading it on first use)."""
        self._ensure_present()
        return get_pool().use(
            self._pool_key(),
            lambda: loading.load(self.path, self.kind, self.model_id),
            estimate_size(self.path),
        )


class MlxSpeechModel(_MlxModel, SpeechModel):
    def __init__(self, model_id: str, path: Path, embedded: bool = False):
        super().__init__(model_id, path, embedded)
        config = detection.read_config(self.path) or {}
        self.model_type = str(config.get("model_type") or ("kokoro" if embedded else "")).lower()
        self.sample_rate = config.get("sample_rate") or 24000
        # Kokoro's pipeline blends style vectors (patches/kokoro_g2p.py).
        self.supports_voice_blends = self.model_type == "kokoro"

    def voices(self) -> list[str] | None:
        self._ensure_present()
        return list_voices(self.path)

    def default_voice(self, language: str | None = None) -> str | None:
        """The voice for text in language (English when not said): af_heart on hub Kokoro."""
        from ..voices import default_voice

        return default_voice(self.voices(), language or "en-us")

    def resolve_voice(self, voice: str | None) -> str | None:
        """Kokoro's default voice is chosen per text (its language), so None stays None here."""
        if voice is None and self.model_type == "kokoro":
            return None
        return super().resolve_voice(voice)

    def language_and_voice(self, text: str, voice: str | None, language: str | None) -> tuple:
        """Kokoro: the language the text is written in unless one is given (a named voice
        speaks it too: `-v ef_dora "Hola"` is Spanish, `-v jm_kumo "Good morning"` English);
        when the text does not say, the voice's language, else English. No voice: that
        language's own voice."""
        if self.model_type != "kokoro":
            return language, voice
        from ..text.language import identify
        from ..voices import language_of

        if language:  # as the user wrote it (en, pt, b...): Kokoro's code, then the voices' tag
            from ..voices import kokoro_language_tag

            language = kokoro_language_tag(inference._kokoro_language(language))
        else:
            voice_language = language_of(voice)
            found = identify(text, _KOKORO_TEXT_LANGUAGES)
            language = _KOKORO_TEXT_LANGUAGES.get(found) if found else None
            if language == "en-us" and voice_language == "en-gb":
                language = "en-gb"  # English text in a British voice: British English
            language = language or voice_language or "en-us"
        return language, voice or self.default_voice(language)

    def _pieces(self, text, voice, speed, language) -> Iterator[Audio]:
        """The pieces under one lease of the model: it stays loaded between them, and a
        server counts the request as working until its last piece (a slow reader's stream)."""
        with self._use():
            yield from super()._pieces(text, voice, speed, language)

    def stream_speech(self, text, *, voice, speed, language) -> Iterator[Audio]:
        """One piece (a few sentences: SpeechModel.iter_speech cuts the text), in one call.

        Kokoro's pause before each piece is shortened (engine/word_timing.py) so that the
        pieces of a long text do not drift apart."""
        language, voice = self.language_and_voice(text, voice, language)
        with self._use() as loaded:
            from .thread import get_mlx_thread

            yield from get_mlx_thread().stream(
                inference.generate_speech, loaded, text, voice, speed, language
            )


class MlxTranscriptionModel(_MlxModel, TranscriptionModel):
    supports_prompt = True
    supports_temperature = True
    supports_word_timestamps = True
    #: The speaker encoder runs on the VAD's regions, beside batched Whisper.
    supports_diarization = True

    @functools.cached_property
    def supports_translation(self) -> bool:
        """Whisper's multilingual vocabularies have 51865 tokens or more (English-only: 51864).

        Read when asked, not when the model is registered (that happens on every `llm`
        command); an embedded model not yet converted is known by its id.
        """
        config = detection.read_config(self.path) or {}
        if not config and self.embedded:
            from .embedded import MULTILINGUAL

            return self.model_id in MULTILINGUAL
        return int(config.get("n_vocab") or config.get("vocab_size") or 0) >= 51865

    def transcribe(
        self,
        audio,
        language=None,
        prompt=None,
        temperature=None,
        word_timestamps=False,
        *,
        task="transcribe",
        vad=True,
        vad_options=None,
        batch_size=None,
        progress=False,
        diarize=False,
        speakers=None,
        max_seconds=None,
        on_segments=None,
        vocabulary_terms=None,
    ):
        """Whisper with the VAD and batched windows (long_form); other families as before.

        Diarization needs the VAD's regions, so it turns the VAD on whatever vad says.
        Every decode of the input (the VAD's pass, the windows', the speakers') stops at
        max_seconds: the first to get there raises AudioTooLongError. on_segments gets each
        batch of windows' segments as they are decoded (all at once without the VAD).
        vocabulary_terms go into the prompt, as many as fit (engine/vocabulary_prompt.py).
        """
        from ..models import check_diarization, check_task
        from . import batched_whisper, diarization, long_form
        from .thread import get_mlx_thread

        check_task(self, task)
        check_diarization(self, diarize)
        vad = vad or diarize
        pieces = _pieces_of(audio, self.input_sample_rate, max_seconds)
        with (
            diarization.speaker_model() if diarize else contextlib.nullcontext() as speaker_lease,
            self._use() as loaded,
            long_form.vad_model() if vad else contextlib.nullcontext() as vad_lease,
        ):
            if diarize and not batched_whisper.is_batched_whisper(loaded):
                raise AudioError(
                    f"{self.model_id} cannot tell speakers apart here: diarization needs a Whisper model"
                )
            if vocabulary_terms:
                from .vocabulary_prompt import with_terms

                prompt = with_terms(loaded, prompt, vocabulary_terms)
            if vad_lease is None or not batched_whisper.is_batched_whisper(loaded):
                samples = load_samples(audio, self.input_sample_rate, max_seconds=max_seconds)
                transcript = get_mlx_thread().run(
                    inference.transcribe,
                    loaded,
                    samples,
                    language,
                    prompt,
                    temperature,
                    word_timestamps,
                    task,
                )
                if transcript.duration is None:
                    transcript.duration = len(samples) / float(self.input_sample_rate)
                if on_segments is not None and transcript.segments:
                    on_segments(list(transcript.segments))
            else:
                options = long_form.LongFormOptions(
                    language=language,
                    task=task,
                    prompt=prompt,
                    temperature=temperature,
                    word_timestamps=word_timestamps,
                    batch_size=batch_size or long_form.DEFAULT_BATCH_SIZE,
                    progress=progress,
                    diarize=diarize,
                    speakers=speakers,
                    on_segments=on_segments,
                )
                if vad_options is not None:
                    options.vad = vad_options
                transcript = long_form.transcribe(loaded, pieces, vad_lease, options, speaker_lease)
        transcript.task = task
        return transcript

    def transcribe_samples(self, samples, *, language, prompt, temperature, word_timestamps):
        from .thread import get_mlx_thread

        with self._use() as loaded:
            return get_mlx_thread().run(
                inference.transcribe, loaded, samples, language, prompt, temperature, word_timestamps
            )


def _pieces_of(audio, rate: int, max_seconds: float | None = None):
    """A function giving a fresh iterator of the audio's samples, piece by piece: files and
    bytes are decoded a minute at a time (up to max_seconds), samples in memory are one piece."""
    from ..audio.decode import check_max_seconds, decode_pieces

    check_max_seconds(max_seconds)
    if isinstance(audio, (str, Path, bytes, bytearray)):
        source = bytes(audio) if isinstance(audio, bytearray) else audio
        return lambda: decode_pieces(source, rate, max_seconds=max_seconds)
    samples = load_samples(audio, rate, max_seconds=max_seconds)
    return lambda: iter([samples])


def list_voices(path: Path) -> list[str] | None:
    """Voices shipped in a model folder: voices/*.safetensors|.pt|.npy or voices.npz entries."""
    path = Path(path)
    names = set()
    voices_dir = path / "voices"
    if voices_dir.is_dir():
        for file in voices_dir.iterdir():
            if file.suffix in (".safetensors", ".pt", ".npy", ".bin"):
                names.add(file.stem)
    for npz in path.glob("voices*.npz"):
        try:
            with zipfile.ZipFile(npz) as z:
                names.update(n[:-4] if n.endswith(".npy") else n for n in z.namelist())
        except (OSError, zipfile.BadZipFile):
            continue
    return sorted(names) or None
