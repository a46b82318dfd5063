"""transformers never imports a repo's own Python code here, whatever ``trust_remote_code`` says.

mlx-audio's loaders pass ``trust_remote_code=True`` to transformers' Auto classes;
``remote_code.py`` refuses folders whose configs ask for code, and this is the lock
behind it. Every Auto class (``AutoTokenizer``, ``AutoProcessor``,
``AutoFeatureExtractor``, ``AutoConfig``, ``AutoModel``, pipelines) reaches a repo's
code through ``dynamic_module_utils.get_class_from_dynamic_module``, which looks up
two functions of its own module at call time: ``get_cached_module_file`` (copies the
``.py`` files and imports the packages they name) and ``get_class_in_module`` (runs
the file). Both are replaced with functions that refuse, so nothing of the repo is
copied, checked or run (checked against transformers 5.24).

transformers is not imported for this: when it is not yet, an import hook puts the
guard in place the moment ``transformers.dynamic_module_utils`` is first imported, so
the modules importing these names from it (``generation.utils``) get the guarded ones
too. When it is already imported, the module and every ``transformers.*`` module
holding the originals are changed now. Once installed it stays, for the process.
"""

from __future__ import annotations

import importlib.abc
import os
import sys

from ...errors import ModelLoadError

MODULE = "transformers.dynamic_module_utils"
CHOKE_POINTS = ("get_cached_module_file", "get_class_in_module")


class ModelCodeRefused(ModelLoadError):
    """The model ships Python code to run; llm-mlx-audio never runs it."""


def refusal(name: str, where: str) -> str:
    """The one line a user sees: which model, and what asked for code."""
    return f"{name} ships its own Python code ({where}); llm-mlx-audio never runs model code"


def install() -> None:
    """Guard transformers' remote-code loader now, or as soon as it is imported."""
    module = sys.modules.get(MODULE)
    if module is not None:
        guard(module)
    elif not any(isinstance(finder, _Finder) for finder in sys.meta_path):
        sys.meta_path.insert(0, _Finder())


def installed() -> bool:
    """Whether the guard is in place, or will be when transformers is imported."""
    module = sys.modules.get(MODULE)
    if module is None:
        return any(isinstance(finder, _Finder) for finder in sys.meta_path)
    return all(getattr(getattr(module, name, None), "_refuses_model_code", False) for name in CHOKE_POINTS)


def guard(module) -> None:
    """Replace the choke points in ``module`` and wherever transformers already copied them."""
    replacements = {_cached_module_file: "get_cached_module_file", _class_in_module: "get_class_in_module"}
    for refuse, name in replacements.items():
        original = getattr(module, name, None)
        if original is None:  # transformers moved it: refuse to load rather than load unguarded
            raise ImportError(f"{MODULE} has no {name}: llm-mlx-audio cannot keep it from running model code")
        if getattr(original, "_refuses_model_code", False):
            continue
        for holder in [m for n, m in list(sys.modules.items()) if n.startswith("transformers.")]:
            if getattr(holder, name, None) is original:
                setattr(holder, name, refuse)
        setattr(module, name, refuse)


def _cached_module_file(pretrained_model_name_or_path, module_file, *args, **kwargs):
    raise ModelCodeRefused(refusal(_shown(pretrained_model_name_or_path), f"{module_file} via transformers"))


def _class_in_module(class_name, module_path, *args, **kwargs):
    module = os.path.basename(os.fspath(module_path))
    raise ModelCodeRefused(
        f"transformers was asked to run {module} ({class_name}); llm-mlx-audio never runs model code"
    )


_cached_module_file._refuses_model_code = True
_class_in_module._refuses_model_code = True


def _shown(name_or_path) -> str:
    """A repo id as it is; a folder by its name, never its whole path."""
    text = os.fspath(name_or_path)
    return os.path.basename(os.path.normpath(text)) if os.path.isabs(text) else text


class _Finder(importlib.abc.MetaPathFinder):
    """Finds nothing itself: wraps the loader of transformers.dynamic_module_utils."""

    def find_spec(self, name, path=None, target=None):
        if name != MODULE:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is not None:
                if spec.loader is not None:
                    spec.loader = _GuardingLoader(spec.loader)
                return spec
        return None


class _GuardingLoader(importlib.abc.Loader):
    """The real loader, then the guard, before anyone can import a name from the module."""

    def __init__(self, loader):
        self._loader = loader

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        self._loader.exec_module(module)
        guard(module)

    def __getattr__(self, name):  # get_source, get_filename...: the real loader's
        return getattr(self._loader, name)
