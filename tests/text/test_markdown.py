"""Markdown read aloud: exact spoken text for each construct, and the map back to the source."""

import pytest

from llm_mlx_audio.text import prepare
from llm_mlx_audio.text.markdown import speakable
from llm_mlx_audio.text.spoken import clean, speak_email, speak_url


@pytest.mark.parametrize(
    "markdown, spoken",
    [
        ("# Three tips for better sleep", "Three tips for better sleep."),
        ("## Done!", "Done!"),
        ("Go to bed at the **same** time, *every* night.", "Go to bed at the same time, every night."),
        ("Avoid ~~coffee~~ tea after 2 p.m.", "Avoid coffee tea after 2 p.m."),
        ("Call `print()` to see it.", "Call print() to see it."),
        ("See [this guide](https://example.com/sleep) for details.", "See this guide for details."),
        ("![a sleeping cat](cat.png)", "a sleeping cat."),
        ("![](decoration.png)", ""),
        ("> Sleep is the best meditation.", "Sleep is the best meditation."),
        ("- one\n- two\n  - nested", "one.\ntwo.\nnested."),
        ("1. First step\n2. Second step", "First step.\nSecond step."),
        ("| Tip | Why |\n|---|---|\n| Dark room | Melatonin |", "Tip, Why.\nDark room, Melatonin."),
        ("```python\nprint('hello')\n```", ""),
        ("    indented = code\n", ""),
        ("Before.\n\n---\n\nAfter.", "Before.\nAfter."),
        ("<div>An <b>HTML</b> block</div>", "An HTML block."),
        ("Some <i>inline</i> HTML.", "Some inline HTML."),
        ("Sleep well 😴🛌 tonight ✨", "Sleep well tonight."),
        ("Visit https://www.example.com/a/b?c=1.", "Visit example dot com."),
        ("Mail ann.lee@example.co.uk today.", "Mail ann dot lee at example dot co dot uk today."),
        ("A line\nthat continues.", "A line that continues."),
        ("It costs 25 °C and © 2024.", "It costs 25 °C and © 2024."),
        ("Use snake_case names.", "Use snake case names."),
    ],
)
def test_each_construct_is_spoken_as_a_person_reads_it(markdown, spoken):
    assert speakable(markdown).text == spoken


def test_a_typical_llm_answer_reads_as_sentences():
    answer = (
        "# Three tips for better sleep\n\n"
        "1. **Go to bed** at the *same* time.\n"
        "2. See [this guide](https://example.com/x) for details. 😴\n\n"
        "```python\nprint('Hello')\n```\n"
        "Sleep well!"
    )
    assert prepare(answer) == (
        "Three tips for better sleep.\nGo to bed at the same time.\nSee this guide for details.\nSleep well!"
    )


@pytest.mark.parametrize("markdown", ["```\nonly code\n```", "😴 🛌 ✨", "---", "<br>", "![](x.png)"])
def test_text_with_nothing_to_say_becomes_empty(markdown):
    assert prepare(markdown) == ""


def test_plain_text_passes_through_unchanged():
    text = "Plain text, with commas. And two sentences!"
    assert prepare(text) == text


def test_every_spoken_piece_maps_back_to_its_source():
    source = "# Title here\n\nSome **bold** words and [a link](https://x.org).\n"
    spoken = speakable(source)
    pairs = [(spoken.text[p.start : p.end], source[p.source_start : p.source_end]) for p in spoken.pieces]
    assert pairs == [
        ("Title here", "Title here"),
        ("Some ", "Some "),
        ("bold", "bold"),
        (" words and ", " words and "),
        ("a link", "a link"),
        (".", "."),
    ]


def test_a_url_is_said_as_its_host():
    assert speak_url("https://www.Example.com:8080/path?q=1#frag") == "example dot com"
    assert speak_url("http://docs.python.org/3/") == "docs dot python dot org"
    assert clean("(see https://example.com/a).") == "(see example dot com)."


def test_an_email_address_is_said_as_a_person_says_it():
    assert speak_email("ann@example.com") == "ann at example dot com"


def test_emoji_with_joiners_and_skin_tones_vanish_whole():
    assert clean("Team 👩🏽‍💻 and family 👨‍👩‍👧 and 🇫🇷 flag") == "Team and family and flag"
