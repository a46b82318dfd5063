"""The language of a text, told from one short sentence, among a model's languages."""

import pytest

from llm_mlx_audio.text.language import identify

KOKORO = ["en", "es", "fr", "hi", "it", "ja", "pt", "zh"]

SHORT_SENTENCES = [
    ("Good morning", "en"),
    ("Thank you.", "en"),
    ("The cat sat on the mat.", "en"),
    ("Hola, ¿cómo estás?", "es"),
    ("Hola.", "es"),
    ("Buenos días", "es"),
    ("Bonjour, comment ça va ?", "fr"),
    ("Je suis là.", "fr"),
    ("Ciao, come stai?", "it"),
    ("Grazie mille", "it"),
    ("Olá, tudo bem?", "pt"),
    ("Obrigado!", "pt"),
    ("こんにちは、元気ですか。", "ja"),
    ("今日は雨です。", "ja"),  # kanji with kana: Japanese, not Chinese
    ("你好，今天天气很好。", "zh"),
    ("नमस्ते, आप कैसे हैं?", "hi"),
]


@pytest.mark.parametrize(("text", "language"), SHORT_SENTENCES)
def test_one_short_sentence_is_enough_to_tell_its_language(text, language):
    assert identify(text, KOKORO) == language


def test_only_the_candidates_are_ever_answered():
    assert identify("Hola, ¿cómo estás?", ["en", "fr"]) is None  # Spanish is not among them
    assert identify("Ich trinke jeden Morgen Kaffee.", KOKORO) is None  # German: no Kokoro G2P
    assert identify("Ich trinke jeden Morgen Kaffee.", KOKORO + ["de"]) == "de"


@pytest.mark.parametrize("text", ["", "   ", "42", "?!", "x"])
def test_text_without_words_has_no_language(text):
    assert identify(text, KOKORO) is None
