"""`llm audio chat`: a spoken conversation with any llm model.

Each utterance from the microphone is transcribed and sent as the next prompt of one
llm conversation; the reply is printed as it streams and spoken sentence by sentence
(the path of `llm speak --stream`, Markdown read as a person would read it). Every
exchange is logged to llm's logs.db, as `llm chat` does, so `llm logs -c` shows it
and `llm -c` can carry it on in text.

Half-duplex by default: the microphone is muted while the reply plays, so the loop
never answers itself through the speakers. With --barge-in (headphones) speech stops
the reply and is taken as the next prompt.
"""

import logging
import re
import sys
import time

import click

from ..errors import AudioError
from .user_errors import user_errors
from .verbose import show_details, verbose_option

logger = logging.getLogger(__name__)
FATAL_LLM_ERRORS = ("NeedsKeyException", "UnknownModelError")
#: Half-duplex keeps the microphone muted this long after the reply has played: the
#: room's echo, and the output's own buffering, outlast the last sample written.
ECHO_TAIL_SECONDS = 0.3


@click.command(name="chat")
@click.option("-m", "--model", "model_id", help="The llm model to talk to (default: llm's default model)")
@click.option("-s", "--system", help="System prompt")
@click.option("--voice", help="Voice (or blend) for the replies")
@click.option("--speech-model", help="Speech model id or alias")
@click.option("--transcription-model", help="Transcription model id or alias")
@click.option("-T", "--tool", "tools", multiple=True, help="An llm tool the model may call")
@click.option("--turns", type=click.IntRange(min=1), help="End after this many exchanges")
@click.option("--barge-in", is_flag=True, help="Speech interrupts the reply (use headphones)")
@click.option("--device", help="Input device name or index (see `llm audio devices`)")
@click.option("--output-device", help="Output device name or index")
@click.option("-n", "--no-log", is_flag=True, help="Don't log to llm's logs.db")
@click.option("--local", is_flag=True, help="Don't use a running `llm audio serve`; load the models here")
@verbose_option
@user_errors
def chat(
    model_id,
    system,
    voice,
    speech_model,
    transcription_model,
    tools,
    turns,
    barge_in,
    device,
    output_device,
    no_log,
    local,
    verbose,
):
    """
    Talk with an llm model: your speech in, its replies spoken

    \b
        llm audio chat -m gpt-4o-mini
        llm audio chat -m echo --turns 2
        llm audio chat -s "Answer in one sentence." --barge-in
    """
    show_details(verbose)
    from .. import chat_models, registry
    from ..audio.capture import Microphone, find_input, find_output
    from ..llm_models import log_response, logging_on
    from .chat_remote import chat_through_server
    from .utterance_stream import UtteranceStream

    language_model = chat_models.language_model(model_id)
    tool_defs = chat_models.tools(tools)
    # The server cannot be told not to log, nor to speak with another model: -n and
    # --speech-model chat here, as does a chat no running server takes (chat_remote.py).
    remote = dict(model_id=model_id, model_name=language_model.model_id, system=system, voice=voice)
    remote.update(transcription_model=transcription_model, tools=list(tools), turns=turns, barge_in=barge_in)
    remote.update(device=device, output_device=output_device, echo_tail=ECHO_TAIL_SECONDS)
    if not (no_log or speech_model) and chat_through_server(local, remote):
        return
    speaker = registry.find_model("speech", speech_model)
    listener = registry.find_model("transcription", transcription_model)
    voice = speaker.resolve_voice(voice)
    microphone = Microphone(find_input(device))
    output = find_output(output_device)
    conversation = language_model.conversation()
    log = not no_log and logging_on()
    exchanges = 0
    with registry.speech_detector() as detector:
        _warm_up(listener, speaker, voice)
        with microphone:
            stream = UtteranceStream(microphone, detector)
            click.echo(f"Talking with {language_model.model_id}; Ctrl-C to end.", err=True)
            try:
                for _, _, samples in stream.utterances():
                    began = time.perf_counter()
                    heard = listener.transcribe(samples, vad=False).text
                    logger.debug(
                        "heard %.1f s of speech, transcribed in %.2f s",
                        len(samples) / 16000,
                        time.perf_counter() - began,
                    )
                    if not heard:
                        continue
                    click.echo(f"you: {heard}")
                    kwargs = {"system": system} if system and exchanges == 0 else {}
                    if tool_defs:
                        kwargs["tools"] = tool_defs
                    response = conversation.chain(heard, **kwargs)
                    interrupted = _reply(
                        response, language_model.model_id, speaker, voice, output, stream, barge_in
                    )
                    if log and not interrupted:
                        log_response(response)
                    exchanges += 1
                    if turns and exchanges >= turns:
                        break
            except KeyboardInterrupt:
                click.echo("", err=True)


def _warm_up(listener, speaker, voice) -> None:
    """Load both models and run each once, so the first exchange is as quick as the rest
    (the first transcription and the voice's first use cost a second more)."""
    import numpy as np

    listener.preload()
    speaker.preload()
    listener.transcribe(np.zeros(16000, np.float32), vad=False)
    for _ in speaker.iter_speech("Hello.", voice=voice):
        pass


def _reply(response, model_id, speaker, voice, output, stream, barge_in) -> bool:
    """Print and speak the reply as it streams; True when speech interrupted it.

    Half-duplex: input is thrown away (in the capture callback) while the reply plays;
    what was said before it started is kept and is the next prompt.
    """
    from ..audio.playback import StreamPlayer
    from ..streaming import stream_speech

    click.echo(f"{model_id}: ", nl=False)
    failure = []

    def text():
        try:
            for chunk in response:
                click.echo(chunk, nl=False)
                sys.stdout.flush()
                yield chunk
        except Exception as e:  # noqa: BLE001  (a plugin's network or rate-limit error)
            failure.append(e)

    player = None  # opened with the first audio: a running stream slows the first sentence
    stream.microphone.muted = not barge_in
    try:
        began = time.perf_counter()
        for audio in stream_speech(speaker, text(), voice=voice):
            if began:
                logger.debug("first audio of the reply after %.2f s", time.perf_counter() - began)
                began = None
            if player is None:
                player = StreamPlayer(audio.sample_rate, device=output)
            player.feed(audio.samples)
            if barge_in and stream.speech_started():
                player.stop()
                click.echo(" [interrupted]")
                return True
        if player is not None:
            if barge_in:
                while not player.done(0.05):
                    if stream.speech_started():
                        player.stop()
                        click.echo(" [interrupted]")
                        return True
            player.finish()
            if not barge_in:
                time.sleep(ECHO_TAIL_SECONDS)
    finally:
        stream.microphone.muted = False
    click.echo()
    if failure:
        _llm_failed(failure[0], model_id, speaker, voice, output)
    return False


def _llm_failed(error, model_id, speaker, voice, output):
    """One line on stderr, and the same said aloud; fatal errors end the chat."""
    message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    message = re.sub(r"^Error code: (\d+)", r"HTTP \1", message)  # the OpenAI client's wording
    fatal = type(error).__name__ in FATAL_LLM_ERRORS
    if not fatal:  # a fatal one is printed once, as the chat ends
        click.echo(f"Error: {model_id}: {message}", err=True)
    from ..audio.playback import StreamPlayer
    from ..models import Audio

    audio = Audio.join(speaker.iter_speech(f"Sorry, that did not work: {message}", voice=voice))
    player = StreamPlayer(audio.sample_rate, device=output)
    player.feed(audio.samples)
    player.finish()
    if fatal:
        raise AudioError(f"{model_id}: {message}")
