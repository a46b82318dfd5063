"""`llm transcribe`: speech in, text out."""

import json
import math
import os
import sys
from collections import Counter
from pathlib import Path

import click

from ..audio import writers
from ..audio.speech_regions import VadOptions
from ..errors import AudioError
from ..models import DEFAULT_BATCH_SIZE, TASKS
from .subtitle_options import subtitle_options, subtitle_rules
from .user_errors import user_errors
from .verbose import quiet_notices, show_details, verbose_option


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
@click.option(
    "--task",
    type=click.Choice(TASKS),
    default="transcribe",
    show_default=True,
    help="translate: English text from speech in any language (multilingual models)",
)
@click.option("--no-vad", is_flag=True, help="Decode all the audio, pauses too (no voice activity detection)")
@click.option(
    "--vad-threshold",
    type=click.FloatRange(0.05, 0.95),
    default=VadOptions.threshold,
    show_default=True,
    help="Speech probability that starts speech (higher: stricter)",
)
@click.option(
    "--min-silence",
    type=click.FloatRange(0.1, 30),
    default=VadOptions.min_silence_ms / 1000,
    show_default=True,
    help="Seconds of silence that end a stretch of speech",
)
@click.option(
    "--batch-size",
    type=click.IntRange(1, 64),
    default=DEFAULT_BATCH_SIZE,
    show_default=True,
    help="Speech windows decoded at once",
)
@click.option("--diarize", is_flag=True, help="Label who spoke when (SPEAKER_1, SPEAKER_2, ...)")
@click.option(
    "--speakers", "speaker_count", help="How many speakers there are (default: estimated); implies --diarize"
)
@click.option(
    "--speaker-names", help='Names for the speakers in order of appearance, e.g. "Ana,Ben"; implies --diarize'
)
@click.option(
    "--no-enrolled-speakers",
    is_flag=True,
    help="Don't name speakers by the voices enrolled with `llm audio speakers add`",
)
@click.option(
    "--vocabulary",
    "vocabulary_file",
    type=click.Path(dir_okay=False),
    help="A file of terms and heard=meant corrections, one a line, added to `llm audio vocabulary`'s",
)
@click.option("--no-vocabulary", is_flag=True, help="Leave out the stored vocabulary (terms and corrections)")
@click.option(
    "--max-audio-minutes",
    type=click.FloatRange(0, min_open=True),
    help="Refuse audio longer than this, checked while it decodes (default: no limit)",
)
@click.option("-q", "--quiet", is_flag=True, help="No progress bar")
@click.option("-o", "--output", help="Write the transcript to this file")
@click.option(
    "--output-dir",
    type=click.Path(file_okay=False),
    help="Write one transcript per input into this directory: memo.mp3 -> memo.txt. Inputs that would "
    "share a name keep their extension (memo.mp3.txt, memo.wav.txt), then add -2, -3... in the order "
    "given (memo.wav-2.txt); an input given twice is transcribed once",
)
@click.option("--force", is_flag=True, help="With --output-dir, redo inputs already transcribed")
@click.option("-n", "--no-log", is_flag=True, help="Don't log to llm's logs.db")
@click.option("--local", is_flag=True, help="Work in this process even when `llm audio serve` is running")
@subtitle_options
@verbose_option
@user_errors
def transcribe(
    files,
    model,
    language,
    format,
    prompt,
    temperature,
    word_timestamps,
    task,
    no_vad,
    vad_threshold,
    min_silence,
    batch_size,
    diarize,
    speaker_count,
    speaker_names,
    no_enrolled_speakers,
    vocabulary_file,
    no_vocabulary,
    max_audio_minutes,
    quiet,
    output,
    output_dir,
    force,
    no_log,
    local,
    verbose,
    subtitles,
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
        llm transcribe interview.mp3 --task translate
        llm transcribe meeting.m4a --diarize --speaker-names "Ana,Ben"

    Silence, noise and music are skipped (voice activity detection) and the
    speech is decoded in batches of windows; --no-vad decodes everything.
    --max-audio-minutes refuses longer audio (a small file can decode to hours)
    and always works in this process.
    """
    show_details(verbose)
    cue_rules = subtitle_rules(format, subtitles)
    # Output for programs: no advice on stderr while this command runs (restored after).
    click.get_current_context().with_resource(
        quiet_notices(format in ("json", "verbose_json", "diarized_json"))
    )
    from .. import registry, speakers
    from ..files import check_writable, write_atomically
    from ..llm_models import log_transcript
    from ..models import check_diarization, check_task
    from ..speakers.matching import name_enrolled

    count = _speaker_count(speaker_count)
    from ..vocabulary import for_run

    vocab = for_run(vocabulary_file, use_stored=not no_vocabulary)
    max_seconds = _seconds(max_audio_minutes)
    names = speakers.parse_names(speaker_names, count)
    diarize = diarize or count is not None or bool(names) or format == "diarized_json"
    if output and output_dir:
        raise AudioError("Use either -o or --output-dir, not both")
    if files.count("-") > 1:
        raise AudioError("Standard input can only be read once")
    if output:
        check_writable(output)
    if len(files) > 1 and not output_dir and format in ("srt", "vtt"):
        raise AudioError(f"Several files make several {format} files: use --output-dir")
    if output_dir:
        files = _unique_inputs(files)
    jobs = list(zip(files, _destinations(files, output_dir, format), strict=True))
    if output_dir:
        Path(output_dir).mkdir(parents=True, exist_ok=True)
        check_writable(Path(output_dir) / ".probe")
        if not force:
            skipped = [name for name, dest in jobs if dest.exists()]
            for name in skipped:
                click.echo(f"Skipping {name}: already transcribed (use --force)", err=True)
            jobs = [(name, dest) for name, dest in jobs if not dest.exists()]
    for name, _ in jobs:
        if name != "-" and not Path(name).exists() and len(files) == 1:
            raise AudioError(f"{name}: no such file")

    transcription_model = registry.find_model("transcription", model)
    check_task(transcription_model, task)
    check_diarization(transcription_model, diarize)
    # Subtitle cues are cut at word times: computed when the model can give them.
    word_timestamps = word_timestamps or (
        format in ("srt", "vtt") and transcription_model.supports_word_timestamps
    )
    from .warm import find_server

    # A limit is kept here: the server's own limit (if any) is not this one.
    # A vocabulary other than the stored one (which the server applies itself) is applied here.
    server = find_server(
        local or max_seconds is not None or no_vocabulary or vocabulary_file is not None,
        transcription_model.model_id,
    )
    options = dict(language=language, prompt=prompt, temperature=temperature)
    long_form = dict(
        task=task,
        vad=not no_vad,
        vad_options=VadOptions(threshold=vad_threshold, min_silence_ms=int(min_silence * 1000)),
        batch_size=batch_size,
        progress=not quiet,
    )
    if diarize:
        long_form.update(diarize=True, speakers=count)
    log = not no_log and _loggable(transcription_model.model_id)
    failures = []
    results = []
    for name, dest in _progress(jobs):
        try:
            source = sys.stdin.buffer.read() if name == "-" else name
            transcript = _warm_or_local(
                transcription_model, source, options, word_timestamps, long_form, server, max_seconds,
                enrolled=diarize and not no_enrolled_speakers, vocab=vocab,
            )  # fmt: skip
            if diarize and not no_enrolled_speakers:
                name_enrolled(transcript)
            if names:
                speakers.rename(transcript, names)
            if log:
                log_transcript(transcription_model.model_id, source, transcript, {**options, "task": task})
            if dest is not None:
                write_atomically(dest, writers.format_transcript(transcript, format, **cue_rules).encode())
            else:
                results.append((name, transcript))
        except AudioError as e:
            if len(files) == 1:
                raise
            failures.append((name, str(e)))
            click.echo(f"Error: {name}: {e}", err=True)

    if results:
        text = _combine(results, format, cue_rules)
        if output:
            write_atomically(output, text.encode())
        else:
            click.echo(text, nl=False)
    if failures:
        raise AudioError(
            f"{len(failures)} of {len(files)} files failed: " + ", ".join(n for n, _ in failures)
        )


def _warm_or_local(
    model, source, options, word_timestamps, long_form, server, max_seconds=None, enrolled=True, vocab=None
):
    """The transcript from this machine's running server when it can, else made here (the
    server names enrolled voices itself unless enrolled is False; vocab: the run's vocabulary,
    which a server replaces with its stored one)."""
    from .warm import ServerUnavailable, transcript

    if server is not None:
        if not isinstance(source, bytes) and not Path(source).is_file():
            raise AudioError(f"{source}: no such file")
        try:
            extra = {} if enrolled or not long_form.get("diarize") else {"enrolled_speakers": "false"}
            return transcript(server, model.model_id, source, options, word_timestamps, long_form, extra)
        except ServerUnavailable:
            pass
    from ..vocabulary import transcribe as transcribe_with

    return transcribe_with(
        model, source, vocab, max_seconds, word_timestamps=word_timestamps, **options, **long_form
    )


def _seconds(minutes):
    """--max-audio-minutes in seconds (None: no limit); NaN, which click's range lets by, refused."""
    if minutes is None:
        return None
    if math.isnan(minutes):
        raise AudioError("--max-audio-minutes must be a number of minutes above 0, not nan")
    return minutes * 60


def _speaker_count(value):
    """--speakers as a number of speakers, or one line saying what it must be."""
    if value is None:
        return None
    from ..audio.speaker_clustering import MAX_SPEAKERS

    try:
        count = int(value)
    except ValueError:
        count = 0
    if not 1 <= count <= MAX_SPEAKERS:
        raise AudioError(f"--speakers must be a whole number from 1 to {MAX_SPEAKERS}, not {value!r}")
    return count


def _loggable(model_id):
    """Logs on, and a model llm knows by this id (a bare folder given as -m is not one)."""
    from ..llm_models import logging_on

    return logging_on() and not Path(model_id).is_absolute()


def _unique_inputs(files):
    """Each input once (x.wav and ./x.wav are one), so it is not transcribed into two names."""
    first = {}
    for name in files:
        first.setdefault(name if name == "-" else os.path.realpath(name), name)
    return tuple(first.values())


def _destinations(files, output_dir, format):
    """A different output file for each input, decided before any work: a/x.mp3 and b/x.wav
    must not both write x.txt, the second silently replacing the first.

    A stem only one input has names it alone (x.txt); inputs sharing a stem keep their
    extension (x.mp3.txt, x.wav.txt); later inputs still alike add -2, -3... (x.wav-2.txt).
    Names differing only in case count as alike: macOS and Windows disks do not tell them apart.
    """
    if not output_dir:
        return [None] * len(files)
    stems = ["stdin" if name == "-" else Path(name).stem for name in files]
    counts = Counter(stem.casefold() for stem in stems)
    bases = [
        Path(name).name if counts[stem.casefold()] > 1 and name != "-" else stem
        for name, stem in zip(files, stems, strict=True)
    ]
    taken = {base.casefold() for base in bases}
    seen = set()
    names = []
    for base in bases:
        name = base
        if base.casefold() in seen:
            number = 2
            while f"{base}-{number}".casefold() in taken:
                number += 1
            name = f"{base}-{number}"
            taken.add(name.casefold())
        seen.add(base.casefold())
        names.append(Path(output_dir) / f"{name}.{writers.EXTENSIONS[format]}")
    return names


def _combine(results, format, cue_rules=None):
    if len(results) == 1:
        return writers.format_transcript(results[0][1], format, **(cue_rules or {}))
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
