"""`llm audio serve`: the OpenAI-compatible speech and transcription server."""

import signal

import click

from ..errors import AudioError
from ..server import DEFAULT_MAX_AUDIO_MINUTES, DEFAULT_MAX_QUEUE, DEFAULT_MAX_UPLOAD_MB
from .user_errors import user_errors

_SERVER_PACKAGES = ("fastapi", "starlette", "uvicorn", "python_multipart", "anyio", "pydantic")


class Duration(click.ParamType):
    """30s, 5m, 1h, 90 (seconds) or 0, as seconds."""

    name = "duration"
    _UNITS = {"s": 1, "m": 60, "h": 3600}

    def convert(self, value, param, ctx):
        if isinstance(value, (int, float)):
            return float(value)
        text = str(value).strip().lower()
        unit = self._UNITS.get(text[-1:], None)
        number = text[:-1] if unit else text
        try:
            seconds = float(number) * (unit or 1)
        except ValueError:
            self.fail(f"{value!r} is not a duration like 30s, 5m or 1h", param, ctx)
        if seconds < 0:
            self.fail("a duration cannot be negative", param, ctx)
        return seconds


DURATION = Duration()


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
    "--api-key",
    help="Require this key as a Bearer token (visible in `ps`: prefer --api-key-env or "
    "`llm keys set mlx-audio-server`)",
)
@click.option("--api-key-env", metavar="VAR", help="Require the key held in this environment variable")
@click.option(
    "--allow-host",
    "allow_hosts",
    multiple=True,
    metavar="NAME",
    help="Also answer requests addressed to this host name (repeatable; * for any, behind a proxy)",
)
@click.option(
    "--cors-origin",
    "cors_origins",
    multiple=True,
    metavar="ORIGIN",
    help="Let web pages from this origin (http://localhost:3000) call the server; needs an API key",
)
@click.option(
    "--max-upload-mb",
    type=click.FloatRange(0, min_open=True),
    default=DEFAULT_MAX_UPLOAD_MB,
    show_default=True,
    help="Largest audio upload accepted for transcription",
)
@click.option(
    "--max-audio-minutes",
    type=click.FloatRange(0, min_open=True),
    default=DEFAULT_MAX_AUDIO_MINUTES,
    show_default=True,
    help="Longest audio (decoded) accepted for transcription",
)
@click.option(
    "--max-queue",
    type=click.IntRange(0),
    default=DEFAULT_MAX_QUEUE,
    show_default=True,
    help="Requests that may wait for the model; more get 503 with Retry-After",
)
@click.option(
    "--keep-alive",
    type=DURATION,
    default="5m",
    show_default=True,
    help="Unload models idle this long (30s, 5m, 1h; 0 keeps them loaded)",
)
@click.option(
    "--shutdown-timeout",
    type=DURATION,
    default="30s",
    show_default=True,
    help="On Ctrl-C or SIGTERM, how long requests in flight may take to finish",
)
@user_errors
def serve(
    host,
    port,
    preload,
    api_key,
    api_key_env,
    allow_hosts,
    cors_origins,
    max_upload_mb,
    max_audio_minutes,
    max_queue,
    keep_alive,
    shutdown_timeout,
):
    """
    Serve OpenAI's speech and transcription API with local models

    \b
        llm audio serve --preload tiny-kitten
        curl localhost:8000/v1/audio/speech -H 'Content-Type: application/json' \\
          -d '{"model": "tts-1", "input": "Hello", "voice": "alloy"}' -o hello.mp3

    OpenAI's model names (tts-1, whisper-1...) mean your default models. Listening on
    anything but this machine (--host 0.0.0.0) needs an API key: a key stored with
    `llm keys set mlx-audio-server`, LLM_MLX_AUDIO_API_KEY, --api-key-env or --api-key.

    Requests must address the server by a name it listens on (--allow-host adds more),
    and web pages may not call it unless --cors-origin allows their origin.

    While it runs, `llm speak` and `llm transcribe` on this machine use it (models stay
    warm between commands); --local on those makes them work in their own process.
    """
    import llm

    app_module = _load_server()
    from ..server import advert, run
    from ..server.browser_guard import allowed_hosts
    from ..server.names import preload as preload_model

    if api_key is not None:
        click.echo(
            "Warning: a key given with --api-key is visible to other users of this machine (ps); "
            "prefer `llm keys set mlx-audio-server` or --api-key-env",
            err=True,
        )
    key = run.resolve_api_key(api_key, api_key_env)
    run.check_exposure(host, key)
    origins = run.check_cors(cors_origins, key)
    for name in preload:
        click.echo(f"Loading {name}...", err=True)
        click.echo(f"Loaded {preload_model(name)} (pinned)", err=True)
    token = advert.new_token()
    app = app_module.create_app(
        api_key=key,
        max_upload_bytes=int(max_upload_mb * 1024 * 1024),
        max_queue=max_queue,
        local_token=token,
        hosts=allowed_hosts(host, allow_hosts),
        cors_origins=origins,
        max_audio_seconds=max_audio_minutes * 60,
    )
    sock = run.bind_socket(host, port)
    run.start_keep_alive(keep_alive)
    advert.write(llm.user_dir(), run.local_url(sock), token)
    click.echo(f"Listening on {run.url_for(sock)}" + (" (API key required)" if key else ""), err=True)
    click.echo("Press Ctrl-C to stop", err=True)
    # uvicorn shuts down gracefully on SIGTERM, then raises the signal again: here that
    # ends the command normally (advert withdrawn, exit 0) instead of killing it.
    previous = signal.signal(signal.SIGTERM, _terminated)
    try:
        run.serve(app, sock, shutdown_timeout=shutdown_timeout)
    except (KeyboardInterrupt, _Terminated):
        pass  # uvicorn has already shut down gracefully; that is how a server stops
    finally:
        signal.signal(signal.SIGTERM, previous)
        advert.remove(llm.user_dir())
    click.echo("Stopped", err=True)


class _Terminated(BaseException):
    """SIGTERM, after uvicorn's graceful shutdown."""


def _terminated(signum, frame):
    raise _Terminated()


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
