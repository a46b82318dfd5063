"""The /v1/realtime WebSocket route: a bounded number of sessions, one per socket.

A transcription session is asked for with ``?intent=transcription`` (the beta way) or
by a ``session.update`` whose ``session.type`` is ``"transcription"`` (GA); anything
else is a conversation session, answered by the llm model that ``?model=`` or the
session names. Browsers offer subprotocols (``realtime`` and the key's
``openai-insecure-api-key.KEY``) and fail unless one comes back, so ``realtime`` is
chosen when offered; the key itself is never echoed.
"""

from __future__ import annotations

from fastapi import FastAPI, WebSocket

from .conversation import Responder
from .events import RealtimeError, error_event
from .session import Session
from .settings import Settings

DEFAULT_MAX_SESSIONS = 16
KEY_SUBPROTOCOL = "openai-insecure-api-key."


def install(app: FastAPI, max_sessions: int = DEFAULT_MAX_SESSIONS) -> None:
    active = {"sessions": 0}

    @app.websocket("/v1/realtime")
    async def realtime(websocket: WebSocket, intent: str | None = None, model: str | None = None):
        await websocket.accept(subprotocol=_subprotocol(websocket.scope.get("subprotocols", [])))
        if active["sessions"] >= max_sessions:
            busy = RealtimeError(
                f"this server holds {max_sessions} Realtime sessions already: try again later",
                code="too_many_sessions",
            )
            await websocket.send_json(error_event(busy))
            await websocket.close(code=1013, reason="Too many sessions")
            return
        active["sessions"] += 1
        try:
            transcription = intent == "transcription"
            settings = Settings(
                type="transcription" if transcription else "realtime", transcribe=transcription
            )
            settings.model = model
            session = Session(websocket, settings, beta=transcription)
            if not transcription:
                session.responder = Responder(session)
            await session.run()
        finally:
            active["sessions"] -= 1


def _subprotocol(offered: list[str]) -> str | None:
    if "realtime" in offered:
        return "realtime"
    others = [p for p in offered if not p.startswith(KEY_SUBPROTOCOL)]
    return others[0] if others else None
