"""Bearer-token check for a server that listens beyond this machine.

A plain ASGI middleware rather than a FastAPI dependency, so no route (the OpenAPI
document and unknown paths included) can be reached without the key. /health stays
open so load balancers and scripts can probe a server they hold no key for.
"""

from __future__ import annotations

import hmac

from .errors import ApiError, error_response

OPEN_PATHS = frozenset({"/health"})


class ApiKeyMiddleware:
    def __init__(self, app, api_key: str, local_token: str | None = None):
        self.app = app
        self._keys = [api_key.encode()] + ([local_token.encode()] if local_token else [])

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope.get("path") in OPEN_PATHS or self._authorised(scope):
            await self.app(scope, receive, send)
            return
        response = error_response(
            ApiError(
                401,
                "Missing or wrong API key: send it as 'Authorization: Bearer KEY'",
                code="invalid_api_key",
            )
        )
        await response(scope, receive, send)

    def _authorised(self, scope) -> bool:
        for name, value in scope.get("headers", ()):
            if name == b"authorization":
                scheme, _, token = value.strip().partition(b" ")
                # Constant-time, so the key cannot be guessed byte by byte from timings.
                token = token.strip()
                matches = [hmac.compare_digest(token, key) for key in self._keys]
                return scheme.lower() == b"bearer" and any(matches)
        return False
