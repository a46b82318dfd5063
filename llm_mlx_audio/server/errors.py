"""Errors in OpenAI's shape, so unmodified OpenAI clients raise their usual exception types.

Every error the server sends is {"error": {"message", "type", "param", "code"}} with the
status OpenAI would use: the official clients pick NotFoundError, BadRequestError,
UnprocessableEntityError... from the status and show the message. The plugin's own
AudioError family maps onto statuses here, in one place.
"""

from __future__ import annotations

import logging
import re

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..errors import (
    AudioDecodeError,
    AudioError,
    AudioTooLongError,
    JobCancelled,
    ModelLoadError,
    PoolFullError,
    UnknownModelError,
    WrongModelKindError,
)

log = logging.getLogger("llm_mlx_audio.server")


class ApiError(Exception):
    """An answer other than success, with OpenAI's error fields."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        param: str | None = None,
        code: str | None = None,
        type: str | None = None,
        headers: dict[str, str] | None = None,
    ):
        super().__init__(message)
        self.headers = headers or {}
        self.status = status
        self.message = message
        self.param = param
        self.code = code
        self.type = type or ("server_error" if status >= 500 else "invalid_request_error")


def error_response(error: ApiError) -> JSONResponse:
    body = {
        "error": {
            # One line, as the CLI prints errors: engines sometimes raise multi-line messages.
            "message": without_local_paths(" ".join(error.message.split())) or "Error",
            "type": error.type,
            "param": error.param,
            "code": error.code,
        }
    }
    headers = dict(error.headers)
    if error.status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    return JSONResponse(body, status_code=error.status, headers=headers or None)


# An absolute file path of two or more parts (not one of the API's own /v1/... routes).
_LOCAL_PATH = re.compile(r"(?<![\w/:.~])(?:~|/(?!v1/|health\b))[\w.@+~-]*(?:/[\w.@+~ -]*[\w.@+~-])+/?")


def without_local_paths(message: str) -> str:
    """message with each file path cut to its last part: errors must not tell a client
    where the user's home, models or packages are (model loaders name their folders)."""

    def last_part(match: re.Match) -> str:
        return match.group(0).rstrip("/").rsplit("/", 1)[-1]

    return _LOCAL_PATH.sub(last_part, message)


def from_audio_error(error: AudioError) -> ApiError:
    """The status a plugin error deserves: the client's fault (4xx) unless it is the server's."""
    message = str(error)
    if isinstance(error, UnknownModelError):
        return ApiError(404, message, param="model", code="model_not_found")
    if isinstance(error, WrongModelKindError):
        return ApiError(400, message, param="model", code="wrong_model_kind")
    if isinstance(error, PoolFullError):
        return ApiError(503, message, code="insufficient_memory")
    if isinstance(error, ModelLoadError):
        return ApiError(500, message, code="model_load_failed")
    if isinstance(error, AudioTooLongError):
        return ApiError(413, message, param="file", code="audio_too_long")
    if isinstance(error, AudioDecodeError):
        return ApiError(400, message, param="file", code="invalid_audio")
    if isinstance(error, JobCancelled):
        return ApiError(499, message, code="client_closed_request")  # nobody is listening
    return ApiError(400, message)


def install_error_handlers(app: FastAPI) -> None:
    """Make every error, FastAPI's own included, come out in OpenAI's shape."""

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, error: ApiError):
        return error_response(error)

    @app.exception_handler(AudioError)
    async def _audio_error(request: Request, error: AudioError):
        return error_response(from_audio_error(error))

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, error: RequestValidationError):
        return error_response(from_validation_errors(error.errors()))

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, error: StarletteHTTPException):
        return error_response(ApiError(error.status_code, str(error.detail)))

    @app.exception_handler(Exception)
    async def _bug(request: Request, error: Exception):
        log.exception("Unexpected error serving %s %s", request.method, request.url.path)
        return error_response(ApiError(500, f"Internal server error: {type(error).__name__}"))


def from_validation_errors(errors) -> ApiError:
    """pydantic's error list as one readable line, naming the first offending field.

    A body that is not JSON at all is a 400 (malformed request), a body that breaks the
    schema (speed 10, an unknown response_format) a 422, as FastAPI and OpenAI's clients expect.
    """
    errors = list(errors)
    if not errors:
        return ApiError(422, "Invalid request")
    first = errors[0]
    location = [str(part) for part in first.get("loc", ()) if part not in ("body", "query", "form")]
    # The top-level field is what a client can fix; deeper parts name pydantic's union branches.
    param = location[0] if location else None
    if first.get("type") == "json_invalid":
        return ApiError(400, "The request body is not valid JSON", code="invalid_json")
    if first.get("type") == "extra_forbidden" and param:
        # OpenAI refuses an unknown argument too: a field we cannot honour is never silently dropped.
        return ApiError(
            400, f"{param}: this server does not take this field", param=param, code="unknown_parameter"
        )
    message = first.get("msg", "Invalid value")
    if param:
        message = f"{param}: {message}"
    elif first.get("type") in ("missing", "model_attributes_type", "dict_type"):
        message = "The request body must be a JSON object with the request's fields"
    if len(errors) > 1:
        message += f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})"
    return ApiError(422, message, param=param, code="invalid_value")
