"""The llm model a spoken conversation talks to, with its key and its tools.

`llm audio chat` and the server's Realtime conversation sessions answer with any llm
model (OpenAI's, a local one, llm-echo in the tests), found the way `llm -m` finds it:
by id or alias, its key from llm's key store. Both refuse an unknown model, a missing
key or an unknown tool in one line before the first word is heard.
"""

from __future__ import annotations

from .errors import AudioError


def language_model(model_id: str | None):
    """llm's model for model_id (llm's default model when None), its key set, or AudioError."""
    import llm

    try:
        model = llm.get_model(model_id or llm.get_default_model())
    except llm.UnknownModelError as e:
        raise AudioError(e.args[0] if e.args else str(e)) from None  # a KeyError: str() adds quotes
    if getattr(model, "needs_key", None):
        model.key = llm.get_key(None, model.needs_key, model.key_env_var)
        if not model.key:
            raise AudioError(f"{model.model_id} needs a key: llm keys set {model.needs_key}")
    return model


def tools(names) -> list:
    """llm's tools of those names (from any plugin), or AudioError naming the unknown ones."""
    if not names:
        return []
    import llm

    available = llm.get_tools()
    missing = [name for name in names if name not in available]
    if missing:
        raise AudioError(f"Unknown tool: {', '.join(missing)} (see `llm tools`)")
    return [available[name] for name in names]
