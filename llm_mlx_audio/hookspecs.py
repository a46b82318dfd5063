"""The plugin's own extension points, added to llm's plugin manager.

llm has no audio hooks, so any plugin that wants to offer a speech or transcription
engine implements these. The built-in MLX models register through them too.
"""

from pluggy import HookspecMarker

hookspec = HookspecMarker("llm")


@hookspec
def register_speech_models(register):
    "Register text-to-speech models: register(model, aliases=None)"


@hookspec
def register_transcription_models(register):
    "Register speech-to-text models: register(model, aliases=None)"
