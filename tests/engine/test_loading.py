"""Loading applies the patches, and a patch that breaks on this mlx-audio is skipped, not fatal.

An upstream rename (an attribute gone, a class moved) must cost speed, never the
command: the model is loaded again without that patch, one line on stderr says which.
"""

import sys

import numpy as np
import pytest

from llm_mlx_audio.audio.encode import encode_audio
from llm_mlx_audio.engine import load_caches, loading, patches
from llm_mlx_audio.engine.patches import whisper_numpy
from llm_mlx_audio.engine.pool import get_pool
from llm_mlx_audio.engine.thread import get_mlx_thread

pytest.importorskip("mlx.core")
on_linux_cpu = pytest.mark.skipif(not patches.enabled(), reason="the CPU patches stand aside here")


def _upstream_renamed(model):
    raise AttributeError("'Model' object has no attribute 'decoder_blocks'")


@pytest.fixture
def broken_whisper_patch(monkeypatch):
    monkeypatch.delenv(patches.ENV_SWITCH, raising=False)
    monkeypatch.setattr(whisper_numpy, "optimise", _upstream_renamed)
    monkeypatch.setattr(patches, "_warned", set())


@on_linux_cpu
def test_loading_applies_every_cpu_patch_to_whisper(tiny_whisper, monkeypatch):
    monkeypatch.delenv(patches.ENV_SWITCH, raising=False)
    loaded = get_mlx_thread().run(loading.load, tiny_whisper, "transcription", "tiny")
    assert loaded.generate_kwargs == {"fp16": False}
    decoder = [cls.__name__ for cls in type(loaded.model.decoder).__mro__]
    # The stop check sits in front of the fast decoder (patches/stoppable.py).
    assert decoder[0] == "StoppableDecoder"
    assert [name for name in decoder if name != "StoppableDecoder"][0] == "FastTextDecoder"


@on_linux_cpu
def test_a_patch_that_raises_is_skipped_and_the_model_loads_without_it(
    tiny_whisper, broken_whisper_patch, capsys
):
    loaded = get_mlx_thread().run(loading.load, tiny_whisper, "transcription", "tiny")
    decoder = [cls.__name__ for cls in type(loaded.model.decoder).__mro__]
    assert decoder[0] == "StoppableDecoder"
    assert [name for name in decoder if name != "StoppableDecoder"][0] == "TextDecoder"  # stock
    assert loaded.generate_kwargs == {"fp16": False}  # the patches that work still apply
    stderr = capsys.readouterr().err.strip().splitlines()
    assert stderr == [
        "llm-mlx-audio: skipped the whisper-numpy adaptation (AttributeError: 'Model' object has no "
        "attribute 'decoder_blocks'); the model runs without it (checked with mlx-audio "
        f"{patches.CHECKED_WITH['mlx-audio']})"
    ]
    assert "whisper-numpy" in patches.describe()["skipped"]


@on_linux_cpu
def test_llm_transcribe_still_works_when_a_patch_breaks(
    llm_cli, tiny_models, tiny_whisper, broken_whisper_patch, tmp_path
):
    get_pool().unload(str(tiny_whisper.resolve()))  # loaded afresh, under the broken patch
    clip = tmp_path / "clip.wav"
    clip.write_bytes(encode_audio(np.zeros(16000, np.float32), 16000, "wav"))
    result = llm_cli("transcribe", str(clip), "--format", "json")
    get_pool().unload(str(tiny_whisper.resolve()))  # later tests get the patched model back
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("{")
    assert "skipped the whisper-numpy adaptation" in result.stderr
    assert result.stderr.count("\n") == 1


def test_an_audio_error_from_a_patch_reaches_the_user(monkeypatch):
    """A missing package the user can install is theirs to see, not a silent skip."""
    from llm_mlx_audio.errors import G2PUnavailableError

    def needs_a_package(model, caches):
        raise G2PUnavailableError("English speech needs an offline phonemizer")

    monkeypatch.setattr(patches, "_ADAPTATIONS", (("kokoro-g2p", lambda m, k: True, needs_a_package),))
    with pytest.raises(G2PUnavailableError):
        patches.adapt(object(), "speech")


def test_the_patches_name_the_releases_they_were_checked_against():
    assert set(patches.CHECKED_WITH) == {"mlx-audio", "mlx"}
    assert all(v[0].isdigit() for v in patches.CHECKED_WITH.values())
    assert sys.modules["llm_mlx_audio.engine.patches"] is patches


def _speak_on_mlx_thread(loaded):
    from llm_mlx_audio.engine import inference

    def run():
        parts = inference.generate_speech(loaded, "Hello world.", "expr-voice-5-m", 1.0, None)
        return np.concatenate([part.samples for part in parts])

    return get_mlx_thread().run(run)


def _kernel_files(user_dir):
    return sorted((user_dir / load_caches.CACHE_DIR / "kernels").glob("*.bin"))


def _cached_kernels(model):
    from llm_mlx_audio.engine.patches import kokoro_numpy

    return [
        module.__dict__["_llm_mlx_audio_numpy"][1]
        for module in model.modules()
        if isinstance(module, (kokoro_numpy.NumpyResBlock, kokoro_numpy.NumpyConvWeighted))
        and "_llm_mlx_audio_numpy" in module.__dict__
    ]


def _first_array(value):
    while not isinstance(value, np.ndarray):
        value = value[0] if isinstance(value, (list, tuple)) else next(iter(value.values()))
    return value


@on_linux_cpu
def test_the_cpu_kernels_are_kept_on_disk_and_mapped_by_the_next_load(
    tiny_kitten, tmp_path, user_dir, monkeypatch
):
    import shutil

    monkeypatch.delenv(patches.ENV_SWITCH, raising=False)
    model_dir = tmp_path / "kitten"
    shutil.copytree(tiny_kitten, model_dir)
    first = get_mlx_thread().run(loading.load, model_dir, "speech", "kitten")
    expected = _speak_on_mlx_thread(first)
    [saved] = _kernel_files(user_dir)
    written = saved.stat().st_mtime_ns
    assert not any(isinstance(_first_array(k).base, np.memmap) for k in _cached_kernels(first.model))

    second = get_mlx_thread().run(loading.load, model_dir, "speech", "kitten")
    kernels = _cached_kernels(second.model)
    assert kernels and all(not _first_array(k).flags.writeable for k in kernels)  # mapped from the file
    assert saved.stat().st_mtime_ns == written
    assert np.array_equal(_speak_on_mlx_thread(second), expected)


@on_linux_cpu
def test_new_weights_in_the_folder_make_the_kernels_again(tiny_kitten, tmp_path, user_dir, monkeypatch):
    import os
    import shutil

    monkeypatch.delenv(patches.ENV_SWITCH, raising=False)
    model_dir = tmp_path / "kitten"
    shutil.copytree(tiny_kitten, model_dir)
    get_mlx_thread().run(loading.load, model_dir, "speech", "kitten")
    [saved] = _kernel_files(user_dir)
    before = saved.read_bytes()
    weights = next(model_dir.glob("*.safetensors"))
    stat = weights.stat()
    os.utime(weights, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))  # as if replaced

    reloaded = get_mlx_thread().run(loading.load, model_dir, "speech", "kitten")
    assert _kernel_files(user_dir) == [saved]
    assert saved.read_bytes() != before  # another fingerprint in the header
    assert all(_first_array(k).flags.writeable for k in _cached_kernels(reloaded.model))  # built, not mapped


@on_linux_cpu
def test_a_damaged_kernel_file_is_made_again_and_speech_is_unchanged(
    tiny_kitten, tmp_path, user_dir, monkeypatch
):
    import shutil

    monkeypatch.delenv(patches.ENV_SWITCH, raising=False)
    model_dir = tmp_path / "kitten"
    shutil.copytree(tiny_kitten, model_dir)
    expected = _speak_on_mlx_thread(get_mlx_thread().run(loading.load, model_dir, "speech", "kitten"))
    [saved] = _kernel_files(user_dir)
    whole = saved.read_bytes()
    saved.write_bytes(whole[: len(whole) // 2])

    again = get_mlx_thread().run(loading.load, model_dir, "speech", "kitten")
    assert np.array_equal(_speak_on_mlx_thread(again), expected)
    assert saved.read_bytes() == whole
