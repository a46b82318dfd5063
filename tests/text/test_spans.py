"""Caption words keep their place in the text the user wrote (text/spans.py).

The spoken words are misaki's real tokens for the spoken text (Kokoro's English G2P, as
the engine runs it line by line), so what is checked is what `llm speak --captions` maps.
"""

import pytest
from caption_timing import MARKDOWN_ANSWERS

from llm_mlx_audio.models import Word
from llm_mlx_audio.text.spans import caption_words, clean_tracked, spoken_map
from llm_mlx_audio.text.spoken import clean


@pytest.fixture(scope="module")
def g2p():
    pytest.importorskip("misaki")
    from llm_mlx_audio.engine.patches.kokoro_g2p import english_g2p

    return english_g2p()


def spoken_words(g2p, text):
    words = []
    for line in text.split("\n"):
        if line.strip():
            _, tokens = g2p(line)
            words += [Word(0.0, 0.0, t.text) for t in tokens if any(c.isalnum() for c in t.text)]
    return words


def captions(g2p, source, normalize=True):
    words = caption_words(source, spoken_words(g2p, spoken_map(source, normalize).text), normalize)
    for w in words:
        assert w.word == source[w.char_start : w.char_end]
    return [(w.word, w.char_start, w.char_end) for w in words]


def test_a_bold_word_keeps_its_span_inside_the_markers(g2p):
    assert captions(g2p, "**Bold** claim") == [("Bold", 2, 6), ("claim", 9, 14)]


def test_a_number_with_commas_is_one_word_though_it_is_said_as_four(g2p):
    assert captions(g2p, "It costs 1,234 dollars.")[2] == ("1,234", 9, 14)


def test_a_url_said_as_its_host_keeps_the_whole_url(g2p):
    source = "Visit https://www.example.com/docs/setup, then rest."
    assert captions(g2p, source) == [
        ("Visit", 0, 5),
        ("https://www.example.com/docs/setup", 6, 40),
        ("then", 42, 46),
        ("rest", 47, 51),
    ]


def test_an_email_address_is_one_word(g2p):
    assert captions(g2p, "Write to ann.lee@example.com today")[2] == ("ann.lee@example.com", 9, 28)


def test_curly_apostrophes_stay_as_written(g2p):
    assert captions(g2p, "I don’t think it’s late") == [
        ("I", 0, 1),
        ("don’t", 2, 7),
        ("think", 8, 13),
        ("it’s", 14, 18),
        ("late", 19, 23),
    ]


def test_emoji_are_not_words_and_move_nothing(g2p):
    assert captions(g2p, "Good night 😴 and sleep well 🎉") == [
        ("Good", 0, 4),
        ("night", 5, 10),
        ("and", 13, 16),
        ("sleep", 17, 22),
        ("well", 23, 27),
    ]


def test_link_text_is_the_word_and_its_url_is_not_spoken(g2p):
    assert captions(g2p, "See [the guide](https://example.com/g) now") == [
        ("See", 0, 3),
        ("the", 5, 8),
        ("guide", 9, 14),
        ("now", 39, 42),
    ]


def test_code_spans_headings_and_list_markers(g2p):
    source = "## Setup\n\n- Run `make` first\n- *Then* rest\n\n```\nhidden code\n```\n"
    assert captions(g2p, source) == [
        ("Setup", 3, 8),
        ("Run", 12, 15),
        ("make", 17, 21),
        ("first", 23, 28),
        ("Then", 32, 36),
        ("rest", 38, 42),
    ]


def test_raw_text_maps_one_to_one(g2p):
    assert captions(g2p, "**Bold** 1,234", normalize=False)[-1] == ("1,234", 9, 14)


def test_the_three_markdown_answers_map_every_spoken_word_to_its_source(g2p):
    first = " ".join(w for w, _, _ in captions(g2p, MARKDOWN_ANSWERS[0]))
    assert first == (
        "Three tips for better sleep Go to bed at the same time every night Keep your bedroom dark "
        "see this guide for details Avoid coffee in the afternoon"
    )
    second = " ".join(w for w, _, _ in captions(g2p, MARKDOWN_ANSWERS[1]))
    assert second == (
        "Packing list Item Why Water Hydration Jacket Cold evenings Pack light travel far Heavy books "
        "Paperback novels one or two at most"
    )
    third = captions(g2p, MARKDOWN_ANSWERS[2])
    assert [w for w, _, _ in third] == [
        "Email",
        "support",
        "at",
        "help@example.com",
        "or",
        "visit",
        "https://example.com/docs/setup_guide",
        "That",
        "is",
        "all",
        "you",
        "need",
    ]


@pytest.mark.parametrize(
    "raw",
    [
        "plain words",
        "a 😴 b  c",
        "see https://x.org/a/b). and www.example.com.",
        "mail ann.lee@example.com, please",
        "snake_case_name and ✈️🌍 flags 🇬🇧",
        "`https://example.com/docs/setup_guide`",
    ],
)
def test_tracked_clean_says_exactly_what_clean_says(raw):
    assert "".join(c for c, _, _, _ in clean_tracked(raw)) == clean(raw)
