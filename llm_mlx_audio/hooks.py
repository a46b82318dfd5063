"""Hooks up the plugin's own hookspecs and its built-in MLX provider to llm's plugin manager.

Imported by llm_mlx_audio/__init__.py, which llm loads on every command, so it must
stay cheap: no engine imports.
"""

from llm.plugins import pm

from . import hookspecs
from .engine import provider as mlx_provider

if not hasattr(pm.hook, "register_speech_models"):
    pm.add_hookspecs(hookspecs)

# The built-in MLX models register through the same hooks a third-party engine uses.
if not pm.has_plugin("llm_mlx_audio.mlx"):
    pm.register(mlx_provider, name="llm_mlx_audio.mlx")
