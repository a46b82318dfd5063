"""Voice blends, what voice ids say, and OpenAI's voice names on a model's voices."""

import json

import pytest

from llm_mlx_audio.errors import AudioError
from llm_mlx_audio.voices import (
    OPENAI_VOICES,
    blend_id,
    default_voice,
    describe,
    language_of,
    openai_voice,
    parse_blend,
)

KOKORO = ["jf_alpha", "jf_gongitsune", "jf_nezumi", "jf_tebukuro", "jm_kumo"]


def test_a_single_voice_is_not_a_blend():
    assert parse_blend("jf_alpha") is None


def test_a_blend_without_weights_weighs_its_parts_equally():
    assert parse_blend("jf_alpha+jm_kumo") == [("jf_alpha", 0.5), ("jm_kumo", 0.5)]


def test_blend_weights_are_normalised_to_sum_to_one():
    assert parse_blend("jf_alpha:3+jm_kumo:1") == [("jf_alpha", 0.75), ("jm_kumo", 0.25)]
    assert blend_id(parse_blend("jf_alpha:0.7 + jm_kumo:0.3")) == "jf_alpha:0.7+jm_kumo:0.3"


@pytest.mark.parametrize(
    "bad", ["jf_alpha+", "+jm_kumo", "jf_alpha:0+jm_kumo", "jf_alpha:x+jm_kumo", "a:-1+b"]
)
def test_a_malformed_blend_is_one_clear_error(bad):
    with pytest.raises(AudioError, match="a:0.7\\+b:0.3"):
        parse_blend(bad)


def test_kokoro_ids_say_language_gender_and_name():
    assert describe("jf_alpha") == {"id": "jf_alpha", "name": "Alpha", "language": "ja", "gender": "female"}
    assert describe("am_michael") == {
        "id": "am_michael",
        "name": "Michael",
        "language": "en-us",
        "gender": "male",
    }


def test_other_ids_keep_their_name_and_a_gender_suffix():
    assert describe("expr-voice-5-m") == {"id": "expr-voice-5-m", "name": "expr-voice-5-m", "gender": "male"}
    assert describe("narrator") == {"id": "narrator", "name": "narrator"}


def test_openai_voices_map_to_distinct_voices_of_matching_gender(tmp_path):
    chosen = {name: openai_voice(name, "kokoro", KOKORO, "jm_kumo", tmp_path) for name in OPENAI_VOICES}
    assert chosen["alloy"] == "jm_kumo"  # the neutral first name gets the default voice
    first_five = [chosen[n] for n in list(OPENAI_VOICES)[:5]]
    assert len(set(first_five)) == 5  # five voices: the first five names all differ
    assert describe(chosen["coral"])["gender"] == "female"
    assert set(chosen.values()) <= set(KOKORO)


def test_a_name_that_is_not_openais_is_left_alone(tmp_path):
    assert openai_voice("jf_alpha", "kokoro", KOKORO, "jm_kumo", tmp_path) is None


def test_the_users_voice_map_wins_per_model_then_for_all(tmp_path):
    (tmp_path / "llm-mlx-audio-voices.json").write_text(
        json.dumps({"nova": "jf_nezumi", "kokoro": {"nova": "jf_tebukuro"}})
    )
    assert openai_voice("nova", "kokoro", KOKORO, "jm_kumo", tmp_path) == "jf_tebukuro"
    assert openai_voice("nova", "other", KOKORO, "jm_kumo", tmp_path) == "jf_nezumi"
    assert openai_voice("NOVA", "other", ["x"], "x", tmp_path) == "x"  # a voice it lacks: built-in map


HUB_KOKORO = [
    "af_alloy",
    "af_heart",
    "af_nova",
    "af_sky",
    "am_echo",
    "am_onyx",
    "bf_emma",
    "bm_fable",
    "bm_george",
    "ef_dora",
    "em_alex",
    "ff_siwis",
    "if_sara",
    "jf_alpha",
    "jm_kumo",
    "pf_dora",
    "zf_xiaobei",
]


def test_openai_names_first_take_the_models_voice_of_the_same_name(tmp_path):
    chosen = {name: openai_voice(name, "k", HUB_KOKORO, "af_heart", tmp_path) for name in OPENAI_VOICES}
    assert chosen["nova"] == "af_nova"
    assert chosen["echo"] == "am_echo"
    assert chosen["alloy"] == "af_alloy"
    assert chosen["onyx"] == "am_onyx"
    assert chosen["fable"] == "bm_fable"
    others = [chosen[n] for n in OPENAI_VOICES if n not in ("nova", "echo", "alloy", "onyx", "fable")]
    assert not {"af_nova", "am_echo", "af_alloy", "am_onyx", "bm_fable"} & set(others[:5])
    assert describe(chosen["coral"])["gender"] == "female" and describe(chosen["ash"])["gender"] == "male"


@pytest.mark.parametrize(
    ("language", "voice"),
    [("en-us", "af_heart"), (None, "af_heart"), ("es", "ef_dora"), ("fr", "ff_siwis"), ("ja", "jf_alpha")],
)
def test_the_default_voice_is_one_of_the_texts_language(language, voice):
    assert default_voice(HUB_KOKORO, language) == voice


def test_without_a_voice_of_that_language_the_clearest_english_one_speaks():
    assert default_voice(KOKORO, "en-us") == "jm_kumo"  # the PyPI Kokoro: Japanese voices only
    assert default_voice(KOKORO, "es") == "jm_kumo"
    assert default_voice(["zz_voice", "yy"], "es") == "zz_voice"
    assert default_voice([], "es") is None


def test_a_voice_says_its_language_and_a_blend_its_first_parts():
    assert language_of("ef_dora") == "es"
    assert language_of("bf_emma:0.6+af_heart:0.4") == "en-gb"
    assert language_of("narrator") is None and language_of(None) is None


@pytest.fixture
def hub_kokoro_folder(tmp_path):
    """A Kokoro folder's config and voices (enough to choose; nothing is loaded)."""
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "kokoro"}))
    (tmp_path / "voices").mkdir()
    for voice in HUB_KOKORO:
        (tmp_path / "voices" / f"{voice}.safetensors").write_bytes(b"")
    from llm_mlx_audio.engine.models import make_model

    return make_model("speech", "hub-kokoro", tmp_path)


@pytest.mark.parametrize(
    ("text", "voice", "language", "chosen"),
    [
        ("Good morning, how are you?", None, None, ("en-us", "af_heart")),
        ("Hola, ¿cómo estás?", None, None, ("es", "ef_dora")),
        ("Hola, ¿cómo estás?", "jm_kumo", None, ("es", "jm_kumo")),
        ("Good morning, how are you?", "jm_kumo", None, ("en-us", "jm_kumo")),
        ("Good morning, how are you?", "bm_george", None, ("en-gb", "bm_george")),
        ("1, 2, 3.", "ef_dora", None, ("es", "ef_dora")),  # the text does not say: the voice's language
        ("Olá", None, "pt", ("pt-br", "pf_dora")),  # --lang as users write it
        ("Hello", None, "b", ("en-gb", "bf_emma")),
    ],
)
def test_kokoro_speaks_the_texts_language_in_the_voice_asked_for(
    hub_kokoro_folder, text, voice, language, chosen
):
    assert hub_kokoro_folder.language_and_voice(text, voice, language) == chosen
