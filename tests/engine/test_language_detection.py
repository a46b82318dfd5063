"""The spoken language, detected as Whisper itself detects it, on every path (issue 27, point 1).

The VAD path used to detect on the decoding mel of its first window, padded after the
log-Mel; Whisper's ``generate`` (the --no-vad path) detects on the samples padded
before it. On a short clip the two disagreed: a 3-s German sentence came out English
with the VAD. Now both ask the model the same question, a short or unsure first window
is outvoted by the next ones, and both report the probability.

Real whisper-base (the offline extra), real espeak-ng speech, the real llm CLI.
"""

import json

import numpy as np
import pytest
from llm_runner import llm_subprocess
from spoken_clips import HAVE_ESPEAK, speech_samples

import llm_mlx_audio
from llm_mlx_audio.audio.encode import encode_audio
from llm_mlx_audio.audio.speech_regions import pack_windows, speech_regions
from llm_mlx_audio.engine import batched_whisper, embedded, long_form
from llm_mlx_audio.engine.thread import get_mlx_thread

pytestmark = pytest.mark.skipif(
    not (HAVE_ESPEAK and embedded.available("whisper-base")),
    reason="espeak-ng or the offline extra's whisper-base missing",
)
RATE = 16000
MODEL = "whisper-base"

SENTENCES = {
    "de": "Guten Morgen. Ich möchte heute mit dem Zug nach Berlin fahren, um meine Schwester zu besuchen.",
    "fr": "Le temps est très beau aujourd'hui, alors nous allons nous promener dans le parc cet après-midi.",
    "es": "El tiempo está muy bueno hoy, así que por la tarde vamos a pasear por el parque.",
    "it": "Oggi il tempo è molto bello, quindi nel pomeriggio andiamo a fare una passeggiata nel parco.",
    "en": "The weather is lovely today, so this afternoon we are going for a walk in the park.",
}
# The sentence of the report; at espeak-ng 1.51's speed 170 it lasts 3 s, and the VAD
# path said English (0.45) where the model's own detection says German.
REPORTED = "Ich trinke jeden Morgen eine Tasse Kaffee mit Milch."
SHORT = "Ja, genau."  # 1.3 s that whisper-base alone does not hear as German
LONG_GERMAN = (
    "Guten Morgen. Ich möchte heute mit dem Zug nach Berlin fahren, um meine Schwester zu besuchen. "
    "Sie wohnt seit drei Jahren in einer kleinen Wohnung in der Nähe vom Bahnhof. "
    "Am Nachmittag gehen wir zusammen ins Museum, und am Abend essen wir in einem italienischen Restaurant. "
    "Morgen früh fahre ich wieder nach Hause, weil ich am Montag arbeiten muss. "
    "Meine Kollegen warten schon auf mich, denn wir haben diese Woche ein sehr wichtiges Projekt mit einem neuen Kunden aus der Stadt Hamburg. "
    "Im Sommer fahren wir mit der ganzen Familie an die Ostsee und wohnen in einem Hotel am Strand."
)  # 30 s or more: a window of its own after SHORT


@pytest.fixture(scope="module")
def converted(shared_user_dir):
    """whisper-base converted once for the module."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LLM_USER_PATH", str(shared_user_dir))
        embedded.ensure_embedded(MODEL)


@pytest.fixture(name="user_dir")
def shared_user_dir_for_each_test(shared_user_dir, converted, monkeypatch):
    monkeypatch.setenv("LLM_USER_PATH", str(shared_user_dir))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return shared_user_dir


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    """The module's recordings, made once: {name: (path, samples)}."""
    folder = tmp_path_factory.mktemp("languages")
    recordings = {language: speech_samples(text, voice=language) for language, text in SENTENCES.items()}
    recordings["reported"] = speech_samples(REPORTED, voice="de", speed=170)
    short = speech_samples(SHORT, voice="de")
    recordings["short-first"] = np.concatenate(
        [short, np.zeros(5 * RATE, np.float32), speech_samples(LONG_GERMAN, voice="de")]
    )
    out = {}
    for name, samples in recordings.items():
        path = folder / f"{name}.wav"
        path.write_bytes(encode_audio(samples, RATE, "wav"))
        out[name] = (path, samples)
    return out


def transcribe_json(llm_cli, path, *options):
    result = llm_cli("transcribe", str(path), "-m", MODEL, "--format", "json", *options)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def both_paths(llm_cli, path, *options):
    return transcribe_json(llm_cli, path, *options), transcribe_json(llm_cli, path, "--no-vad", *options)


@pytest.mark.parametrize("language", sorted(SENTENCES))
def test_vad_and_whole_recording_hear_the_same_language(llm_cli, clips, language):
    path, _ = clips[language]
    with_vad, without = both_paths(llm_cli, path)
    assert with_vad["language"] == without["language"] == language
    assert 0.5 < with_vad["language_probability"] <= 1
    # The VAD keeps the whole short clip: the same audio, the same question to the model.
    assert with_vad["language_probability"] == pytest.approx(without["language_probability"], abs=0.02)


def test_the_reported_german_sentence_is_german(llm_cli, clips):
    path, _ = clips["reported"]
    result = llm_subprocess("transcribe", "-m", MODEL, "--format", "json", str(path))
    assert result.returncode == 0, result.stderr
    with_vad = json.loads(result.stdout)
    without = transcribe_json(llm_cli, path, "--no-vad")
    assert with_vad["language"] == without["language"] == "de"
    assert with_vad["language_probability"] == pytest.approx(without["language_probability"], abs=0.02)


def first_window(samples):
    """The first window the VAD path decodes, and how many there are."""
    thread = get_mlx_thread()
    with long_form.vad_model() as vad:
        probabilities, total = long_form._speech_probabilities(thread, vad, [samples])
    windows = pack_windows(speech_regions(probabilities, total))
    _, audio = next(long_form._window_audio(iter([samples]), windows))
    return audio, len(windows)


def test_a_short_first_window_is_outvoted_by_the_next(llm_cli, clips):
    path, samples = clips["short-first"]
    audio, count = first_window(samples)
    assert len(audio) / RATE < 5 and count >= 2
    with llm_mlx_audio.get_transcription_model(MODEL)._use() as loaded:
        alone = get_mlx_thread().run(batched_whisper.language_probabilities, loaded.model, audio)
    # Alone, the model does not hear German in it: the next windows have to decide.
    assert max(alone, key=alone.get) != "de" or alone["de"] < batched_whisper.SURE_PROBABILITY
    with_vad, without = both_paths(llm_cli, path)
    assert with_vad["language"] == without["language"] == "de"
    assert with_vad["language_probability"] > 0.3 and without["language_probability"] > 0.3


def test_translation_reports_the_probability_and_a_given_language_none(llm_cli, clips):
    path, _ = clips["de"]
    translated, translated_whole = both_paths(llm_cli, path, "--task", "translate")
    assert translated["language"] == translated_whole["language"] == "de"
    assert translated["language_probability"] > 0.5 and translated_whole["language_probability"] > 0.5
    given = transcribe_json(llm_cli, path, "--no-vad", "-l", "de")
    assert given["language"] == "de" and "language_probability" not in given


def test_the_vote_sums_the_windows_probabilities():
    short = {"en": 0.4, "de": 0.3, "nl": 0.3}
    long = {"de": 0.9, "en": 0.1}
    assert batched_whisper.vote([short]) == ("en", 0.4)
    assert batched_whisper.vote([short, long]) == ("de", pytest.approx(0.6))
    # A short window is never enough alone; a long sure one is; three windows always are.
    assert not batched_whisper.language_settled([long], seconds=3.0)
    assert batched_whisper.language_settled([long], seconds=25.0)
    assert not batched_whisper.language_settled([short], seconds=25.0)
    assert batched_whisper.language_settled([short, short, short], seconds=6.0)
