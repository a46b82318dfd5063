"""`llm audio speakers ...`: enrolling voices that `llm transcribe --diarize` then names.

Enrolling computes voice vectors on this machine (the diarizer's encoder) and stores
only them (speakers/enrolled.py); the clips are read, never kept.
"""

import json
from pathlib import Path

import click

from ..errors import AudioError
from .user_errors import user_errors


@click.group()
def speakers():
    """
    Enrolled voices: names that `llm transcribe --diarize` gives the speakers it recognises

    \b
        llm audio speakers add Ana ana-memo.m4a
        llm audio speakers add Ben --from meeting.m4a --speaker SPEAKER_2
        llm audio speakers list
        llm transcribe meeting.m4a --diarize

    Only voice vectors (256 numbers a name) are stored, in llm's user directory; no audio.
    """


@speakers.command()
@click.argument("name")
@click.argument("files", nargs=-1)
@click.option("--from", "recording", help="A recording to take the voice from (diarized here)")
@click.option("--speaker", "label", help="With --from: the speaker's label, e.g. SPEAKER_2")
@user_errors
def add(name, files, recording, label):
    """
    Enrol NAME from clips of that person's voice, or from one speaker of a recording

    \b
        llm audio speakers add Ana ana-1.m4a ana-2.wav
        llm audio speakers add Ben --from meeting.m4a --speaker SPEAKER_2

    Speakers of --from are numbered as `llm transcribe --diarize` numbers them. A name
    already enrolled is extended: its vector becomes the mean over old and new speech.
    A few clips of 10 to 30 s of speech each are plenty.
    """
    from .. import registry
    from ..speakers import enrolled

    name = enrolled.check_name(name)
    if recording and files:
        raise AudioError("Give either clips or --from RECORDING --speaker LABEL, not both")
    if not recording and not files:
        raise AudioError("Give one or more clips of the voice, or --from RECORDING --speaker LABEL")
    if bool(recording) != bool(label):
        raise AudioError("--from and --speaker go together: --from meeting.m4a --speaker SPEAKER_2")
    for file in [recording] if recording else files:
        if not Path(file).is_file():
            raise AudioError(f"{file}: no such file")
    if recording:
        found = registry.recording_speakers(recording)
        label = label.strip().upper()
        if label not in found:
            raise AudioError(f"{recording} has no speaker {label}; it has {', '.join(found)}")
        vector, windows = found[label]
        source = f"{label} of {recording}"
    else:
        found = registry.voice_vectors(files)
        for file, (vector, _) in zip(files, found, strict=True):
            if vector is None:
                raise AudioError(f"{file}: no speech found in it")
        vector = sum(vector * count for vector, count in found)  # weighed by windows; stored normalised
        windows = sum(count for _, count in found)
        source = f"{len(files)} clip{'s' if len(files) > 1 else ''}"
    entry, extended = enrolled.add(name, vector, windows)
    if extended:
        click.echo(
            f"Extended {name} with {windows} windows of speech from {source} "
            f"(now {entry['windows']}, averaged)",
            err=True,
        )
    else:
        click.echo(f"Enrolled {name} from {source} ({windows} windows of speech)", err=True)


@speakers.command(name="list")
@click.option("--json", "as_json", is_flag=True, help="Output as JSON")
@user_errors
def list_(as_json):
    "List the enrolled voices"
    from ..speakers import enrolled

    rows = [
        {"name": name, "windows": e["windows"], "created": e["created"], "updated": e.get("updated")}
        for name, e in enrolled.load().items()
    ]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        click.echo("No voices enrolled yet: see `llm audio speakers add --help`", err=True)
        return
    for row in rows:
        click.echo(f"{row['name']} ({row['windows']} windows, enrolled {row['created']})")


@speakers.command()
@click.argument("name")
@user_errors
def remove(name):
    "Forget an enrolled voice"
    from ..speakers import enrolled

    enrolled.remove(name)
    click.echo(f"Removed {name}", err=True)


@speakers.command()
@click.argument("old")
@click.argument("new")
@user_errors
def rename(old, new):
    "Give an enrolled voice another name"
    from ..speakers import enrolled

    enrolled.rename(old, new)
    click.echo(f"Renamed {old} to {new.strip()}", err=True)
