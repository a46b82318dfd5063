"""Output files appear whole or not at all."""

import os

import pytest

from llm_mlx_audio.errors import AudioError
from llm_mlx_audio.files import atomic_output, check_writable, write_atomically


def test_write_atomically_creates_the_file(tmp_path):
    target = tmp_path / "out.wav"
    write_atomically(target, b"data")
    assert target.read_bytes() == b"data"
    assert os.listdir(tmp_path) == ["out.wav"]


def test_an_error_midway_leaves_the_old_file_untouched(tmp_path):
    target = tmp_path / "out.wav"
    target.write_bytes(b"precious")
    with pytest.raises(RuntimeError), atomic_output(target) as f:
        f.write(b"half")
        raise RuntimeError("crash")
    assert target.read_bytes() == b"precious"
    assert os.listdir(tmp_path) == ["out.wav"]


def test_an_error_midway_leaves_no_new_file(tmp_path):
    target = tmp_path / "new.wav"
    with pytest.raises(KeyboardInterrupt), atomic_output(target) as f:
        f.write(b"half")
        raise KeyboardInterrupt
    assert os.listdir(tmp_path) == []


def test_missing_directory_is_refused(tmp_path):
    with pytest.raises(AudioError, match="does not exist"):
        check_writable(tmp_path / "nope" / "out.wav")


def test_a_directory_is_not_an_output_file(tmp_path):
    with pytest.raises(AudioError, match="is a directory"):
        check_writable(tmp_path)


def test_an_unwritable_directory_is_refused():
    # /proc refuses new files even to root, unlike a chmod'ed folder
    with pytest.raises(AudioError, match="Cannot write to /proc"):
        check_writable("/proc/speech.wav")
