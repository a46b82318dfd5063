"""Importing spaCy without its command line.

spaCy's ``__init__`` re-exports one function of its command line, ``spacy.info``, with
``from .cli.info import info``. That one line imports all of ``spacy.cli`` (typer,
weasel, httpx, rich...): ~0.25 s of every cold `llm speak` on 2 cores (measured),
for commands nobody runs here. misaki imports spaCy at its top, so this is paid by
every English sentence's first load.

``without_cli()`` puts a stand-in for ``spacy.cli`` and ``spacy.cli.info`` in place
only while spaCy's ``__init__`` runs, then takes it away: a later ``import
spacy.cli`` imports the real one, and ``spacy.info(...)`` imports it on its first
call. Nothing else in spaCy imports its command line while being imported (checked
against spaCy 3.8). If the import fails with the stand-in, what it imported is
forgotten and spaCy is imported the ordinary way.
"""

from __future__ import annotations

import contextlib
import sys
import types

_STAND_INS = ("spacy.cli", "spacy.cli.info")


def _info(*args, **kwargs):
    """spaCy's ``info`` (``spacy.info``), imported when first called."""
    from spacy.cli.info import info

    return info(*args, **kwargs)


@contextlib.contextmanager
def without_cli():
    """Within this block, importing spaCy (or what imports it) skips spacy.cli."""
    if "spacy" in sys.modules or any(name in sys.modules for name in _STAND_INS):
        yield
        return
    cli = types.ModuleType("spacy.cli")
    cli.__path__ = []  # a package with no files: only the stand-in below is found in it
    info = types.ModuleType("spacy.cli.info")
    info.info = _info
    cli.info = info
    before = set(sys.modules)
    sys.modules.update({"spacy.cli": cli, "spacy.cli.info": info})
    try:
        yield
    except Exception:
        _forget(before)
        raise
    finally:
        for name, stand_in in (("spacy.cli", cli), ("spacy.cli.info", info)):
            if sys.modules.get(name) is stand_in:
                del sys.modules[name]
        spacy = sys.modules.get("spacy")
        if spacy is not None and getattr(spacy, "cli", None) is cli:
            del spacy.cli


def _forget(before: set) -> None:
    for name in set(sys.modules) - before:
        if name == "spacy" or name.startswith("spacy.") or name.startswith("misaki"):
            del sys.modules[name]


def import_misaki_english():
    """``misaki.en`` (which imports spaCy), without spaCy's command line when possible."""
    try:
        with without_cli():
            from misaki import en
    except ModuleNotFoundError:
        raise  # something is not installed: the caller says what to install
    except Exception:  # noqa: BLE001 (the stand-in was not enough: the ordinary way)
        from misaki import en
    return en
