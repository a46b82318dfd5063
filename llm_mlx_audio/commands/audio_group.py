"""`llm audio ...`: managing speech and transcription models."""

import json

import click
import llm

from ..errors import AudioError
from .chat import chat
from .doctor import doctor
from .serve import serve
from .speakers import speakers
from .user_errors import user_errors
from .vocabulary import vocabulary

KIND_CHOICE = click.Choice(["speech", "transcription"])


@click.group()
def audio():
    "Manage speech and transcription models"


@audio.command()
@click.argument("model_id")
@click.option("-a", "--alias", "aliases", multiple=True, help="Alias to set for the model")
@user_errors
def download(model_id, aliases):
    """
    Download a model from the Hugging Face hub

    \b
        llm audio download mlx-community/Kokoro-82M-bf16 -a kokoro
        llm audio download mlx-community/whisper-large-v3-turbo -a turbo

    Gated or private repos use the token from `llm keys set huggingface` or HF_TOKEN.
    """
    from .. import registry

    kind, path = registry.download(model_id)
    for alias in aliases:
        llm.set_alias(alias, model_id)
    click.echo(f"Downloaded {kind} model {model_id} to {path}", err=True)


@audio.command(name="import")
@click.argument("path", type=click.Path())
@click.option("--name", help="Model id to register it under (default: the folder name)")
@click.option("-a", "--alias", "aliases", multiple=True, help="Alias to set for the model")
@user_errors
def import_(path, name, aliases):
    """
    Register a local model folder, converting it when needed

    Accepts MLX model folders, faster-whisper (CTranslate2) Whisper folders and
    kokoro-onnx checkpoints (the .onnx file with its voices).

    \b
        llm audio import ~/models/whisper-small-mlx -a small
        llm audio import ~/.cache/faster-whisper-base.en --name whisper-base.en
        llm audio import kokoro-v1.0.onnx --name kokoro
    """
    from .. import registry

    with _progress_bar() as progress:
        model_id, kind, stored = registry.import_model(path, name=name, progress=progress)
    for alias in aliases:
        llm.set_alias(alias, model_id)
    click.echo(f"Imported {kind} model {model_id} ({stored})", err=True)


@audio.command(name="models")
@click.option("--json", "as_json", is_flag=True, help="Output as JSON")
@user_errors
def models_(as_json):
    "List speech and transcription models"
    from .. import catalog, registry

    rows = []
    for kind in ("speech", "transcription"):
        default = catalog.get_default(kind)
        for model_id, registered in registry.registered_models(kind).items():
            aliases = registry.aliases_for(model_id, kind)
            rows.append(
                {
                    "id": model_id,
                    "kind": kind,
                    "aliases": aliases,
                    "default": default is not None and (default == model_id or default in aliases),
                    "location": registered.model.location,
                }
            )
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        click.echo("No speech or transcription models yet: see `llm audio download --help`", err=True)
        return
    for row in rows:
        line = f"{row['kind']}: {row['id']}"
        if row["aliases"]:
            line += f" (aliases: {', '.join(row['aliases'])})"
        if row["default"]:
            line += " (default)"
        click.echo(line)
        if row["location"]:
            click.echo(f"  {row['location']}")


@audio.command()
@click.argument("kind", type=KIND_CHOICE)
@click.argument("model", required=False)
@click.option("--remove", is_flag=True, help="Unset the default")
@user_errors
def default(kind, model, remove):
    """
    Show or set the default speech or transcription model

    \b
        llm audio default speech
        llm audio default transcription whisper-tiny.en
    """
    from .. import catalog, registry

    if remove:
        catalog.set_default(kind, None)
        return
    if model is None:
        current = catalog.get_default(kind)
        click.echo(current or f"No default {kind} model set")
        return
    found = registry.find_model(kind, model)
    catalog.set_default(kind, model if model in registry.llm_aliases() else found.model_id)


@audio.command()
@click.option("-m", "--model", help="Speech model id or alias")
@click.option("--json", "as_json", is_flag=True, help="Output as JSON")
@user_errors
def voices(model, as_json):
    """
    List the voices a speech model offers

    Kokoro voices blend: -v "jf_alpha+jm_kumo" or -v "jf_alpha:0.7+jm_kumo:0.3".
    --json gives objects with id, name and, where known, language and gender.
    """
    from .. import registry

    speech_model = registry.find_model("speech", model)
    info = speech_model.voice_info()
    default_voice = speech_model.default_voice()
    if as_json:
        click.echo(json.dumps({"model": speech_model.model_id, "default": default_voice, "voices": info}))
        return
    if not info:
        raise AudioError(f"{speech_model.model_id} has no fixed list of voices")
    for voice in info:
        details = ", ".join(voice[k] for k in ("language", "gender") if k in voice)
        line = voice["id"] + (f" ({details})" if details else "")
        click.echo(line + (" [default]" if voice["id"] == default_voice else ""))


class _progress_bar:
    """A tqdm bar on stderr fed by importers' progress(done, total) callbacks."""

    def __enter__(self):
        self.bar = None
        return self.update

    def update(self, done, total):
        import sys

        from tqdm import tqdm

        if self.bar is None:
            self.bar = tqdm(total=total, desc="Converting", unit="tensor", file=sys.stderr, disable=None)
        self.bar.total = total
        self.bar.n = done
        self.bar.refresh()

    def __exit__(self, *exc):
        if self.bar is not None:
            self.bar.close()
        return False


audio.add_command(serve)
audio.add_command(doctor)
audio.add_command(chat)
audio.add_command(speakers)
audio.add_command(vocabulary)


@audio.command()
@click.option("--json", "as_json", is_flag=True, help="Output as JSON")
@user_errors
def devices(as_json):
    """
    List the audio input and output devices

    \b
        llm audio devices
        llm listen --device 2
    """
    from ..audio.capture import list_devices

    found = list_devices()
    if as_json:
        click.echo(json.dumps(found, indent=2))
        return
    if not found:
        click.echo("No audio devices found")
        return
    for d in found:
        roles = [
            r
            for r, on in (("default input", d["default_input"]), ("default output", d["default_output"]))
            if on
        ]
        channels = f"{d['input_channels']} in, {d['output_channels']} out"
        line = f"{d['index']}: {d['name']} ({channels}, {d['default_samplerate']:.0f} Hz)"
        click.echo(line + (f" [{', '.join(roles)}]" if roles else ""))
