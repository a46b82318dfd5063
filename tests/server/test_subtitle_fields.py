"""The subtitle rules as extension form fields of POST /v1/audio/transcriptions (srt and vtt only)."""

import httpx
from spoken_clips import wav_seconds
from subtitle_checks import parse_srt, parse_vtt, rule_breaks


def post(base_url, clip, **fields):
    data = {"model": "whisper-1", **{name: str(value) for name, value in fields.items()}}
    return httpx.post(base_url + "/v1/audio/transcriptions", files={"file": ("clip.wav", clip)}, data=data)


def test_srt_cues_follow_the_rules_sent_as_form_fields(base_url, user_dir, clip):
    rules = dict(max_line_chars=12, max_lines=1, max_cue_seconds=1.5)
    response = post(base_url, clip, response_format="srt", **rules)
    assert response.status_code == 200, response.text
    cues = parse_srt(response.text)
    assert cues and rule_breaks(cues, duration=wav_seconds(clip), **rules) == []


def test_vtt_highlight_words_gives_karaoke_cues(base_url, user_dir, clip):
    response = post(base_url, clip, response_format="vtt", highlight_words="true")
    assert response.status_code == 200, response.text
    cues = parse_vtt(response.text)
    assert cues and all(cue.raw.startswith("<c>") for cue in cues)


def test_subtitle_fields_need_srt_or_vtt(base_url, user_dir, clip):
    response = post(base_url, clip, response_format="json", max_lines=1)
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "max_lines needs response_format srt or vtt"


def test_a_subtitle_field_out_of_range_is_refused(base_url, user_dir, clip):
    response = post(base_url, clip, response_format="srt", max_line_chars=5)
    assert response.status_code == 422  # the schema's own ranges, as for every field
    assert "max_line_chars" in response.json()["error"]["message"]
