"""The click commands the plugin adds to llm: speak, transcribe and the `audio` group."""

import functools
import sys

import click

from ..errors import AudioError


def user_errors(fn):
    """Turn the errors a user can act on into one line on stderr and exit 1.

    Ctrl-C exits 130 quietly. Anything else is a bug and keeps its traceback.
    """

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except AudioError as e:
            raise click.ClickException(str(e)) from None
        except KeyboardInterrupt:
            click.echo("Interrupted", err=True)
            sys.exit(130)

    return wrapper


def register_commands(cli):
    from .audio_group import audio
    from .speak import speak
    from .transcribe import transcribe

    cli.add_command(speak)
    cli.add_command(transcribe)
    cli.add_command(audio)
