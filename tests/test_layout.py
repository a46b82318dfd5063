"""The package's import rules: the layout says who may use whom, and nothing goes round in circles.

Every import in every module counts, including those inside functions (the package
imports lazily to stay cheap): a lazy import is still a dependency.

- ``audio/`` and ``text/`` know nothing of models, engines, llm or the server.
- ``engine/patches/`` (everything that reaches into mlx-audio) imports no llm and
  nothing of the package outside itself but ``errors``.
- ``server/`` reaches models only through ``registry``, never the engine.
- Only ``hooks.py`` and ``registry.py`` (and the engine itself) import ``engine/``.
- The small top-level nouns (models, errors, files, voices, catalog) import no
  engine, server or commands.
"""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "llm_mlx_audio"
NAME = "llm_mlx_audio"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path) -> set[str]:
    """Absolute names of everything path imports (any depth, TYPE_CHECKING blocks aside)."""
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    tree = ast.parse(path.read_text())
    skipped = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped.update(id(n) for n in ast.walk(node))
    found = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module
            submodules = {f"{target}.{alias.name}" for alias in node.names} & set(_all_modules())
            found.update(submodules)
            if len(submodules) < len(node.names):  # names defined in target itself
                found.add(target)
    return found


def _all_modules() -> list[str]:
    return [_module_name(p) for p in PACKAGE.rglob("*.py")]


MODULES = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
GRAPH = {
    name: {imported for imported in _imports(path) if imported in MODULES and imported != name}
    for name, path in MODULES.items()
}


def _external(name: str) -> set[str]:
    return {i.split(".")[0] for i in _imports(MODULES[name])}


def _in(name: str, folder: str) -> bool:
    prefix = f"{NAME}.{folder}"
    return name == prefix or name.startswith(prefix + ".")


def test_the_layout_is_read_from_the_real_package():
    assert f"{NAME}.engine.patches" in MODULES and f"{NAME}.audio.encode" in MODULES
    assert f"{NAME}.engine.pool" in GRAPH[f"{NAME}.engine.models"]


def test_the_top_level_holds_at_most_fourteen_modules():
    top = [p for p in PACKAGE.glob("*.py")]
    assert len(top) <= 14, sorted(p.name for p in top)


@pytest.mark.parametrize("name", sorted(n for n in MODULES if _in(n, "audio")))
def test_audio_knows_nothing_of_models_engines_llm_or_the_server(name):
    allowed = {f"{NAME}.errors"}
    inside = {i for i in GRAPH[name] if not _in(i, "audio") and i != f"{NAME}.audio"}
    assert inside <= allowed, inside
    assert "llm" not in _external(name)


@pytest.mark.parametrize("name", sorted(n for n in MODULES if _in(n, "engine.patches")))
def test_the_patches_import_no_llm_and_nothing_outside_themselves_but_errors(name):
    outside = {i for i in GRAPH[name] if not _in(i, "engine.patches") and i not in (NAME, f"{NAME}.engine")}
    assert outside <= {f"{NAME}.errors"}, outside
    assert "llm" not in _external(name)


@pytest.mark.parametrize("name", sorted(n for n in MODULES if _in(n, "server")))
def test_the_server_reaches_models_only_through_the_registry(name):
    assert not {i for i in GRAPH[name] if _in(i, "engine")}


def test_only_hooks_and_the_registry_import_the_engine():
    users = {
        n for n, imported in GRAPH.items() if not _in(n, "engine") and any(_in(i, "engine") for i in imported)
    }
    assert users <= {f"{NAME}.hooks", f"{NAME}.registry"}, users


@pytest.mark.parametrize("name", sorted(n for n in MODULES if _in(n, "text")))
def test_text_preparation_knows_nothing_of_models_engines_llm_or_the_server(name):
    inside = {i for i in GRAPH[name] if not _in(i, "text")}
    assert inside <= {f"{NAME}.errors"}, inside
    assert "llm" not in _external(name)


@pytest.mark.parametrize("noun", ["models", "errors", "files", "voices", "catalog"])
def test_the_small_nouns_import_no_engine_server_or_commands(noun):
    name = f"{NAME}.{noun}"
    assert not {i for i in GRAPH[name] if _in(i, "engine") or _in(i, "server") or _in(i, "commands")}


def test_the_public_api_does_not_import_llm():
    assert "llm" not in _external(NAME)


def test_there_are_no_import_cycles():
    """Depth-first search over every import; packages' empty __init__ files aside."""
    state: dict[str, int] = {}
    cycles = []

    def visit(name, trail):
        state[name] = 1
        for nxt in sorted(GRAPH[name]):
            if MODULES[nxt].name == "__init__.py" and nxt != NAME and len(GRAPH[nxt]) == 0:
                continue
            if state.get(nxt) == 1:
                cycles.append(trail[trail.index(nxt) :] + [nxt])
            elif nxt not in state:
                visit(nxt, trail + [nxt])
        state[name] = 2

    for name in sorted(GRAPH):
        if name not in state:
            visit(name, [name])
    assert not cycles, cycles
