"""The plugin as llm sees it: llm's hooks, and this plugin's own hookspecs on llm's manager.

llm imports this module on every command (it is the entry point), so it imports
nothing heavy: each hook imports what it needs when it runs.
"""

import llm

from . import registry

# Our hookspecs and the built-in MLX engine, registered through them like any peer.
registry.plugin_manager()


@llm.hookimpl
def register_models(register):
    from .llm_models import register as register_transcription

    register_transcription(register)


@llm.hookimpl
def register_fragment_loaders(register):
    from .llm_tools import diarized_transcript_fragment, transcript_fragment

    register("transcript", transcript_fragment)
    register("transcript_diarized", diarized_transcript_fragment)


@llm.hookimpl
def register_tools(register):
    from .llm_tools import speak, transcribe_audio

    register(transcribe_audio)
    register(speak)


@llm.hookimpl
def register_commands(cli):
    from .commands import register_commands as register

    register(cli)
