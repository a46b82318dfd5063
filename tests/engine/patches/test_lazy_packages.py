"""Packages whose __init__ only imports submodules are registered without running it."""

import subprocess
import sys
import textwrap

import pytest

from llm_mlx_audio.engine.patches import lazy_packages


@pytest.fixture
def packages(tmp_path, monkeypatch):
    """A throw-away top-level package 'lazyprobe' with two sub-packages."""
    root = tmp_path / "lazyprobe"
    for name, init in {
        "only_imports": '"""Model families."""\nfrom . import heavy, light\n__all__ = ["heavy", "light"]\n',
        "does_more": "from . import heavy, light\nSETTING = 1\n",
    }.items():
        package = root / name
        package.mkdir(parents=True)
        (package / "__init__.py").write_text(init)
        (package / "heavy.py").write_text("import lazyprobe\nlazyprobe.LOADED.append(__name__)\n")
        (package / "light.py").write_text("VALUE = 42\n")
    (root / "__init__.py").write_text("LOADED = []\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield "lazyprobe"
    for name in [m for m in sys.modules if m == "lazyprobe" or m.startswith("lazyprobe.")]:
        del sys.modules[name]


def test_a_package_that_only_imports_submodules_is_deferred(packages):
    import importlib

    assert lazy_packages.defer_init("lazyprobe.only_imports") is True
    import lazyprobe

    assert lazyprobe.LOADED == []  # heavy.py was not imported by __init__
    light = importlib.import_module("lazyprobe.only_imports.light")
    assert light.VALUE == 42
    from lazyprobe.only_imports import light as same

    assert same is light
    assert lazyprobe.LOADED == []
    from lazyprobe.only_imports import heavy  # noqa: F401  (imported on demand)

    assert lazyprobe.LOADED == ["lazyprobe.only_imports.heavy"]


def test_a_package_whose_init_does_more_is_imported_normally(packages):
    assert lazy_packages.defer_init("lazyprobe.does_more") is False
    import lazyprobe.does_more

    assert lazyprobe.does_more.SETTING == 1
    assert lazyprobe.LOADED == ["lazyprobe.does_more.heavy"]


def test_already_imported_or_missing_packages_are_left_alone(packages):
    import lazyprobe.only_imports  # noqa: F401

    assert lazy_packages.defer_init("lazyprobe.only_imports") is False
    assert lazy_packages.defer_init("lazyprobe.missing") is False
    assert lazy_packages.defer_init("no_such_top_level_package.models") is False


def test_mlx_audio_whisper_loads_without_the_other_model_families(tiny_whisper):
    """The real case: only Whisper's module is imported, and it still loads and runs."""
    code = textwrap.dedent(
        f"""
        import sys, warnings
        from llm_mlx_audio.engine.patches import lazy_packages
        assert lazy_packages.defer_init("mlx_audio.stt.models")
        from mlx_audio.stt.utils import load_model
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = load_model({str(tiny_whisper)!r})
        families = {{m.split(".")[3] for m in sys.modules if m.startswith("mlx_audio.stt.models.")}}
        print(type(model).__module__, ",".join(sorted(families)))
        """
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    module, families = result.stdout.strip().split(" ", 1)
    assert module == "mlx_audio.stt.models.whisper.whisper"
    # mlx-audio's loader itself imports a few (phonon, qwen3_asr), not the eager list's 18
    loaded = set(families.split(","))
    assert "whisper" in loaded
    assert not loaded & {"granite_speech_nar", "granite_speech", "voxtral", "cohere_asr", "parakeet"}
