"""The server's side of the Realtime protocol: events as OpenAI's clients parse them.

Every server event has a ``type`` and its own ``event_id``; items have ids of their
own that later events refer to (``item_id``), so a client can match a transcription
to the speech it belongs to. Errors are events too: a bad client event gets an
``error`` naming the event that caused it, and the socket stays open.
"""

from __future__ import annotations

import secrets


def new_id(prefix: str) -> str:
    """An id in OpenAI's style (``item_...``, ``event_...``): a prefix and 20 random characters."""
    return f"{prefix}_{secrets.token_hex(10)}"


def event(type_: str, **fields) -> dict:
    return {"type": type_, "event_id": new_id("event"), **fields}


class RealtimeError(Exception):
    """A client event that cannot be honoured: becomes an ``error`` event, the session goes on."""

    def __init__(self, message: str, code: str = "invalid_value", param: str | None = None):
        super().__init__(message)
        self.code = code
        self.param = param


def error_event(error: RealtimeError, client_event_id: str | None = None) -> dict:
    return event(
        "error",
        error={
            "type": "invalid_request_error",
            "code": error.code,
            "message": str(error),
            "param": error.param,
            "event_id": client_event_id,
        },
    )


def user_audio_item(item_id: str, transcript: str | None = None) -> dict:
    """The conversation item a committed stretch of audio becomes."""
    return {
        "id": item_id,
        "object": "realtime.item",
        "type": "message",
        "status": "completed",
        "role": "user",
        "content": [{"type": "input_audio", "transcript": transcript}],
    }
