"""The helper models that ship in the wheel (llm_mlx_audio/assets): the files that
scripts/vendor_assets.py made, and what the converters make of the same sources.

Each folder's SOURCE records the SHA-256 of its other files, and of the source file
it was converted from. The VAD is converted again from faster-whisper's ONNX (a test
dependency) and must give identical tensors; so must the speaker encoder from
resemblyzer's pretrained.pt where that wheel happens to be installed (it is not a test
dependency: its package needs torch; `scripts/vendor_assets.py --check` converts it
from PyPI).
"""

import hashlib
import json
import re

import numpy as np
import pytest
from safetensors.numpy import load_file

from llm_mlx_audio import assets
from llm_mlx_audio.engine import embedded
from llm_mlx_audio.engine.importers import resemblyzer_ge2e, silero_vad

FOLDERS = [embedded.VAD_FOLDER, embedded.SPEAKER_FOLDER]


def sha256(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def manifest(folder) -> dict[str, str]:
    """{file name: SHA-256} from the folder's SOURCE."""
    lines = (folder / "SOURCE").read_text().splitlines()
    return {m[2]: m[1] for m in (re.fullmatch(r"([0-9a-f]{64})  (\S+)", line) for line in lines) if m}


def source_sha256(folder) -> str:
    """The SHA-256 of the file the folder was converted from ("file: <path>, sha256 <hex>")."""
    return re.search(r"^file: .*, sha256 ([0-9a-f]{64})$", (folder / "SOURCE").read_text(), re.M)[1]


def assert_same_model(made, shipped):
    assert json.loads((made / "config.json").read_text()) == json.loads((shipped / "config.json").read_text())
    ours, theirs = load_file(str(made / "model.safetensors")), load_file(str(shipped / "model.safetensors"))
    assert sorted(ours) == sorted(theirs)
    for name, tensor in ours.items():
        assert tensor.dtype == theirs[name].dtype == np.float32, name
        np.testing.assert_array_equal(tensor, theirs[name], err_msg=name)


@pytest.mark.parametrize("name", FOLDERS)
def test_the_shipped_files_are_those_their_manifest_lists(name):
    folder = assets.files(name)
    listed = manifest(folder)
    assert set(listed) == {"LICENSE", "config.json", "model.safetensors"}
    assert {p.name for p in folder.iterdir()} == set(listed) | {"SOURCE"}
    for file, digest in listed.items():
        assert sha256(folder / file) == digest, f"{folder / file} is not what scripts/vendor_assets.py made"


@pytest.mark.parametrize(
    "name, licence, words",
    [
        (embedded.VAD_FOLDER, "MIT", ["Copyright (c) 2020-present Silero Team", "SYSTRAN", "Permission is"]),
        (embedded.SPEAKER_FOLDER, "Apache-2.0", ["Apache License", "Version 2.0", "Resemble.AI"]),
    ],
)
def test_each_folder_carries_its_licence(name, licence, words):
    folder = assets.files(name)
    assert f"\nlicence: {licence} " in (folder / "SOURCE").read_text()
    text = (folder / "LICENSE").read_text()
    for word in words:
        assert word in text


def test_the_shipped_vad_is_a_fresh_conversion_of_faster_whispers_onnx(tmp_path):
    source = silero_vad.packaged_source()
    if source is None:
        pytest.skip("faster-whisper is not installed (the test extra)")
    shipped = assets.files(embedded.VAD_FOLDER)
    assert sha256(source) == source_sha256(shipped), (
        "this faster-whisper carries another Silero VAD: rebuild with scripts/vendor_assets.py"
    )
    silero_vad.convert(source, tmp_path / "vad")
    assert_same_model(tmp_path / "vad", shipped)


def test_the_shipped_speaker_encoder_is_a_fresh_conversion_of_resemblyzers_weights(tmp_path):
    source = resemblyzer_ge2e.packaged_source()
    if source is None:
        pytest.skip("resemblyzer's wheel is not installed (scripts/vendor_assets.py --check converts it)")
    shipped = assets.files(embedded.SPEAKER_FOLDER)
    assert sha256(source) == source_sha256(shipped)
    resemblyzer_ge2e.convert(source, tmp_path / "ge2e")
    assert_same_model(tmp_path / "ge2e", shipped)
