"""Reading a multipart transcription upload into memory, with a hard size limit.

FastAPI's own form parsing spools files over 1 MiB to temporary files and reads the
whole body before any limit could apply. Here the body is fed to python-multipart as
it arrives, bytes are counted as they come (a chunked upload has no Content-Length to
trust), and a declared Content-Length over the limit is refused before one byte is
read. Parts never touch the disk: nothing to leak when a client misbehaves. A form has
at most MAX_FIELDS parts, a field (not the file) at most MAX_FIELD_BYTES, a client may
pause at most UPLOAD_IDLE_SECONDS between chunks, and parsing runs on a worker thread,
never blocking the event loop that answers everyone else.
"""

from __future__ import annotations

import dataclasses

import anyio
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import FormParser, parse_options_header
from starlette.requests import ClientDisconnect, Request

from .errors import ApiError
from .speaker_references import MAX_REFERENCE_BYTES

# Room for the form fields and multipart framing around the file itself.
FORM_OVERHEAD_BYTES = 256 * 1024
# OpenAI's form has about 15 fields; a few repeat (timestamp_granularities[], known_speaker_names[]).
MAX_FIELDS = 64
MAX_FIELD_BYTES = 64 * 1024
UPLOAD_IDLE_SECONDS = 60


@dataclasses.dataclass
class Upload:
    """The fields of a multipart form (every value of each, in order) and its audio file."""

    fields: dict[str, list[str]]
    file: bytes | None
    filename: str | None


def too_large(limit: int) -> ApiError:
    return ApiError(
        413,
        f"The upload is larger than this server's limit of {_megabytes(limit)}",
        param="file",
        code="file_too_large",
    )


async def read_upload(request: Request, max_file_bytes: int) -> Upload:
    """Parse the request's multipart (or urlencoded) form, refusing files over max_file_bytes."""
    max_body = max_file_bytes + FORM_OVERHEAD_BYTES
    declared = request.headers.get("content-length")
    if declared is not None and declared.strip().isdigit() and int(declared) > max_body:
        raise too_large(max_file_bytes)
    content_type, options = parse_options_header(request.headers.get("content-type", ""))
    if content_type not in (b"multipart/form-data", b"application/x-www-form-urlencoded"):
        raise ApiError(
            400,
            "Send the audio as multipart/form-data with the file in a field named 'file'",
            code="invalid_content_type",
        )
    if content_type == b"multipart/form-data" and not options.get(b"boundary"):
        raise ApiError(400, "The multipart body has no boundary", code="invalid_multipart")

    raw_fields: dict[str, list[bytes]] = {}
    files: dict[str, tuple] = {}

    parts = 0

    def count_part() -> None:
        nonlocal parts
        parts += 1
        if parts > MAX_FIELDS:
            raise ApiError(400, f"The form has more than {MAX_FIELDS} fields", code="too_many_fields")

    def on_field(field) -> None:
        count_part()
        name = _text(field.field_name)
        # a voice clip (a data URL) may be longer than any other field
        most = MAX_REFERENCE_BYTES if name.startswith("known_speaker_references") else MAX_FIELD_BYTES
        if len(field.value or b"") > most and name != "file":
            raise ApiError(400, f"The form field {name[:40]!r} is longer than {most // 1024} KB", param=name)
        raw_fields.setdefault(name, []).append(field.value or b"")

    def on_file(file) -> None:
        count_part()
        name = _text(file.field_name)
        if name not in files:  # the first file of a name wins, as with OpenAI's API
            file.file_object.seek(0)
            files[name] = (file.file_object.read(), file.file_name)

    parser = FormParser(
        content_type.decode("latin-1"),
        on_field,
        on_file,
        boundary=options.get(b"boundary"),
        # Above the body limit, so python-multipart never rolls a part over to a temp file.
        config={"MAX_MEMORY_FILE_SIZE": max_body + 1, "MAX_BODY_SIZE": max_body + 1},
    )
    received = 0
    chunks = request.stream()
    try:
        while True:
            with anyio.fail_after(UPLOAD_IDLE_SECONDS):
                chunk = await anext(chunks, None)
            if chunk is None:
                break
            received += len(chunk)
            if received > max_body:
                raise too_large(max_file_bytes)
            if chunk:
                await anyio.to_thread.run_sync(parser.write, chunk)
        await anyio.to_thread.run_sync(parser.finalize)
    except TimeoutError:
        raise ApiError(408, "The upload stalled: no data came for a minute", code="upload_timeout") from None
    except FormParserError as error:
        raise ApiError(400, f"The form data cannot be parsed: {error}", code="invalid_multipart") from None
    except ClientDisconnect:
        raise ApiError(400, "The client went away before the upload finished") from None

    if "file" in files:
        data, filename = files["file"]
        filename = _text(filename) if filename else None
    elif "file" in raw_fields:  # a file part sent without a filename arrives as a plain field
        data, filename = raw_fields.pop("file")[0], None
    else:
        data, filename = None, None
    if data is not None and len(data) > max_file_bytes:
        raise too_large(max_file_bytes)
    fields = {name: [_field_text(name, v) for v in values] for name, values in raw_fields.items()}
    return Upload(fields=fields, file=data, filename=filename)


def _field_text(name: str, value: bytes) -> str:
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        raise ApiError(400, f"The form field {name!r} is not UTF-8 text", param=name) from None


def _text(value) -> str:
    """Names from the form as str, never failing: they only label things."""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value or ""


def _megabytes(n: int) -> str:
    return f"{n / (1024 * 1024):g} MB"
