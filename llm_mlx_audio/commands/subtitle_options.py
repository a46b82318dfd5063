"""--max-line-chars, --max-lines, --max-cue-seconds, --highlight-words: subtitle rules on the command line.

One decorator adds the four options and hands the command a single ``subtitles`` dict
(only the options given), so any command that writes srt or vtt gains them with two
lines. The values are read here rather than by click's ranges: click answers a bad one
with three lines (usage, hint, error); audio/subtitles.check_rules says it in one.
"""

import functools

import click

from ..audio.subtitles import MAX_CUE_SECONDS, MAX_LINE_CHARS, MAX_LINES, check_rules
from ..errors import AudioError

SUBTITLE_FORMATS = ("srt", "vtt")


def subtitle_options(command):
    """Add the four options; the command receives them as subtitles={name: value given}."""

    @functools.wraps(command)
    def wrapper(*args, max_line_chars, max_lines, max_cue_seconds, highlight_words, **kwargs):
        given = dict(max_line_chars=max_line_chars, max_lines=max_lines, max_cue_seconds=max_cue_seconds)
        given = {name: value for name, value in given.items() if value is not None}
        if highlight_words:
            given["highlight_words"] = True
        return command(*args, subtitles=given, **kwargs)

    options = [
        click.option(
            "--max-line-chars",
            metavar="N",
            help=f"srt/vtt: characters a subtitle line holds at most [default: {MAX_LINE_CHARS}]",
        ),
        click.option(
            "--max-lines", metavar="N", help=f"srt/vtt: lines a cue holds at most [default: {MAX_LINES}]"
        ),
        click.option(
            "--max-cue-seconds",
            metavar="S",
            help=f"srt/vtt: seconds a cue stays on screen at most [default: {MAX_CUE_SECONDS:g}]",
        ),
        click.option(
            "--highlight-words",
            is_flag=True,
            help="srt/vtt: karaoke cues, each word highlighted as it is said",
        ),
    ]
    for option in reversed(options):
        wrapper = option(wrapper)
    return wrapper


def subtitle_rules(format: str, subtitles: dict) -> dict:
    """The options as format_transcript's keywords, checked: one line for a value out of
    range, or for options given with a format that has no cues."""
    if not subtitles:
        return {}
    if format not in SUBTITLE_FORMATS:
        names = ", ".join("--" + name.replace("_", "-") for name in subtitles)
        raise AudioError(f"{names} only apply to --format srt or vtt, not {format}")
    rules = dict(subtitles)
    for name, kind in (("max_line_chars", int), ("max_lines", int), ("max_cue_seconds", float)):
        if name in rules:
            rules[name] = _number(rules[name], kind)
    check_rules(
        rules.get("max_line_chars", MAX_LINE_CHARS),
        rules.get("max_lines", MAX_LINES),
        rules.get("max_cue_seconds", MAX_CUE_SECONDS),
        prefix="--",
    )
    return rules


def _number(text: str, kind):
    """text as an int or float; text itself when it is not one (check_rules then refuses it)."""
    try:
        return kind(text)
    except ValueError:
        return text
