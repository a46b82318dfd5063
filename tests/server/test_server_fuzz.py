"""Property-based fuzzing of the server's own OpenAPI document with schemathesis.

Whatever a client sends, valid by the schema or not, the server must answer with a
status below 500, errors in OpenAI's shape, and keep answering. Runs against the real
server (uvicorn in a thread, tiny real models), bounded to stay well under two minutes.
"""

import pytest

schemathesis = pytest.importorskip("schemathesis")
pytest.importorskip("fastapi")
httpx = pytest.importorskip("httpx")

from hypothesis import HealthCheck, settings  # noqa: E402
from server_helpers import start_server  # noqa: E402

# Speech input is capped for fuzzing only: the tiny model speaks about 100 characters
# a second here, and a few 4096-character inputs would take minutes while testing
# nothing that shorter ones do not. The 4096 limit itself is tested in test_speech.py.
FUZZ_INPUT_CHARS = 200

pytestmark = pytest.mark.filterwarnings("ignore:Generating overly large repr")


@pytest.fixture(scope="module")
def base_url(models):
    url, stop = start_server(max_upload_bytes=256 * 1024)
    yield url
    stop()


@pytest.fixture
def api_schema(base_url, user_dir):
    """The server's own OpenAPI document, steered towards requests that reach the models.

    Positive examples name real models and voices (random names would stop at 404 and
    never reach synthesis or transcription); negative ones still break every rule.
    """
    from llm_mlx_audio import registry

    document = httpx.get(base_url + "/openapi.json").json()
    speech_names = {"enum": ["tiny-kitten", "tts-1", "gpt-4o-mini-tts"]}
    voices = registry.find_model("speech", "tiny-kitten").voices()
    speech = document["components"]["schemas"]["SpeechRequest"]["properties"]
    speech["input"]["maxLength"] = FUZZ_INPUT_CHARS
    speech["model"] = speech_names
    speech["voice"] = {"enum": voices + ["alloy", "verse"]}
    paths = document["paths"]
    paths["/v1/audio/voices"]["get"]["parameters"][0]["schema"] = speech_names
    form = paths["/v1/audio/transcriptions"]["post"]["requestBody"]["content"]["multipart/form-data"]
    form["schema"]["properties"]["model"] = {"enum": ["tiny-whisper", "whisper-1"]}
    schema = schemathesis.openapi.from_dict(document)
    schema.config.update(base_url=base_url)
    return schema


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(
    max_examples=30,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_no_request_makes_the_server_fail(case, base_url, clip):
    if isinstance(case.body, dict) and isinstance(getattr(case.body.get("file"), "data", None), bytes):
        # schemathesis sends a tiny PNG for every binary field: uploads carry a real clip
        # instead, so the fuzzed fields (language, prompt, temperature, formats) reach the
        # model. Files that are not audio are tested in test_server.py.
        case.body["file"] = clip
    response = case.call(base_url=base_url, timeout=120)
    assert response.status_code < 500, (response.status_code, response.text[:500])
    if response.status_code >= 400:
        error = response.json()["error"]
        assert set(error) == {"message", "type", "param", "code"}
        assert error["message"] and "\n" not in error["message"]


def test_server_still_answers_after_fuzzing(base_url, user_dir):
    assert httpx.get(base_url + "/health").json()["status"] == "ok"
