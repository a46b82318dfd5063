"""`llm audio serve`: the OpenAI-compatible speech and transcription server."""

import click

from ..errors import AudioError
from ..server import DEFAULT_MAX_UPLOAD_MB
from .user_errors import user_errors

_SERVER_PACKAGES = ("fastapi", "starlette", "uvicorn", "python_multipart", "anyio", "pydantic")


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on")
@click.option(
    "--port", type=click.IntRange(0, 65535), default=8000, show_default=True, help="Port (0: any free one)"
)
@click.option(
    "--preload",
    "preload",
    multiple=True,
    metavar="MODEL",
    help="Load and keep this model loaded (repeatable)",
)
@click.option(
    "--api-key", help="Require this key as a Bearer token (default: `llm keys set mlx-audio-server`)"
)
@click.option(
    "--max-upload-mb",
    type=click.FloatRange(0, min_open=True),
    default=DEFAULT_MAX_UPLOAD_MB,
    show_default=True,
    help="Largest audio upload accepted for transcription",
)
@user_errors
def serve(host, port, preload, api_key, max_upload_mb):
    """
    Serve OpenAI's speech and transcription API with local models

    \b
        llm audio serve --preload tiny-kitten
        curl localhost:8000/v1/audio/speech -H 'Content-Type: application/json' \\
          -d '{"model": "tts-1", "input": "Hello", "voice": "alloy"}' -o hello.mp3

    OpenAI's model names (tts-1, whisper-1...) mean your default models. Listening on
    anything but this machine (--host 0.0.0.0) needs an API key: --api-key, a key stored
    with `llm keys set mlx-audio-server`, or LLM_MLX_AUDIO_API_KEY.
    """
    app_module = _load_server()
    from ..server import run
    from ..server.names import preload as preload_model

    key = run.resolve_api_key(api_key)
    run.check_exposure(host, key)
    for name in preload:
        click.echo(f"Loading {name}...", err=True)
        click.echo(f"Loaded {preload_model(name)} (pinned)", err=True)
    app = app_module.create_app(api_key=key, max_upload_bytes=int(max_upload_mb * 1024 * 1024))
    sock = run.bind_socket(host, port)
    click.echo(f"Listening on {run.url_for(sock)}" + (" (API key required)" if key else ""), err=True)
    click.echo("Press Ctrl-C to stop", err=True)
    try:
        run.serve(app, sock)
    except KeyboardInterrupt:
        pass  # uvicorn has already shut down gracefully; Ctrl-C is how a server stops
    click.echo("Stopped", err=True)


def _load_server():
    """FastAPI and uvicorn load only here: the plugin is imported on every llm call."""
    try:
        import uvicorn  # noqa: F401

        from ..server import app
    except ImportError as error:
        if (error.name or "").split(".")[0] not in _SERVER_PACKAGES:
            raise
        raise AudioError(
            f"`llm audio serve` needs {error.name}: llm install fastapi uvicorn python-multipart"
        ) from None
    return app
