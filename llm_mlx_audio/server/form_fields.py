"""Multipart form fields as OpenAI's clients send them, gathered into one dict for pydantic.

The openai SDK flattens lists and objects into bracketed names: ``include[]=logprobs``,
``known_speaker_names[]`` once per name, ``chunking_strategy[type]=server_vad`` and
``chunking_strategy[threshold]=0.4`` (seen from openai 3.57 against a loopback server).
curl users write the same fields without brackets, or an object as JSON. Every spelling
ends up as the form model's own field name, so an unknown field is refused by name
instead of being dropped.
"""

from __future__ import annotations

import json

#: Fields that repeat: their values are collected into a list under "NAME[]".
LIST_FIELDS = frozenset(
    {"timestamp_granularities", "known_speaker_names", "known_speaker_references", "include", "vocabulary"}
)
#: Fields that are objects: NAME[key]=value pairs, or NAME as a JSON object or a plain string.
OBJECT_FIELDS = frozenset({"chunking_strategy"})


def gather(fields: dict[str, list[str]]) -> dict:
    """{form field: value}: lists for repeated fields, dicts for objects, the last value otherwise.

    An empty value means "not given", as browsers send empty inputs.
    """
    values: dict = {}
    for name, items in fields.items():
        items = [item for item in items if item != ""]
        if not items:
            continue
        base, key = _split(name)
        if base in LIST_FIELDS or name.endswith("[]"):
            values.setdefault(f"{base}[]", []).extend(items)
        elif base in OBJECT_FIELDS and key:
            target = values.setdefault(base, {})
            if isinstance(target, dict):
                target[key] = items[-1]
        elif base in OBJECT_FIELDS:
            values[base] = _object_or_string(items[-1])
        else:
            values[name] = items[-1]
    return values


def _split(name: str) -> tuple[str, str | None]:
    """("chunking_strategy", "type") for "chunking_strategy[type]"; (name, None) otherwise."""
    if name.endswith("]") and "[" in name:
        base, _, key = name[:-1].partition("[")
        return base, key or None
    return name, None


def _object_or_string(value: str):
    text = value.strip()
    if text.startswith("{"):
        try:
            return json.loads(text)
        except ValueError:
            return value  # pydantic then says what is wrong with it
    return value
