"""The built-in provider: every MLX model this user has downloaded or imported.

Reads only the catalog JSON; building the model objects imports no engine.
"""

import llm

from . import catalog


def _register_kind(kind, register):
    from .mlx_models import make_model

    for model_id, record in catalog.load_catalog().items():
        if record.get("kind") == kind and record.get("path"):
            register(make_model(kind, model_id, record["path"]))


@llm.hookimpl
def register_speech_models(register):
    _register_kind("speech", register)


@llm.hookimpl
def register_transcription_models(register):
    _register_kind("transcription", register)
