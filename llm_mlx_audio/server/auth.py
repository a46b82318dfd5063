"""Bearer-token check for a server with an API key, on HTTP and WebSocket alike.

A plain ASGI middleware rather than a FastAPI dependency, so no route (the OpenAPI
document, unknown paths and WebSocket handshakes included) can be reached without the
key. /health stays open so load balancers and scripts can probe a server they hold no
key for, and so do the read-only listings (GET /v1/models, /v1/audio/models,
/v1/audio/voices): they name models and voices and run nothing, and Open WebUI asks for
them without its key, falling back to OpenAI's stock names when refused. A browser cannot set headers on a WebSocket, so there the key may also come
as OpenAI Realtime's subprotocol ``openai-insecure-api-key.KEY``.
"""

from __future__ import annotations

import hmac

from .errors import ApiError, error_response

OPEN_PATHS = frozenset({"/health"})
OPEN_LISTINGS = frozenset({"/v1/models", "/v1/audio/models", "/v1/audio/voices"})
SUBPROTOCOL_PREFIX = b"openai-insecure-api-key."


class ApiKeyMiddleware:
    def __init__(self, app, api_key: str, local_token: str | None = None):
        self.app = app
        self._keys = [api_key.encode()] + ([local_token.encode()] if local_token else [])

    async def __call__(self, scope, receive, send):
        exempt = scope["type"] not in ("http", "websocket") or _open(scope)
        if exempt or self._authorised(scope):
            await self.app(scope, receive, send)
        elif scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008, "reason": "Missing or wrong API key"})
        else:
            response = error_response(
                ApiError(
                    401,
                    "Missing or wrong API key: send it as 'Authorization: Bearer KEY'",
                    code="invalid_api_key",
                )
            )
            await response(scope, receive, send)

    def _authorised(self, scope) -> bool:
        for token in _offered_tokens(scope):
            # Constant-time, so the key cannot be guessed byte by byte from timings.
            if any([hmac.compare_digest(token, key) for key in self._keys]):
                return True
        return False


def _open(scope) -> bool:
    path = scope.get("path")
    if path in OPEN_PATHS:
        return True
    return scope["type"] == "http" and scope.get("method") in ("GET", "HEAD") and path in OPEN_LISTINGS


def _offered_tokens(scope) -> list[bytes]:
    """The keys a request offers: its Bearer token, and on a WebSocket the key subprotocol."""
    tokens = []
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            scheme, _, token = value.strip().partition(b" ")
            if scheme.lower() == b"bearer":
                tokens.append(token.strip())
        elif name == b"sec-websocket-protocol" and scope["type"] == "websocket":
            for protocol in value.split(b","):
                protocol = protocol.strip()
                if protocol.startswith(SUBPROTOCOL_PREFIX):
                    tokens.append(protocol[len(SUBPROTOCOL_PREFIX) :])
    return tokens
