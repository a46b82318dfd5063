"""Speech and transcription models run by mlx-audio, through the pool and the MLX thread.

Nothing here imports mlx or mlx_audio at module level: the classes are created for
every registered model on every `llm` call, and only running one pays for the engine.
All engine work (load, generate) is a job on the MLX thread; what comes back to the
caller is plain numpy data and dataclasses.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from pathlib import Path

from ..models import Audio, SpeechModel, TranscriptionModel
from ..text.sentences import chunk_text
from . import detection, inference, loading
from .pool import estimate_size, get_pool

_PREFERRED_VOICES = ("jm_kumo", "af_heart", "expr-voice-5-m")


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

    def default_voice(self) -> str | None:
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
                    inference.generate_speech, loaded, chunk, voice, speed, language
                )


class MlxTranscriptionModel(_MlxModel, TranscriptionModel):
    supports_prompt = True
    supports_temperature = True
    supports_word_timestamps = True

    def transcribe_samples(self, samples, *, language, prompt, temperature, word_timestamps):
        from .thread import get_mlx_thread

        with self._use() as loaded:
            return get_mlx_thread().run(
                inference.transcribe, loaded, samples, language, prompt, temperature, word_timestamps
            )


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
