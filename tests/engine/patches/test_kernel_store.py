"""The file that keeps re-laid numpy kernels between processes (patches/kernel_store.py)."""

import numpy as np
import pytest

from llm_mlx_audio.engine.patches import kernel_store


def _entries():
    rng = np.random.default_rng(0)
    return {
        "decoder.block.0": [
            {"conv": ([rng.standard_normal((3, 5), np.float32) for _ in range(3)], None, 2, 1)},
            {"adain": (rng.standard_normal((4, 2), np.float32), np.arange(4, dtype=np.float32), 1e-5)},
        ],
        "post": (np.ones((7,), np.float32), "name", True, np.float32(0.5)),
        "empty": np.zeros((0, 3), np.float32),
    }


def _assert_same(a, b):
    if isinstance(a, np.ndarray):
        assert isinstance(b, np.ndarray) and a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_array_equal(a, b)
    elif isinstance(a, dict):
        assert isinstance(b, dict) and a.keys() == b.keys()
        for key in a:
            _assert_same(a[key], b[key])
    elif isinstance(a, (list, tuple)):
        assert type(a) is type(b) and len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            _assert_same(x, y)
    elif isinstance(a, np.generic):
        assert b == a.item()  # numpy scalars come back as Python numbers
    else:
        assert a == b and type(a) is type(b)


def test_saved_kernels_come_back_the_same_and_mapped_read_only(tmp_path):
    path = tmp_path / "k.bin"
    assert kernel_store.save(path, "fp", _entries())
    loaded = kernel_store.load(path, "fp")
    _assert_same(_entries(), loaded)
    taps = loaded["decoder.block.0"][0]["conv"][0]
    assert isinstance(taps[0].base, np.memmap) or isinstance(taps[0], np.memmap)
    assert not taps[0].flags.writeable
    assert all(t.ctypes.data % 64 == 0 for t in taps)


def test_kernels_saved_for_other_weights_are_not_used(tmp_path):
    path = tmp_path / "k.bin"
    kernel_store.save(path, "old weights", _entries())
    assert kernel_store.load(path, "new weights") is None


@pytest.mark.parametrize("damage", ["truncated", "magic", "header", "missing"])
def test_a_damaged_or_missing_file_is_not_used(tmp_path, damage):
    path = tmp_path / "k.bin"
    kernel_store.save(path, "fp", _entries())
    data = path.read_bytes()
    if damage == "truncated":
        path.write_bytes(data[:-10])
    elif damage == "magic":
        path.write_bytes(b"NOTKERNS" + data[8:])
    elif damage == "header":
        path.write_bytes(data[:16] + b"[" + data[17:])
    else:
        path.unlink()
    assert kernel_store.load(path, "fp") is None


def test_a_file_in_the_way_of_the_folder_means_no_cache_not_an_error(tmp_path):
    (tmp_path / "kernels").write_text("not a folder")
    assert kernel_store.save(tmp_path / "kernels" / "k.bin", "fp", _entries()) is False
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kernels"]


def test_a_failed_write_leaves_the_old_file_whole(tmp_path, monkeypatch):
    path = tmp_path / "k.bin"
    kernel_store.save(path, "fp", _entries())
    before = path.read_bytes()

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(kernel_store.os, "replace", full_disk)
    assert kernel_store.save(path, "other", _entries()) is False
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["k.bin"]  # no .part left behind


def test_the_fingerprint_follows_the_weight_files_and_the_versions(tmp_path):
    (tmp_path / "model.safetensors").write_bytes(b"1234")
    first = kernel_store.fingerprint(tmp_path, "mlx-audio 0.6.2")
    assert kernel_store.fingerprint(tmp_path, "mlx-audio 0.6.2") == first
    assert kernel_store.fingerprint(tmp_path, "mlx-audio 0.6.3") != first
    (tmp_path / "model.safetensors").write_bytes(b"12345")
    assert kernel_store.fingerprint(tmp_path, "mlx-audio 0.6.2") != first
    store = kernel_store.Store(tmp_path / "k.bin", first)
    assert store.with_version("a") != store.with_version("b")
    assert store.with_version("a").path == store.path


def test_things_that_cannot_be_stored_are_refused(tmp_path):
    with pytest.raises(TypeError):
        kernel_store.save(tmp_path / "k.bin", "fp", {"x": object()})
    assert not (tmp_path / "k.bin").exists()
