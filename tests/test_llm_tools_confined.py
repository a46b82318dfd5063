"""The llm tools act only inside one folder, and speak never overwrites a file.

A model does what the text it reads tells it (prompt injection), so its tools must
not read ~/.ssh or replace ~/.bashrc. The tools are taken from llm's own plugin
registry, and one test runs the whole loop with llm's echo model.
"""

import json
import os

import llm
import pytest
from spoken_clips import speech_wav

from llm_mlx_audio.errors import AudioError
from llm_mlx_audio.files import write_new


@pytest.fixture
def folder(tmp_path, monkeypatch):
    """The working folder the tools run in, with secret.wav and notes.txt just outside it."""
    inside = tmp_path / "work"
    inside.mkdir()
    (tmp_path / "secret.wav").write_bytes(speech_wav("The vault code is four two."))
    (tmp_path / "notes.txt").write_bytes(b"precious")
    monkeypatch.chdir(inside)
    monkeypatch.delenv("LLM_MLX_AUDIO_TOOLS_DIR", raising=False)
    return inside


def tool(name):
    return llm.get_tools()[name].implementation


def test_the_tools_come_from_llms_registry():
    assert {"transcribe_audio", "speak"} <= set(llm.get_tools())


@pytest.mark.parametrize("path", ["../secret.wav", "sub/../../secret.wav", "{outside}/secret.wav"])
def test_transcribe_audio_refuses_paths_outside(folder, path):
    path = path.format(outside=folder.parent)
    with pytest.raises(ValueError, match=f"can only read files inside {folder}: .* is outside"):
        tool("transcribe_audio")(path)


def test_home_is_outside_too(folder, monkeypatch):
    monkeypatch.setenv("HOME", str(folder.parent))
    with pytest.raises(ValueError, match="is outside"):
        tool("transcribe_audio")("~/secret.wav")
    with pytest.raises(ValueError, match="is outside"):
        tool("speak")("Hello.", output_path="~/new.wav")
    assert not (folder.parent / "new.wav").exists()


def test_a_symlink_inside_that_points_outside_is_refused(folder):
    (folder / "memo.wav").symlink_to(folder.parent / "secret.wav")
    (folder / "shared").symlink_to(folder.parent, target_is_directory=True)
    with pytest.raises(ValueError, match="is outside"):
        tool("transcribe_audio")("memo.wav")
    with pytest.raises(ValueError, match="is outside"):
        tool("transcribe_audio")("shared/secret.wav")
    (folder / "notes.txt").symlink_to(folder.parent / "notes.txt")
    for output in ("notes.txt", "shared/new.wav"):
        with pytest.raises(ValueError, match="is outside"):
            tool("speak")("Hello.", output_path=output)
    assert (folder.parent / "notes.txt").read_bytes() == b"precious"
    assert not (folder.parent / "new.wav").exists()


def test_speak_refuses_an_absolute_path_outside(folder):
    with pytest.raises(ValueError, match=f"can only write files inside {folder}"):
        tool("speak")("Hello.", output_path=str(folder.parent / "notes.txt"))
    assert (folder.parent / "notes.txt").read_bytes() == b"precious"


def test_speak_never_overwrites_a_file(folder, tiny_models):
    (folder / "keep.wav").write_bytes(b"precious")
    with pytest.raises(ValueError, match="will not overwrite keep.wav: it already exists"):
        tool("speak")("Hello.", output_path="keep.wav")
    assert (folder / "keep.wav").read_bytes() == b"precious"
    assert os.listdir(folder) == ["keep.wav"]


def test_speak_refuses_a_folder_that_does_not_exist(folder, tiny_models):
    with pytest.raises(ValueError, match="its folder does not exist"):
        tool("speak")("Hello.", output_path="nope/said.wav")
    assert os.listdir(folder) == []


def test_paths_inside_work(folder, tiny_models):
    (folder / "memo.wav").write_bytes(speech_wav("Call the dentist on Monday."))
    (folder / "out").mkdir()
    assert isinstance(tool("transcribe_audio")("memo.wav"), str)
    assert isinstance(tool("transcribe_audio")(str(folder / "out" / ".." / "memo.wav")), str)
    assert "Saved" in tool("speak")("Hello there.", output_path="out/said.mp3")
    assert (folder / "out" / "said.mp3").read_bytes()[:3] in (b"ID3", b"\xff\xfb", b"\xff\xf3")
    assert sorted(os.listdir(folder / "out")) == ["said.mp3"]


def test_the_folder_can_be_configured(folder, tiny_models, tmp_path, monkeypatch):
    audio = tmp_path / "audio"
    audio.mkdir()
    (audio / "memo.wav").write_bytes(speech_wav("Call the dentist on Monday."))
    (folder / "here.wav").write_bytes(speech_wav("Call the dentist on Monday."))
    monkeypatch.setenv("LLM_MLX_AUDIO_TOOLS_DIR", str(audio))
    assert isinstance(tool("transcribe_audio")("memo.wav"), str)  # relative to the folder
    tool("speak")("Hello there.", output_path="said.wav")
    assert (audio / "said.wav").read_bytes()[:4] == b"RIFF"
    with pytest.raises(ValueError, match=f"inside {audio}: {folder / 'here.wav'} is outside"):
        tool("transcribe_audio")(str(folder / "here.wav"))


def test_a_configured_folder_that_does_not_exist_is_refused(folder, monkeypatch):
    monkeypatch.setenv("LLM_MLX_AUDIO_TOOLS_DIR", str(folder / "nope"))
    with pytest.raises(ValueError, match="LLM_MLX_AUDIO_TOOLS_DIR is not a folder"):
        tool("transcribe_audio")("memo.wav")


def test_write_new_keeps_a_file_that_appeared_after_the_check(tmp_path):
    target = tmp_path / "said.wav"
    target.write_bytes(b"precious")  # as if made between speak's check and its write
    with pytest.raises(AudioError, match="already exists"):
        write_new(target, b"new")
    assert target.read_bytes() == b"precious"
    assert os.listdir(tmp_path) == ["said.wav"]


def test_write_new_does_not_write_through_a_dangling_symlink(tmp_path):
    (tmp_path / "link.wav").symlink_to(tmp_path / "elsewhere.wav")
    with pytest.raises(AudioError, match="already exists"):
        write_new(tmp_path / "link.wav", b"new")
    assert not (tmp_path / "elsewhere.wav").exists()


def test_write_new_creates_a_whole_file(tmp_path):
    write_new(tmp_path / "said.wav", b"data")
    assert (tmp_path / "said.wav").read_bytes() == b"data"
    assert os.listdir(tmp_path) == ["said.wav"]


def tool_results(stdout):
    """The tool results the echo model saw on its last turn (it answers once per turn)."""
    decoder, position, last = json.JSONDecoder(), 0, None
    while position < len(stdout.strip()):
        last, position = decoder.raw_decode(stdout, position)
        while position < len(stdout) and stdout[position].isspace():
            position += 1
    return last["tool_results"]


def test_the_model_reads_the_refusal(llm_cli, folder):
    calls = [
        {"name": "transcribe_audio", "arguments": {"path": "../secret.wav"}},
        {"name": "speak", "arguments": {"text": "Hi.", "output_path": "../notes.txt"}},
    ]
    result = llm_cli("-m", "echo", "-T", "transcribe_audio", "-T", "speak", json.dumps({"tool_calls": calls}))
    assert result.exit_code == 0, result.output
    heard, spoken = (r["output"] for r in tool_results(result.stdout))
    assert heard == f"Error: transcribe_audio can only read files inside {folder}: ../secret.wav is outside"
    assert spoken == f"Error: speak can only write files inside {folder}: ../notes.txt is outside"
    assert (folder.parent / "notes.txt").read_bytes() == b"precious"
