"""The click commands the plugin adds to llm: speak, transcribe and the `audio` group."""


def register_commands(cli):
    from .audio_group import audio
    from .speak import speak
    from .transcribe import transcribe

    cli.add_command(speak)
    cli.add_command(transcribe)
    cli.add_command(audio)
