"""Sentence splitting for whole texts and for text still streaming in."""

import pytest

from llm_mlx_audio.text.sentences import SentenceStream, join_piece, speech_pieces, split_sentences


@pytest.mark.parametrize(
    "text,expected",
    [
        ("One. Two! Three?", ["One.", "Two!", "Three?"]),
        ("Dr. Smith met Mr. Jones.", ["Dr. Smith met Mr. Jones."]),
        ("It costs 3.14 dollars. Cheap.", ["It costs 3.14 dollars.", "Cheap."]),
        ("Wait... what? No.", ["Wait... what?", "No."]),
        ("He left... Then she came.", ["He left...", "Then she came."]),
        ('"Stop!" she said. He did.', ['"Stop!" she said.', "He did."]),
        ('She said "go." Then left.', ['She said "go."', "Then left."]),
        ("Made in the U.S.A. by hand.", ["Made in the U.S.A. by hand."]),
        ("Use e.g. this one. Fine.", ["Use e.g. this one.", "Fine."]),
        ("J. R. R. Tolkien wrote it.", ["J. R. R. Tolkien wrote it."]),
        ("Items:\n- apples\n- pears\n", ["Items:", "- apples", "- pears"]),
        ("1. first\n2. second", ["1. first", "2. second"]),
        ("Para one\n\nPara two", ["Para one", "Para two"]),
        ("line one\nstill the same sentence.", ["line one still the same sentence."]),
        ("Really?! Yes.", ["Really?!", "Yes."]),
        ("No ending", ["No ending"]),
        ("   ", []),
    ],
)
def test_split_sentences(text, expected):
    assert split_sentences(text) == expected


def test_a_run_on_line_is_cut_at_a_sensible_length():
    text = ", ".join(f"clause number {i}" for i in range(60))
    pieces = split_sentences(text, max_chars=120)
    assert len(pieces) > 5
    assert all(len(p) <= 121 for p in pieces)
    assert all(p.endswith(",") for p in pieces[:-1])  # cut after a comma, not mid-word
    assert " ".join(pieces) == text


def test_streaming_gives_the_same_sentences_as_the_whole_text():
    text = 'Dr. Who arrived at 5 p.m. on Monday. "Hello!" he said... Then: silence. It cost $3.50.\n- a\n- b'
    stream = SentenceStream()
    got = []
    for ch in text:
        got += stream.feed(ch)
    got += stream.flush()
    assert got == split_sentences(text)


def test_a_plain_sentence_is_released_as_soon_as_it_ends():
    stream = SentenceStream()
    assert stream.feed("The first sentence") == []
    assert stream.feed(". ") == ["The first sentence."]


def test_an_ellipsis_waits_for_the_next_word():
    stream = SentenceStream()
    assert stream.feed("Wait... ") == []
    assert stream.feed("what? ") == ["Wait... what?"]


def test_a_quoted_exclamation_waits_for_the_next_word():
    stream = SentenceStream()
    assert stream.feed('"Stop!" ') == []
    assert stream.feed("she said. ") == ['"Stop!" she said.']


def test_an_abbreviation_is_not_released_as_a_sentence():
    stream = SentenceStream()
    assert stream.feed("Ask Dr. ") == []
    assert stream.feed("Smith now. Ok") == ["Ask Dr. Smith now."]


def test_a_sentence_split_again_is_itself():
    """The engine splits what it is given: a streamed sentence must come back whole."""
    text = (
        "Ask Dr. Smith at 3.14 p.m. today. Wait... what? A long one, with clauses; " * 6
        + "It ends here! 「日本語です。」 Done."
    )
    for sentence in split_sentences(text):
        assert split_sentences(sentence) == [sentence]


def test_short_sentences_are_said_together_until_a_piece_holds_enough_text():
    sentences = [
        "Packing list.",
        "Item, Why.",
        "Water, Hydration.",
        "Jacket, Cold evenings.",
        "This sentence is long enough to be a piece of speech on its own.",
        "End.",
    ]
    assert list(speech_pieces(sentences, min_chars=60)) == [sentences[:4], sentences[4:5], sentences[5:]]
    assert list(speech_pieces(sentences, min_chars=0)) == [[s] for s in sentences]


def test_a_piece_handed_on_is_cut_into_the_same_piece_again():
    """A streamed piece goes to the model (or a server) as text and is cut again there."""
    text = (
        "# Packing list\n\nItem, Why.\nWater, Hydration.\n- Heavy books\n  - one or two at most\n\n"
        + "Ask Dr. Smith at 3.14 p.m. today. Wait... what? A long one, with clauses; " * 6
        + "It ends here!"
    )
    groups = list(speech_pieces(split_sentences(text)))
    assert len(groups) > 3
    for group in groups:
        assert list(speech_pieces(split_sentences(join_piece(group)))) == [group]
