"""Server-Sent Events as OpenAI's SDK reads them: one ``data: {json}`` line and a blank line.

The speech stream (``speech.audio.delta`` / ``speech.audio.done``, with or without word
times) and the transcription stream (``transcript.text.*``) share this framing.
"""

from __future__ import annotations

import json

#: The speech stream's last event; no tokens are counted for local speech.
SPEECH_DONE = {
    "type": "speech.audio.done",
    "usage": {"input_tokens": 0, "output_tokens": 0, "total_tokens": 0},
}


def sse(data: dict) -> bytes:
    """One event."""
    return f"data: {json.dumps(data)}\n\n".encode()
