"""`llm transcribe`: speech in, text out."""

import json
import sys
from pathlib import Path

import click

from ..audio import writers
from ..errors import AudioError
from . import user_errors


@click.command()
@click.argument("files", nargs=-1, required=True)
@click.option("-m", "--model", help="Transcription model id or alias")
@click.option("-l", "--language", help="Language code, e.g. en (default: detect)")
@click.option(
    "--format",
    "format",
    type=click.Choice(writers.FORMATS),
    default="text",
    show_default=True,
    help="Transcript format",
)
@click.option("--prompt", help="Initial prompt: spellings, names, style")
@click.option("--temperature", type=click.FloatRange(0, 1), help="Sampling temperature")
@click.option("--word-timestamps", is_flag=True, help="Include word timings (verbose_json)")
@click.option("-o", "--output", help="Write the transcript to this file")
@click.option(
    "--output-dir",
    type=click.Path(file_okay=False),
    help="Write one transcript per input into this directory",
)
@click.option("--force", is_flag=True, help="With --output-dir, redo inputs already transcribed")
@click.option("-n", "--no-log", is_flag=True, help="Don't log to llm's logs.db")
@user_errors
def transcribe(
    files, model, language, format, prompt, temperature, word_timestamps, output, output_dir, force, no_log
):
    """
    Turn speech into text

    Reads wav, mp3, flac, ogg/opus, m4a/aac, webm and the audio of video files;
    '-' reads audio from standard input. The model loads once for all files.

    \b
        llm transcribe memo.m4a
        llm transcribe memo.m4a | llm "list the action items"
        cat memo.m4a | llm transcribe -
        llm transcribe *.mp3 --output-dir subtitles --format srt
    """
    from .. import registry
    from ..files import check_writable, write_atomically

    if output and output_dir:
        raise AudioError("Use either -o or --output-dir, not both")
    if files.count("-") > 1:
        raise AudioError("Standard input can only be read once")
    if output:
        check_writable(output)
    if len(files) > 1 and not output_dir and format in ("srt", "vtt"):
        raise AudioError(f"Several files make several {format} files: use --output-dir")
    jobs = [(name, _destination(name, output_dir, format)) for name in files]
    if output_dir:
        Path(output_dir).mkdir(parents=True, exist_ok=True)
        check_writable(Path(output_dir) / ".probe")
        if not force:
            skipped = [name for name, dest in jobs if dest.exists()]
            for name in skipped:
                click.echo(f"Skipping {name}: already transcribed (use --force)", err=True)
            jobs = [(name, dest) for name, dest in jobs if not dest.exists()]
    for name, _ in jobs:
        if name != "-" and not Path(name).exists():
            if len(files) == 1:
                raise AudioError(f"{name}: no such file")

    transcription_model = registry.find_model("transcription", model)
    options = dict(language=language, prompt=prompt, temperature=temperature)
    log = not no_log and _logging_on() and _is_llm_model(transcription_model.model_id)
    failures = []
    results = []
    for name, dest in _progress(jobs):
        try:
            source = sys.stdin.buffer.read() if name == "-" else name
            if log and not word_timestamps:
                transcript = _transcribe_logged(transcription_model.model_id, source, options)
            else:
                transcript = transcription_model.transcribe(
                    source, word_timestamps=word_timestamps, **options
                )
            if dest is not None:
                write_atomically(dest, writers.format_transcript(transcript, format).encode())
            else:
                results.append((name, transcript))
        except AudioError as e:
            if len(files) == 1:
                raise
            failures.append((name, str(e)))
            click.echo(f"Error: {name}: {e}", err=True)

    if results:
        text = _combine(results, format)
        if output:
            write_atomically(output, text.encode())
        else:
            click.echo(text, nl=False)
    if failures:
        raise AudioError(f"{len(failures)} of {len(files)} files failed: " + ", ".join(n for n, _ in failures))


def _logging_on():
    from llm.cli import logs_on

    return logs_on()


def _is_llm_model(model_id):
    import llm

    try:
        llm.get_model(model_id)
    except llm.UnknownModelError:
        return False  # e.g. a local folder given as -m: nothing to log it under
    return True


def _transcribe_logged(model_id, source, options):
    """Transcribe through the llm model of the same id, so the prompt lands in logs.db."""
    import llm
    from llm.cli import logs_db_path
    from llm.migrations import migrate
    import sqlite_utils

    from ..transcript_cache import transcript_from_dict

    from ..audio.codec import decode_audio
    from ..llm_models import attachment_type

    # Decode first: bad input gets the same one-line errors as without logging,
    # and llm's attachment checks only ever see real audio.
    decode_audio(source, name="<stdin>" if isinstance(source, bytes) else None)
    llm_model = llm.get_model(model_id)
    if isinstance(source, str):
        path = str(Path(source).resolve())
        attachment = llm.Attachment(path=path, type=attachment_type(path))
    else:
        attachment = llm.Attachment(content=source, type=attachment_type(None))
    llm_options = {
        "language": options["language"],
        "temperature": options["temperature"],
        "initial_prompt": options["prompt"],
    }
    llm_options = {k: v for k, v in llm_options.items() if v is not None}
    try:
        response = llm_model.prompt("", attachments=[attachment], stream=False, **llm_options)
        response.text()
    except llm.ModelError as e:
        raise AudioError(str(e)) from None
    db = sqlite_utils.Database(logs_db_path())
    migrate(db)
    response.log_to_db(db)
    return transcript_from_dict(response.response_json["transcripts"][0])


def _destination(name, output_dir, format):
    if not output_dir:
        return None
    stem = "stdin" if name == "-" else Path(name).stem
    return Path(output_dir) / f"{stem}.{writers.EXTENSIONS[format]}"


def _combine(results, format):
    if len(results) == 1:
        return writers.format_transcript(results[0][1], format)
    if format == "text":
        return "".join(writers.format_transcript(t, "text") for _, t in results)
    shape = writers.as_verbose_json if format == "verbose_json" else writers.as_json
    combined = [{"file": name, **shape(t)} for name, t in results]
    return json.dumps(combined, ensure_ascii=False, indent=2) + "\n"


def _progress(jobs):
    if len(jobs) < 2:
        return jobs
    from tqdm import tqdm

    return tqdm(jobs, desc="Transcribing", unit="file", file=sys.stderr, disable=None)
