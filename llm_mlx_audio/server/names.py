"""Which model and voice a server request means.

Requests may name models the way the CLI does (ids, plugin aliases, llm aliases) or
the way OpenAI's clients do (tts-1, whisper-1, alloy...), which mean the user's
defaults. Unlike the CLI, a name must be registered: a client on the network must
not make the server probe or load arbitrary folders.
"""

from __future__ import annotations

import os
import re

from .. import registry
from ..errors import UnknownModelError, WrongModelKindError
from ..models import SpeechModel
from ..voices import OPENAI_VOICES
from .errors import ApiError

# OpenAI's model names stand for the user's default model of their kind, so clients
# written for OpenAI work unchanged. A real model or alias of the same name wins.
# Dated snapshots (gpt-4o-mini-tts-2025-12-15) mean the same as their undated name.
OPENAI_MODELS = {
    "speech": ("tts-1", "tts-1-hd", "gpt-4o-mini-tts"),
    "transcription": (
        "whisper-1",
        "gpt-transcribe",
        "gpt-4o-transcribe",
        "gpt-4o-mini-transcribe",
        "gpt-4o-transcribe-diarize",
    ),
}
_DATED = re.compile(r"(?P<name>.+?)(?:-\d{4}-\d{2}-\d{2}|-preview(?:-\d{4}-\d{2}-\d{2})?)")


def openai_name(kind: str, name: str | None) -> str | None:
    """The undated OpenAI model name that name stands for (None if it is not one of kind's)."""
    if not name:
        return None
    name = name.strip().lower()
    match = _DATED.fullmatch(name)
    base = match["name"] if match else name
    return base if base in OPENAI_MODELS[kind] else None


def wants_diarization(name: str | None) -> bool:
    """Whether a request's model name asks for speakers (gpt-4o-transcribe-diarize and its snapshots)."""
    base = openai_name("transcription", name)
    return base is not None and base.endswith("-diarize")


def resolve_model(kind: str, name: str | None):
    """The model a request names: an id or alias, an OpenAI name, or nothing (the default).

    Unlike the CLI, a name must be a registered model or alias: a client on the network
    must not make the server probe or load arbitrary folders.
    """
    if name is None or not name.strip():
        return registry.find_model(kind, None)
    if _is_known(kind, name):
        return registry.find_model(kind, name)
    if openai_name(kind, name):
        return registry.find_model(kind, None)
    other = "transcription" if kind == "speech" else "speech"
    if _is_known(other, name) or openai_name(other, name):
        raise WrongModelKindError(f"{name!r} is a {other} model, not a {kind} model")
    raise UnknownModelError(f"The {kind} model {name!r} does not exist here; GET /v1/models lists the models")


def _is_known(kind: str, name: str) -> bool:
    """Whether name is a registered id or alias of kind, directly or through llm's aliases."""
    models = registry.registered_models(kind)
    ids = {model_id.lower() for model_id in models}
    aliases = {alias for registered in models.values() for alias in registered.aliases}
    llm_aliases = registry.llm_aliases()
    seen = set()
    while name not in seen:
        if name.lower() in ids or name in aliases:
            return True
        seen.add(name)
        if name not in llm_aliases:
            return False
        name = llm_aliases[name]
    return False


def models_of(kind: str) -> list:
    return [entry.model for entry in registry.registered_models(kind).values()]


def model_card(kind: str, model) -> dict:
    """OpenAI's model object; `created` is when the model's files were written, if known."""
    created = 0
    if model.location and os.path.exists(model.location):
        created = int(os.path.getmtime(model.location))
    return {
        "id": model.model_id,
        "object": "model",
        "created": created,
        "owned_by": "llm-mlx-audio",
        "kind": kind,
    }


def choose_voice(model: SpeechModel, voice: str | None) -> str | None:
    """The voice to use: one the model lists (or a blend of them), OpenAI's names mapped
    to the model's voices, else 400.

    Nothing else gets through: some engines read a voice they do not know as a file to
    clone or a URL to fetch (pocket_tts does both), and a client must not make the
    server read its files or call other hosts. A model without a list takes no voice.
    """
    import llm

    from ..errors import AudioError
    from ..voices import openai_voice

    if voice is None or not voice.strip():
        return None
    voices = model.voices()
    if voices is not None and voice in voices:
        return voice
    mapped = openai_voice(voice, model.model_id, voices or [], model.default_voice(), llm.user_dir())
    if mapped is not None or voice.lower() in OPENAI_VOICES:
        return mapped
    if not voices:
        raise ApiError(
            400,
            f"{model.model_id} has no voices to choose from; leave voice out (or use alloy...)",
            param="voice",
            code="invalid_voice",
        )
    try:
        return model.resolve_voice(voice)  # a blend of known voices
    except AudioError as error:
        raise ApiError(
            400,
            f"{error}; GET /v1/audio/voices?model={model.model_id} lists them",
            param="voice",
            code="invalid_voice",
        ) from None


def preload(name: str) -> str:
    """Load the named model now and pin it in the pool, so the first request finds it warm."""
    model = _find_any(name)
    model.preload(pin=True)
    return model.model_id


def _find_any(name: str):
    for kind in registry.KINDS:
        try:
            return resolve_model(kind, name)
        except (UnknownModelError, WrongModelKindError):
            continue
    raise UnknownModelError(f"Cannot preload {name!r}: no speech or transcription model has that name")
