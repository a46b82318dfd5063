"""How vocabulary entries are written and checked, and how terms fit Whisper's prompt budget."""

import pytest

from llm_mlx_audio.errors import AudioError
from llm_mlx_audio.vocabulary import Correction, Vocabulary, from_field, parse_entry
from llm_mlx_audio.vocabulary.entries import parse_lines
from llm_mlx_audio.vocabulary.prompt import WHISPER_PROMPT_TOKENS, compose, fit


def test_an_entry_with_an_equals_sign_is_a_correction_and_one_without_is_a_term():
    assert parse_entry(" kubectl ") == "kubectl"
    assert parse_entry("kube   cuddle = kubectl") == Correction("kube cuddle", "kubectl")


@pytest.mark.parametrize(
    ("entry", "says"),
    [
        ("=kubectl", "Empty heard phrase"),
        ("kube cuddle=", "Empty correction"),
        ("a=b=c", "one '='"),
        ("...", "letter or digit"),
        ("x" * 101, "at most 100"),
        ("two\nlines", "one line"),
    ],
)
def test_a_bad_entry_is_refused_with_a_reason(entry, says):
    with pytest.raises(AudioError, match=says):
        parse_entry(entry)


def test_a_file_skips_blank_lines_and_comments_and_names_the_line_of_a_bad_entry():
    vocabulary = parse_lines(["# names", "", "Ngozi", "and tropic=Anthropic"], "words.txt")
    assert vocabulary.terms == ["Ngozi"] and vocabulary.corrections == [Correction("and tropic", "Anthropic")]
    with pytest.raises(AudioError, match=r"^words.txt:2: Empty correction"):
        parse_lines(["Ngozi", "oops="], "words.txt")


def test_the_server_field_takes_repeated_values_with_commas_or_newlines():
    vocabulary = from_field(["Ngozi, Tadhg\nkube cuddle=kubectl", "Aoife"])
    assert vocabulary.terms == ["Ngozi", "Tadhg", "Aoife"]
    assert vocabulary.corrections == [Correction("kube cuddle", "kubectl")]


def test_adding_a_known_entry_again_replaces_it_rather_than_repeating_it():
    vocabulary = Vocabulary()
    for entry in ["anthropic", "Anthropic", "kube cuddle=kubectl", "Kube Cuddle=kubectl2"]:
        vocabulary.add(parse_entry(entry))
    assert vocabulary.terms == ["Anthropic"]
    assert vocabulary.corrections == [Correction("Kube Cuddle", "kubectl2")]


def test_the_prompt_terms_are_the_terms_then_the_meant_forms_once_each():
    vocabulary = Vocabulary(
        ["kubectl", "Ngozi"], [Correction("kube cuddle", "kubectl"), Correction("x", "Tadhg")]
    )
    assert vocabulary.prompt_terms() == ["kubectl", "Ngozi", "Tadhg"]


def test_the_fingerprint_is_empty_without_entries_and_changes_with_them():
    assert Vocabulary().fingerprint() == ""
    one, two = Vocabulary(["Ngozi"]), Vocabulary(["Ngozi", "Tadhg"])
    assert one.fingerprint() and one.fingerprint() != two.fingerprint()
    assert one.fingerprint() == Vocabulary(["Ngozi"]).fingerprint()


def test_the_terms_come_first_and_the_users_prompt_last():
    assert compose(["Ngozi", "kubectl"], "Meeting notes:") == "Ngozi, kubectl. Meeting notes:"
    assert compose([], None) is None


@pytest.fixture(scope="module")
def count_tokens():
    """Whisper's real English tokenizer (the vocabulary shipped with the plugin)."""
    from llm_mlx_audio.engine.patches.whisper_vocabulary import SHIPPED, load_tokenizer, vocabulary_name

    tokenizer = load_tokenizer(SHIPPED / vocabulary_name(51864), 51864)
    return lambda text: len(tokenizer.encode(" " + text.strip(), add_special_tokens=False).ids)


def test_terms_past_whispers_prompt_budget_are_left_out_whole_and_named(count_tokens):
    terms = [f"Zyxwarblex{n}" for n in range(100)]
    prompt, dropped = fit(terms, "Notes.", count_tokens)
    kept = [t for t in terms if t not in dropped]
    assert dropped and kept == terms[: len(kept)]  # the first terms stay, in order
    assert count_tokens(prompt) <= WHISPER_PROMPT_TOKENS
    assert count_tokens(compose([*kept, dropped[0]], "Notes.")) > WHISPER_PROMPT_TOKENS
    assert prompt.endswith("Notes.")


def test_a_users_prompt_over_budget_is_kept_and_every_term_left_out(count_tokens):
    long_prompt = "word " * 300
    prompt, dropped = fit(["Ngozi"], long_prompt, count_tokens)
    assert prompt == long_prompt and dropped == ["Ngozi"]
