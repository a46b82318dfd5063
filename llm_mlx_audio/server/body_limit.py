"""A size limit on request bodies other than audio uploads (JSON, mostly).

FastAPI reads a JSON body whole before a route sees it, with no limit: a client could
send gigabytes. Here the body is read first, up to ``max_bytes`` (a declared
Content-Length over it is refused before one byte is read), and handed on unchanged;
one byte more is a 413. The upload routes are left alone: server/upload.py streams
and limits those itself, after admission.
"""

from __future__ import annotations

from .errors import ApiError, error_response

DEFAULT_MAX_JSON_BYTES = 1024 * 1024
UPLOAD_PATHS = frozenset({"/v1/audio/transcriptions", "/v1/audio/translations"})


class BodyLimit:
    def __init__(self, app, max_bytes: int = DEFAULT_MAX_JSON_BYTES):
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope.get("path") in UPLOAD_PATHS:
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers", ())).get(b"content-length", b"").strip()
        if declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(scope, receive, send)
            return
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client left before its body arrived: nobody to answer
            body += message.get("body", b"")
            if len(body) > self.max_bytes:
                await self._refuse(scope, receive, send)
                return
            if not message.get("more_body", False):
                break
        await self.app(scope, _replay(bytes(body), receive), send)

    async def _refuse(self, scope, receive, send):
        error = ApiError(
            413,
            f"The request body is larger than this server's limit of {self.max_bytes // 1024} KB",
            code="body_too_large",
        )
        await error_response(error)(scope, receive, send)


def _replay(body: bytes, receive):
    """A receive that gives the buffered body once, then the real one (to see a disconnect)."""
    sent = False

    async def replay():
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
