"""The built-in provider: every MLX model this user has downloaded or imported.

Reads only the catalog JSON; building the model objects imports no engine. The
embedded models of the `offline` extra are listed as soon as their wheels are
installed, and converted the first time they are used.
"""

import llm

from .. import catalog
from . import embedded

# The name it has on llm's plugin manager (`llm plugins` lists it under this).
PLUGIN_NAME = "llm_mlx_audio.mlx"


def _register_kind(kind, register):
    from .models import make_model

    models = catalog.load_catalog()
    for model_id, record in models.items():
        if record.get("kind") == kind and record.get("path"):
            register(make_model(kind, model_id, record["path"]))
    for embedded_id in embedded.models_of(kind):
        if embedded_id not in models and embedded.available(embedded_id):
            register(make_model(kind, embedded_id, embedded.destination(embedded_id), embedded=True))


@llm.hookimpl
def register_speech_models(register):
    _register_kind("speech", register)


@llm.hookimpl
def register_transcription_models(register):
    _register_kind("transcription", register)
