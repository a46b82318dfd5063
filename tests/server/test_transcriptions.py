"""POST /v1/audio/transcriptions through the official openai client: formats, options, errors."""

import re

import httpx
import openai
import pytest
from server_helpers import transcribe
from spoken_clips import wav_seconds

# -- transcription --------------------------------------------------------------------------


def test_transcription_json_is_text_only_like_openai(base_url, user_dir, clip):
    response = httpx.post(
        base_url + "/v1/audio/transcriptions", files={"file": ("clip.wav", clip)}, data={"model": "whisper-1"}
    )
    assert response.status_code == 200
    assert list(response.json()) == ["text"]


def test_transcription_text_format_is_plain_text(client, clip):
    text = transcribe(client, clip, response_format="text")
    assert isinstance(text, str) and text.strip()


def parse_cues(text, separator):
    pattern = rf"(\d\d):(\d\d):(\d\d){separator}(\d\d\d) --> (\d\d):(\d\d):(\d\d){separator}(\d\d\d)"
    cues = []
    for match in re.finditer(pattern, text):
        h1, m1, s1, ms1, h2, m2, s2, ms2 = map(int, match.groups())
        cues.append((h1 * 3600 + m1 * 60 + s1 + ms1 / 1000, h2 * 3600 + m2 * 60 + s2 + ms2 / 1000))
    return cues


def test_transcription_srt_has_numbered_ordered_cues(client, clip):
    srt = transcribe(client, clip, response_format="srt")
    blocks = [b for b in srt.strip().split("\n\n") if b.strip()]
    assert blocks and all(b.splitlines()[0] == str(i) for i, b in enumerate(blocks, start=1))
    cues = parse_cues(srt, ",")
    assert len(cues) == len(blocks)
    assert all(start <= end for start, end in cues)
    assert all(a[1] <= b[0] for a, b in zip(cues, cues[1:], strict=False))


def test_transcription_vtt_has_header_and_cues(client, clip):
    vtt = transcribe(client, clip, response_format="vtt")
    assert vtt.startswith("WEBVTT")
    assert parse_cues(vtt, r"\.")


def test_transcription_verbose_json_has_openai_fields_and_segments(client, clip):
    result = transcribe(client, clip, response_format="verbose_json")
    data = result.model_dump()
    assert {"task", "language", "duration", "text", "segments"} <= set(data)
    assert data["task"] == "transcribe"
    assert abs(data["duration"] - wav_seconds(clip)) < 0.05
    assert data["segments"] and all(s["start"] <= s["end"] for s in data["segments"])
    assert not data.get("words")


def test_transcription_word_granularity_adds_timed_words(client, clip):
    result = transcribe(
        client, clip, response_format="verbose_json", timestamp_granularities=["word", "segment"]
    )
    words = result.model_dump()["words"]
    assert words and all(w["start"] <= w["end"] for w in words)
    assert result.segments


def test_transcription_word_granularity_alone_leaves_out_segments(base_url, user_dir, clip):
    response = httpx.post(
        base_url + "/v1/audio/transcriptions",
        files={"file": ("clip.wav", clip)},
        data={"response_format": "verbose_json", "timestamp_granularities[]": ["word"]},
    )
    assert "words" in response.json() and "segments" not in response.json()


def test_transcription_accepts_language_prompt_and_temperature(client, clip):
    result = transcribe(client, clip, language="en", prompt="Tones.", temperature=0.2)
    assert isinstance(result.text, str)


def test_empty_upload_is_a_bad_request(client):
    with pytest.raises(openai.BadRequestError) as raised:
        transcribe(client, b"")
    assert raised.value.body["param"] == "file"


def test_upload_that_is_not_audio_is_a_bad_request(client):
    with pytest.raises(openai.BadRequestError) as raised:
        transcribe(client, b"This is a plain text file, not audio at all.\n" * 20)
    assert raised.value.body["code"] == "invalid_audio"


def test_upload_without_a_file_is_unprocessable(base_url, user_dir):
    response = httpx.post(base_url + "/v1/audio/transcriptions", files={"model": (None, "whisper-1")})
    assert response.status_code == 422
    assert response.json()["error"]["param"] == "file"


def test_transcription_temperature_out_of_range_is_unprocessable(client, clip):
    with pytest.raises(openai.UnprocessableEntityError):
        transcribe(client, clip, temperature=5)
