"""`llm speak`: text in, speech out."""

import sys

import click

from .. import audio_io
from ..base import MAX_SPEED, MIN_SPEED, check_speed
from ..errors import AudioError
from . import user_errors


@click.command()
@click.argument("text", required=False)
@click.option("-m", "--model", help="Speech model id or alias (default: `llm audio default speech`)")
@click.option("-v", "--voice", help="Voice name; see `llm audio voices`")
@click.option(
    "--speed",
    type=float,
    default=1.0,
    show_default=True,
    help=f"Speaking rate, {MIN_SPEED} to {MAX_SPEED}",
)
@click.option("--lang", "language", help="Language code, e.g. en, en-gb, ja")
@click.option("-o", "--output", help="Write audio to this file ('-' for stdout)")
@click.option(
    "--format",
    "format",
    type=click.Choice(audio_io.FORMATS),
    help="Audio format (default: from the -o extension, else wav). "
    "pcm is raw 16-bit little-endian mono at the model's sample rate (24000 Hz for Kokoro)",
)
@click.option("--play", is_flag=True, help="Play through the default output device")
@user_errors
def speak(text, model, voice, speed, language, output, format, play):
    """
    Turn text into speech

    Text comes from the argument or from standard input:

    \b
        llm speak "Hello there" -o hello.wav
        llm "write a haiku" | llm speak -o haiku.mp3
        llm speak "Hi" -o - --format pcm | play -t raw -r 24000 -e signed -b 16 -c 1 -
        llm speak "Hello" --play

    With neither -o nor --play the speech is played.
    """
    from .. import lookup
    from ..files import check_writable

    if text is None:
        if sys.stdin.isatty():
            raise AudioError("No text to speak: pass it as an argument or pipe it in")
        text = sys.stdin.read()
    if not text.strip():
        raise AudioError("No text to speak: the input is empty")
    check_speed(speed)
    if output is None and not play:
        play = True
    if output and output != "-":
        check_writable(output)
    format = format or (audio_io.format_from_path(output) if output and output != "-" else None)
    format = format or "wav"
    if play:
        from ..playback import check_playback

        check_playback()

    speech_model = lookup.find_model("speech", model)
    audio = speech_model.speak(text, voice=voice, speed=speed, language=language)
    if output == "-":
        sys.stdout.buffer.write(audio.to_bytes(format))
        sys.stdout.buffer.flush()
    elif output:
        audio.save(output, format=format)
    if play:
        from ..playback import play_audio

        play_audio(audio)
