"""`llm audio vocabulary`: the words every transcription should get right.

    llm audio vocabulary add kubectl Anthropic "Ngozi Okafor"
    llm audio vocabulary add "kube cuddle=kubectl"
    llm audio vocabulary list [--json]
    llm audio vocabulary remove kubectl "kube cuddle"

Stored in llm's user directory (vocabulary/store.py) and used by `llm transcribe`, the
transcript: fragments and `llm audio serve` until removed.
"""

import json

import click

from ..errors import AudioError
from .user_errors import user_errors


@click.group()
def vocabulary():
    """
    Words transcriptions should get right: terms and corrections

    A term (kubectl, Anthropic) goes into Whisper's prompt for every window;
    a correction (heard=meant) replaces what the model still mishears, after
    decoding, for every model. `llm transcribe --no-vocabulary` leaves them out.
    """


@vocabulary.command()
@click.argument("entries", nargs=-1, required=True)
@user_errors
def add(entries):
    """
    Add terms, or corrections written heard=meant

    \b
        llm audio vocabulary add kubectl Anthropic "Ngozi Okafor"
        llm audio vocabulary add "kube cuddle=kubectl" "and tropic=Anthropic"
    """
    from ..vocabulary import parse_entry, store

    parsed = [parse_entry(entry) for entry in entries]  # all checked before anything is stored
    stored = store.load()
    for entry in parsed:
        stored.add(entry)
    store.save(stored)
    click.echo(f"Vocabulary: {len(stored.terms)} terms, {len(stored.corrections)} corrections", err=True)


@vocabulary.command(name="list")
@click.option("--json", "as_json", is_flag=True, help="Output as JSON")
@user_errors
def list_(as_json):
    "List the stored terms and corrections"
    from ..vocabulary import store

    stored = store.load()
    if as_json:
        click.echo(json.dumps(stored.to_dict(), ensure_ascii=False, indent=2))
        return
    for term in stored.terms:
        click.echo(term)
    for correction in stored.corrections:
        click.echo(str(correction))


@vocabulary.command()
@click.argument("entries", nargs=-1, required=True)
@user_errors
def remove(entries):
    """
    Remove terms or corrections (a correction by its heard phrase, or heard=meant)

    \b
        llm audio vocabulary remove kubectl "kube cuddle"
    """
    from ..vocabulary import store
    from ..vocabulary.entries import key

    stored = store.load()
    wanted = [key(entry.partition("=")[0]) for entry in entries]
    known = {key(t) for t in stored.terms} | {key(c.heard) for c in stored.corrections}
    missing = [entry for entry, k in zip(entries, wanted, strict=True) if k not in known]
    if missing:
        raise AudioError("Not in the vocabulary: " + ", ".join(repr(m) for m in missing))
    stored.terms = [t for t in stored.terms if key(t) not in wanted]
    stored.corrections = [c for c in stored.corrections if key(c.heard) not in wanted]
    store.save(stored)
    click.echo(f"Vocabulary: {len(stored.terms)} terms, {len(stored.corrections)} corrections", err=True)
