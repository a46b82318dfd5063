"""`llm listen`: the microphone, transcribed one utterance at a time, a line each.

    llm listen | llm "turn this into a todo list"
    llm listen --until-silence 2 | llm speak
    llm listen >> notes.txt

Capture runs on PortAudio's thread into a bounded queue (audio/capture.py); this
loop feeds the VAD (the same one `llm transcribe` uses, on the MLX thread), cuts
utterances as they end (audio/utterances.py) and transcribes each one while capture
goes on. Times are on the recording's clock: seconds since listening began. With
`llm audio serve` running, each utterance is transcribed there (the model stays
warm; only the small VAD loads here), as exactly the samples captured.
"""

import json
import sys

import click

from ..errors import AudioError
from .user_errors import user_errors
from .verbose import show_details, verbose_option

RATE = 16000


@click.command()
@click.option("-m", "--model", help="Transcription model id or alias")
@click.option("-l", "--language", help="Language code, e.g. en (default: detect)")
@click.option("--device", help="Input device name (or part of it) or index; see `llm audio devices`")
@click.option("--duration", type=click.FloatRange(min=0.1), help="Stop after this many seconds")
@click.option(
    "--until-silence",
    type=click.FloatRange(min=0.1),
    help="Stop after this many seconds of silence following speech",
)
@click.option(
    "--pause",
    type=click.FloatRange(0.2, 10),
    default=0.8,
    show_default=True,
    help="Seconds of silence that end an utterance",
)
@click.option("--format", "format", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Append the lines to this file")
@click.option("--local", is_flag=True, help="Work in this process even when `llm audio serve` is running")
@verbose_option
@user_errors
def listen(model, language, device, duration, until_silence, pause, format, output, local, verbose):
    """
    Transcribe speech from the microphone as it is spoken

    Each utterance is printed as one line as soon as it ends (--format json: one
    object per utterance with start, end, text and language). Ctrl-C stops after
    the utterance in progress.

    \b
        llm listen | llm "summarize what I said"
        llm listen --until-silence 2 | llm speak
        llm listen --format json --duration 60 -o talk.jsonl
    """
    show_details(verbose)
    from .. import registry
    from ..audio.capture import Microphone, find_input
    from .utterance_stream import UtteranceStream
    from .warm import find_server

    transcription_model = registry.find_model("transcription", model)
    microphone = Microphone(find_input(device), rate=RATE)
    server = find_server(local, transcription_model.model_id)
    out = _open_output(output)
    try:
        with registry.speech_detector() as detector:
            if server is None:
                transcription_model.preload()
            with microphone:
                stream = UtteranceStream(microphone, detector, pause=pause, duration=duration)
                click.echo(f"Listening on {microphone.device['name']}; Ctrl-C to stop.", err=True)
                utterances = stream.utterances(until_silence)
                try:
                    for start, end, samples in utterances:
                        _emit(out, format, transcription_model, language, start, end, samples, server)
                except KeyboardInterrupt:  # finish the utterance in progress, then stop
                    microphone.stop()
                    for start, end, samples in stream.flush():
                        _emit(out, format, transcription_model, language, start, end, samples, server)
    finally:
        if out is not sys.stdout:
            out.close()


def _transcribe(model, samples, language, server):
    """One utterance's transcript: from the server while it answers, else made here."""
    if server is not None and not server["gone"]:
        from .warm import ServerUnavailable, exact_wav, transcript

        data = exact_wav(samples, RATE)
        if data is not None:
            try:
                result = transcript(
                    server, model.model_id, data, {"language": language}, False, {"vad": False}
                )
            except ServerUnavailable:
                server["gone"] = True  # the rest of the session is transcribed here
            else:
                import logging

                logging.getLogger("llm_mlx_audio").debug(
                    "transcribed through the server at %s", server["url"]
                )
                return result
    return model.transcribe(samples, language=language, vad=False)


def _emit(out, format, model, language, start, end, samples, server=None):
    if len(samples) < RATE // 10:
        return
    transcript = _transcribe(model, samples, language, server)
    if not transcript.text:
        return
    if format == "json":
        line = json.dumps(
            {
                "start": round(start / RATE, 3),
                "end": round(end / RATE, 3),
                "text": transcript.text,
                "language": transcript.language,
            },
            ensure_ascii=False,
        )
    else:
        line = transcript.text
    out.write(line + "\n")
    out.flush()


def _open_output(output):
    if not output:
        return sys.stdout
    try:
        return open(output, "a", encoding="utf-8")
    except OSError as e:
        raise AudioError(f"Cannot write {output}: {e.strerror}") from None
