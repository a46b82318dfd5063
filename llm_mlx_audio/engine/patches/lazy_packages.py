"""Skip the eager ``__init__`` of packages that only import their own submodules.

``mlx_audio/stt/models/__init__.py`` is nothing but ``from . import cohere_asr, ...,
whisper``: eighteen model families, which pull in most of transformers. Importing
``mlx_audio.stt.models.whisper`` runs it first, ~0.9 s of every ``llm transcribe`` on
2 cores (measured), for models the command never uses.

mlx-audio's loader imports each model by its full path
(``importlib.import_module("mlx_audio.stt.models.whisper")``), which works the same on a
package whose ``__init__`` has not run: Python finds submodules through the package's
``__path__``, and ``from package import submodule`` imports them on demand. So such a
package is registered without running its ``__init__`` -- but only after reading that
file and checking that it holds nothing but relative imports of its submodules
(docstring and ``__all__`` allowed). Anything else, and the package imports normally.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import sys


def defer_init(name: str) -> bool:
    """Register package ``name`` without running its ``__init__``; True if deferred.

    Does nothing (returns False) when the package is already imported, cannot be
    found, or its ``__init__`` does anything besides importing its own submodules.
    """
    if name in sys.modules:
        return False
    parent_name, _, child = name.rpartition(".")
    try:
        parent = importlib.import_module(parent_name) if parent_name else None
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return False
    if spec is None or spec.origin is None or not spec.submodule_search_locations:
        return False
    if not _only_imports_submodules(spec.origin):
        return False
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    if parent is not None:
        setattr(parent, child, module)
    return True


def _only_imports_submodules(path: str) -> bool:
    try:
        with open(path, encoding="utf-8") as f:
            tree = ast.parse(f.read(), filename=path)
    except (OSError, SyntaxError, UnicodeDecodeError):
        return False
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.level == 1 and node.module is None:
            continue  # from . import a, b
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            continue  # docstring
        if isinstance(node, ast.Assign) and all(
            isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets
        ):
            continue
        return False
    return True
