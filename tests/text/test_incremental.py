"""Markdown streamed in arbitrary pieces reads exactly like the whole text, and starts early."""

import pytest

from llm_mlx_audio.text import prepare, prepare_stream
from llm_mlx_audio.text.incremental import MarkdownStream

ANSWERS = [
    "# Three tips for better sleep\n\n"
    "1. **Go to bed** at the *same* time. Every day, even at weekends.\n"
    "2. Avoid ~~coffee~~ after [2 p.m.](https://example.com/x) 😴\n"
    "   - nested `item` here.\n\n"
    "Some prose follows. It has two sentences! And a URL: https://www.example.com/page.\n\n"
    "```python\nprint('hello')\n# never spoken\n```\n\n"
    "| Tip | Why |\n|---|---|\n| Dark | Melatonin |\n\n"
    "> Sleep is good. Really.\n",
    "Plain prose without any markup. A second sentence follows here, and a third one ends it.",
    "Intro line.\n\n    indented code. more code.\n\nOutro, with *emphasis* and __strong__ words.",
    "Before code.\n```\nthis fence is never closed. print(1)\n",
]


def _streamed(pieces):
    """What the pieces say, spaces at line ends aside (an early sentence is released with
    the space after it)."""
    text = "".join(prepare_stream(pieces))
    return "\n".join(line.strip() for line in text.strip().splitlines())


@pytest.mark.parametrize("answer", ANSWERS, ids=range(len(ANSWERS)))
def test_every_split_point_gives_the_same_words_as_the_whole(answer):
    whole = prepare(answer)
    for cut in range(len(answer) + 1):
        assert _streamed([answer[:cut], answer[cut:]]) == whole, cut


@pytest.mark.parametrize("answer", ANSWERS, ids=range(len(ANSWERS)))
def test_character_by_character_gives_the_same_words_as_the_whole(answer):
    assert _streamed(list(answer)) == prepare(answer)


def test_the_first_sentence_is_released_before_the_paragraph_ends():
    stream = MarkdownStream()
    assert stream.feed("First sentence is here. Second sen") == "First sentence is here. "


def test_a_bold_run_split_across_writes_is_never_spoken_as_asterisks():
    stream = MarkdownStream()
    out = [
        stream.feed("Go to bed at the **sa"),
        stream.feed("me** time. Then"),
        stream.feed(" rest."),
        stream.close(),
    ]
    assert "*" not in "".join(out)
    assert "".join(out).strip() == "Go to bed at the same time. Then rest."


def test_nothing_inside_an_open_code_fence_is_released():
    stream = MarkdownStream()
    released = stream.feed("Intro.\n\n```\nprint('x'). y = 1. ")
    for chunk in ["z = 2. ", "w = 3.\n", "more code. "]:
        released += stream.feed(chunk)
    assert released.strip() == "Intro."
    released += stream.feed("\n```\nAfter the code.")
    released += stream.close()
    assert "print" not in released and "z = 2" not in released
    assert released.strip() == "Intro.\nAfter the code."


@pytest.mark.parametrize("answer", ANSWERS, ids=range(len(ANSWERS)))
def test_streamed_sentences_are_the_whole_texts_sentences(answer):
    """What the speech model gets, sentence by sentence, whatever the pieces."""
    from llm_mlx_audio.text.sentences import split_sentences, stream_sentences

    pieces = [answer[i : i + 3] for i in range(0, len(answer), 3)]
    assert list(stream_sentences(prepare_stream(pieces))) == split_sentences(prepare(answer))
