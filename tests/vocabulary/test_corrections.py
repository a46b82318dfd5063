"""Corrections are exact: one test per rule (vocabulary/corrections.py), on real Transcript objects."""

from llm_mlx_audio.models import Segment, Transcript, Word
from llm_mlx_audio.vocabulary import parse_entry
from llm_mlx_audio.vocabulary.corrections import Corrector, correct


def corrector(*entries):
    return Corrector([parse_entry(entry) for entry in entries])


def test_a_correction_replaces_whole_words_only():
    fix = corrector("cuddle=hug")
    assert fix.text("a cuddle, cuddles, cuddled and recuddle") == "a hug, cuddles, cuddled and recuddle"


def test_a_heard_phrase_matches_in_any_case_and_the_meant_form_is_written_as_given():
    fix = corrector("and tropic=Anthropic", "kube ctl=kubeCTL")
    assert fix.text("we met AND TROPIC and Kube Ctl") == "we met Anthropic and kubeCTL"


def test_a_lowercase_meant_form_is_capitalised_only_where_a_sentence_starts():
    fix = corrector("kube cuddle=kubectl")
    assert fix.text("Kube cuddle works. Kube cuddle too! Use Kube Cuddle now, kube cuddle.") == (
        "Kubectl works. Kubectl too! Use kubectl now, kubectl."
    )


def test_punctuation_next_to_a_corrected_word_is_kept():
    fix = corrector("ngozi=Ngozi", "and go see=Ngozi")
    assert fix.text('"And go see," he said (ngozi). And go see\'s fix?') == (
        '"Ngozi," he said (Ngozi). Ngozi\'s fix?'
    )


def test_a_heard_phrase_of_several_words_matches_across_spaces_and_hyphens():
    fix = corrector("q meck till=kubectl")
    assert fix.text("run Q-Meck till, then q  meck-till") == "run kubectl, then kubectl"


def test_the_longest_heard_phrase_wins_and_a_replacement_is_never_corrected_again():
    fix = corrector("cuddle=kube cuddle", "kube cuddle=kubectl")
    assert fix.text("kube cuddle and cuddle") == "kubectl and kube cuddle"


def test_the_words_of_a_heard_phrase_become_one_word_spanning_their_times():
    words = [
        Word(0.0, 0.4, " Use", 0.9),
        Word(0.4, 0.7, " kube", 0.6),
        Word(0.7, 1.1, " cuddle,", 0.8),
        Word(1.1, 1.5, " please.", 0.9),
    ]
    fixed = corrector("kube cuddle=kubectl").words(words)
    assert [(w.start, w.end, w.word, w.probability) for w in fixed] == [
        (0.0, 0.4, " Use", 0.9),
        (0.4, 1.1, " kubectl,", 0.6),
        (1.1, 1.5, " please.", 0.9),
    ]


def test_a_correction_inside_one_word_keeps_that_words_times():
    words = [Word(0.0, 0.5, " Kube-cuddle!", 0.7, speaker="Ana")]
    fixed = corrector("kube cuddle=kubectl").words(words)
    assert fixed == [Word(0.0, 0.5, " Kubectl!", 0.7, speaker="Ana")]


def test_two_phrases_that_share_a_word_merge_into_one_word():
    words = [Word(0.0, 0.3, " big"), Word(0.3, 0.6, " cat-dog"), Word(0.6, 0.9, " run")]
    fixed = corrector("big cat=Tiger", "dog run=Race").words(words)
    assert [(w.start, w.end, w.word) for w in fixed] == [(0.0, 0.9, " Tiger-Race")]


def test_text_segments_and_words_of_a_transcript_are_all_corrected_and_still_agree():
    words = [Word(0.0, 0.5, " And"), Word(0.5, 0.9, " tropic"), Word(0.9, 1.4, " wins.")]
    transcript = Transcript(
        text="And tropic wins. Later, and tropic.",
        segments=[
            Segment(0.0, 1.4, "And tropic wins.", words=words),
            Segment(1.4, 2.5, "Later, and tropic.", words=[]),
        ],
    )
    correct(transcript, [parse_entry("and tropic=Anthropic")])
    assert transcript.text == "Anthropic wins. Later, Anthropic."
    assert [s.text for s in transcript.segments] == ["Anthropic wins.", "Later, Anthropic."]
    assert "".join(w.word for w in transcript.segments[0].words).strip() == transcript.segments[0].text
    assert [(w.start, w.end) for w in transcript.segments[0].words] == [(0.0, 0.9), (0.9, 1.4)]
