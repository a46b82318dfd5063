"""The click commands the plugin adds to llm: speak, transcribe, listen and the `audio` group."""


def register_commands(cli):
    from .audio_group import audio
    from .listen import listen
    from .speak import speak
    from .transcribe import transcribe

    cli.add_command(speak)
    cli.add_command(transcribe)
    cli.add_command(listen)
    cli.add_command(audio)
