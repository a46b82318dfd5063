"""The one way a command fails: a line on stderr and a non-zero exit, never a traceback."""

import functools
import os
import sys

import click

from ..errors import AudioError
from . import quick_exit


def user_errors(fn):
    """Turn the errors a user can act on into one line on stderr and exit 1.

    Ctrl-C exits 130 at once, quietly. Anything else is a bug and keeps its traceback.
    In a real process that ran a model, the exit skips the interpreter's slow teardown
    (``quick_exit``).
    """

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            result = fn(*args, **kwargs)
        except AudioError as e:
            error = click.ClickException(str(e))
            if quick_exit.applies():
                error.show()
                quick_exit.finish(error.exit_code)
            raise error from None
        except KeyboardInterrupt:
            # Partial output files are already gone (files.atomic_output). Leave now:
            # waiting for the MLX thread to finish its current sentence would make
            # Ctrl-C feel ignored, and os._exit skips the C++ teardown that aborts.
            click.echo("Interrupted", err=True)
            for stream in (sys.stdout, sys.stderr):
                try:
                    stream.flush()
                except Exception:
                    pass
            os._exit(130)
        quick_exit.finish(0)
        return result

    return wrapper
