"""Sentence splitting for whole texts and for text still streaming in."""

import pytest

from llm_mlx_audio.text.sentences import SentenceStream, chunk_text, split_sentences


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


def test_chunks_group_sentences_up_to_the_limit():
    text = " ".join(f"Sentence number {i} is here." for i in range(40))
    chunks = chunk_text(text, max_chars=200)
    assert all(len(c) <= 200 for c in chunks)
    assert " ".join(chunks) == text
