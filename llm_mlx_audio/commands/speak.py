"""`llm speak`: text in, speech out."""

import sys

import click

from ..audio import encode
from ..errors import AudioError
from ..models import MAX_SPEED, MIN_SPEED, check_speed
from . import captions
from .user_errors import user_errors
from .verbose import show_details, verbose_option


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
    type=click.Choice(encode.FORMATS),
    help="Audio format (default: from the -o extension, else wav). "
    "pcm is raw 16-bit little-endian mono at the model's sample rate (24000 Hz for Kokoro)",
)
@click.option("--play", is_flag=True, help="Play through the default output device")
@click.option(
    "--stream",
    is_flag=True,
    help="Read stdin as it arrives and speak each sentence as soon as it is complete",
)
@click.option(
    "--raw",
    is_flag=True,
    help="Speak the text exactly as given (by default Markdown is read as a person reads it: "
    "no markup, code blocks or emoji, links by their text, URLs by their host)",
)
@click.option("--local", is_flag=True, help="Work in this process even when `llm audio serve` is running")
@captions.options
@verbose_option
@user_errors
def speak(
    text, model, voice, speed, language, output, format, play, stream, raw, local, verbose, **captioning
):
    """
    Turn text into speech

    Text comes from the argument or from standard input:

    \b
        llm speak "Hello there" -o hello.wav
        llm "write a haiku" | llm speak -o haiku.mp3
        llm speak "Hi" -o - --format pcm | play -t raw -r 24000 -e signed -b 16 -c 1 -
        llm speak "Hello" --play
        llm "tell me a story" | llm speak --stream --play
        llm speak -v "jf_alpha:0.7+jm_kumo:0.3" "A blend of two voices"
        llm speak "**Bold** claim" -o claim.wav --captions claim.srt

    Markdown (what LLMs answer in) is read as a person would read it aloud: headings
    and list items become sentences, markup and code blocks are not spoken. --raw
    speaks the text exactly as given. With neither -o nor --play the speech is played.
    """
    from .. import registry
    from ..files import check_writable
    from .warm import find_server

    show_details(verbose)
    if stream:
        if text is not None:
            raise AudioError("--stream reads text from standard input; pipe it in instead")
        if sys.stdin.isatty():
            raise AudioError("--stream needs text piped in, e.g. llm 'tell a story' | llm speak --stream")
    elif text is None:
        if sys.stdin.isatty():
            raise AudioError("No text to speak: pass it as an argument or pipe it in")
        text = sys.stdin.read()
    if not stream and not text.strip():
        raise AudioError("No text to speak: the input is empty")
    check_speed(speed)
    if output is None and not play:
        play = True
    if output and output != "-":
        check_writable(output)
    format = format or (encode.format_from_path(output) if output and output != "-" else None)
    format = format or "wav"
    if play:
        from ..audio.playback import check_playback

        check_playback()
    recorder = captions.start(**captioning, raw=raw, stream=stream)

    speech_model = registry.find_model("speech", model)
    server = find_server(local, speech_model.model_id)
    timed = recorder is not None  # captions: the server sends the words' times too
    if stream:
        from ..streaming import read_incrementally, stream_speech

        speech_model.resolve_voice(voice)
        if server is None:
            speech_model.warm_up()  # load while the first sentence is still being written

        def speak_piece(piece):
            return _warm_or_local(speech_model, piece, voice, speed, language, False, server, True, timed)

        pieces = read_incrementally(sys.stdin.buffer)
        chunks = stream_speech(
            speech_model,
            recorder.reading(pieces) if recorder else pieces,
            voice=voice,
            speed=speed,
            language=language,
            normalize=not raw,
            speak=speak_piece,
        )
    else:
        chunks = _warm_or_local(speech_model, text, voice, speed, language, not raw, server, words=timed)
    if recorder:
        chunks = recorder.recording(chunks, None if stream else text, speech_model.model_id)
    deliver(chunks, output, format, play)


def _warm_or_local(speech_model, text, voice, speed, language, normalize, server, piece=False, words=False):
    """Speech from this machine's running server when there is one, else made here.

    Validated here first, so errors read the same either way; if the server cannot take
    the work before any audio has come back, it is done here after all. A ``piece`` of
    a stream (a few sentences) may have nothing to say; a whole text may not. A text longer
    than one server request takes is made here.
    """
    from ..server import MAX_SPEECH_INPUT
    from .warm import ServerUnavailable, speech_chunks

    if server is not None and not server["gone"] and len(text) <= MAX_SPEECH_INPUT:
        check_speed(speed)
        voice = speech_model.resolve_voice(voice)
        remote = speech_chunks(server, speech_model.model_id, text, voice, speed, language, normalize, words)
        try:
            first = next(remote)
        except ServerUnavailable:
            server["gone"] = True
        except StopIteration:
            if piece:
                return iter(())
            raise AudioError("No text to speak: the input is empty") from None
        else:
            import logging

            logging.getLogger("llm_mlx_audio").debug("speaking through the server at %s", server["url"])
            return _prepend(first, remote)
    return speech_model.iter_speech(text, voice=voice, speed=speed, language=language, normalize=normalize)


def _prepend(first, rest):
    yield first
    yield from rest


def deliver(chunks, output, format, play):
    """Write and/or play audio chunks as they come, so memory stays bounded and
    streamed speech starts at once. A file output appears only when complete."""
    import contextlib

    from ..files import atomic_output

    player = None
    encoder = None
    spoken = 0
    to_file = bool(output) and output != "-"
    with contextlib.ExitStack() as stack:
        sink = None
        if output == "-":
            sink = sys.stdout.buffer
        elif to_file:
            sink = stack.enter_context(atomic_output(output))
        try:
            for chunk in chunks:
                spoken += len(chunk.samples)
                if sink is not None:
                    if encoder is None:
                        # A file may be finished with a seek back (exact lengths in its header).
                        encoder = encode.StreamEncoder(format, chunk.sample_rate, seekable=to_file)
                    sink.write(encoder.write(chunk.samples))
                    sink.flush()
                if play:
                    if player is None:
                        from ..audio.playback import StreamPlayer

                        player = StreamPlayer(chunk.sample_rate)
                    player.feed(chunk.samples)
            if not spoken:
                raise AudioError("No text to speak: the input is empty")
            if encoder is not None:
                if to_file:
                    encoder.finish(sink)
                else:
                    sink.write(encoder.close())
                    sink.flush()
            if player is not None:
                player.finish()
        except BaseException:
            if player is not None:
                player.stop()
            chunks.close()
            raise
