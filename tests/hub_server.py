"""A loopback Hugging Face hub: the real ``huggingface_hub`` client talks to it over HTTP.

Download code is only trustworthy when it has met the real client: its retries, its
resume, its cache layout and its error classes all come from how it reads status codes
and headers. Mocking ``snapshot_download`` tests none of that, and the real hub is out of
reach (and slow, and changing). This server speaks the small part of the hub's HTTP API
that downloads use, the way huggingface_hub 2.x reads it:

``GET /api/models/{repo}[/revision/{rev}]``
    the repo info: ``sha`` (the commit every later request is pinned to) and ``siblings``.
``GET /api/models/{repo}/tree/{rev}?recursive=...``
    the file listing, paginated with a ``Link: <...>; rel="next"`` header like the hub.
    Files over 10 MB carry an ``lfs`` entry, as LFS files do on the hub.
``HEAD`` / ``GET /{repo}/resolve/{rev}/{path}``
    the file itself, with ``X-Repo-Commit``, ``ETag`` (the git blob sha1, or for LFS files
    the sha256, with ``X-Linked-Etag`` and ``X-Linked-Size``) and ``Content-Length``; a
    ``Range: bytes=N-`` request gets ``206`` and the rest of the file.

Errors carry the hub's ``X-Error-Code`` / ``X-Error-Message`` headers, which is all the
client reads to pick its exception: ``RepoNotFound`` (404) for a repo never added,
``EntryNotFound`` (404) for a missing file, ``RevisionNotFound`` (404) for an unknown
revision, ``GatedRepo`` (401 without a token, 403 with a token that is not in
``tokens``) for a gated repo's files. No ``X-Xet-*`` header is ever sent, so the client
always takes its plain HTTP download path.

Files are streamed from disk in 1 MiB pieces, so a 300 MB model file costs no memory.

Only the standard library is used. ``use_hub(monkeypatch, hub)`` points the in-process
client at a running server (see its docstring for why the environment variable alone is
not enough).
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import BinaryIO
from urllib.parse import parse_qs, quote, unquote, urlsplit

# The hub stores files over 10 MB with LFS: their etag is the content's sha256.
LFS_THRESHOLD = 10 * 1024 * 1024
# The hub lists at most 1000 tree entries per page.
TREE_PAGE_SIZE = 1000
# Headers worth keeping in LoopbackHub.requests for assertions.
RECORDED_HEADERS = ("Range", "Authorization")
_PIECE = 1024 * 1024


@dataclass(frozen=True)
class _File:
    path: str
    size: int
    blob_id: str  # the git blob sha1 (of the LFS pointer, for LFS files)
    sha256: str | None  # set for LFS files only
    pointer_size: int | None
    content: bytes | None = None  # in memory, or...
    source: Path | None = None  # ...streamed from this file

    @property
    def etag(self) -> str:
        return self.sha256 or self.blob_id

    def open(self) -> BinaryIO:
        return io.BytesIO(self.content) if self.content is not None else open(self.source, "rb")  # noqa: SIM115


@dataclass
class _Repo:
    repo_id: str
    sha: str
    files: dict[str, _File]
    gated: bool


def _chunks(data: bytes | Path) -> Iterator[bytes]:
    if isinstance(data, bytes):
        yield data
        return
    with open(data, "rb") as f:
        while piece := f.read(_PIECE):
            yield piece


def _make_file(path: str, data: bytes | Path) -> _File:
    """Hash a file the way git and git-lfs do, reading it once and in pieces."""
    size = len(data) if isinstance(data, bytes) else data.stat().st_size
    content = data if isinstance(data, bytes) else None
    source = None if isinstance(data, bytes) else data
    if size > LFS_THRESHOLD:
        sha256 = hashlib.sha256()
        for piece in _chunks(data):
            sha256.update(piece)
        pointer = (
            f"version https://git-lfs.github.com/spec/v1\noid sha256:{sha256.hexdigest()}\nsize {size}\n"
        )
        blob_id = _git_blob_sha1([pointer.encode()], len(pointer))
        return _File(path, size, blob_id, sha256.hexdigest(), len(pointer), content, source)
    return _File(path, size, _git_blob_sha1(_chunks(data), size), None, None, content, source)


def _git_blob_sha1(pieces, size: int) -> str:
    sha1 = hashlib.sha1(f"blob {size}\0".encode())
    for piece in pieces:
        sha1.update(piece)
    return sha1.hexdigest()


def _fake_commit(repo_id: str) -> str:
    return hashlib.sha1(f"loopback-hub commit of {repo_id}".encode()).hexdigest()


class LoopbackHub:
    """A context manager: starts on 127.0.0.1 on a free port in a daemon thread.

    ``endpoint`` is ``http://127.0.0.1:PORT``. Every request is appended to ``requests``
    as ``(method, path with query, {recorded header: value})``, and every file body sent
    to ``served`` as ``(path, status, body bytes actually sent)``: a resume shows there as
    a 206 carrying only the rest of the file.
    """

    def __init__(self):
        self.tokens: set[str] = set()
        self.requests: list[tuple[str, str, dict]] = []
        self.served: list[tuple[str, int, int]] = []
        self.tree_page_size = TREE_PAGE_SIZE
        self._repos: dict[str, _Repo] = {}
        self._interrupts: dict[tuple[str, str], tuple[int, int]] = {}
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.endpoint = ""

    # -- lifecycle -----------------------------------------------------------

    def __enter__(self) -> LoopbackHub:
        server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        server.daemon_threads = True
        server.hub = self  # type: ignore[attr-defined]
        self._server = server
        self.endpoint = f"http://127.0.0.1:{server.server_address[1]}"
        self._thread = threading.Thread(
            target=server.serve_forever, args=(0.05,), name="loopback-hub", daemon=True
        )
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        assert self._server is not None and self._thread is not None
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    # -- content -------------------------------------------------------------

    def add_repo(
        self,
        repo_id: str,
        folder: Path | dict[str, bytes | Path],
        *,
        gated: bool = False,
        revision_sha: str | None = None,
    ) -> None:
        """Publish a model repo: a folder's files (recursively), or ``{path in repo: bytes or file}``."""
        if isinstance(folder, Path):
            entries = {p.relative_to(folder).as_posix(): p for p in sorted(folder.rglob("*")) if p.is_file()}
        else:
            entries = dict(folder)
        sha = revision_sha or _fake_commit(repo_id)
        if not re.fullmatch(r"[0-9a-f]{40}", sha):
            raise ValueError(f"revision_sha must be 40 lowercase hex digits, not {sha!r}")
        files = {path: _make_file(path, data) for path, data in sorted(entries.items())}
        with self._lock:
            self._repos[repo_id] = _Repo(repo_id, sha, files, gated)

    def interrupt_next(self, repo_id: str, path: str, after_bytes: int, *, times: int = 1) -> None:
        """The next GET of this file sends full headers, then drops the connection after ``after_bytes`` of body.

        ``times`` GETs in a row are cut that way (the client retries a dropped download
        itself); the ones after are served whole, ``Range`` resumes included.
        """
        with self._lock:
            self._interrupts[(repo_id, path)] = (after_bytes, times)

    def commit(self, repo_id: str) -> str:
        """The commit sha the hub reports for ``repo_id`` (every download is pinned to it)."""
        repo = self._repo(repo_id)
        if repo is None:
            raise KeyError(repo_id)
        return repo.sha

    def requests_for(self, repo_id: str) -> list[tuple[str, str, dict]]:
        """The requests about one repo: its API calls and its file downloads."""
        api, resolve = f"/api/models/{repo_id}", f"/{repo_id}/resolve/"
        with self._lock:
            return [
                r for r in self.requests if r[1] == api or r[1].startswith((api + "/", api + "?", resolve))
            ]

    # -- used by the handler -------------------------------------------------

    def _record(self, method: str, path: str, headers) -> None:
        kept = {name: headers[name] for name in RECORDED_HEADERS if headers.get(name) is not None}
        with self._lock:
            self.requests.append((method, path, kept))

    def _serving(self, path: str, status: int, size: int) -> int:
        with self._lock:
            self.served.append((path, status, size))
            return len(self.served) - 1

    def _served_only(self, entry: int, sent: int) -> None:
        with self._lock:
            path, status, _ = self.served[entry]
            self.served[entry] = (path, status, sent)

    def _repo(self, repo_id: str) -> _Repo | None:
        with self._lock:
            return self._repos.get(repo_id)

    def _take_interrupt(self, repo_id: str, path: str) -> int | None:
        with self._lock:
            after_bytes, times = self._interrupts.pop((repo_id, path), (None, 0))
            if times > 1:
                self._interrupts[(repo_id, path)] = (after_bytes, times - 1)
            return after_bytes


class _HubError(Exception):
    def __init__(self, status: int, code: str | None, message: str, headers: dict | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers or {}


def _repo_not_found(repo_id: str) -> _HubError:
    return _HubError(404, "RepoNotFound", f"Repository not found: {repo_id}")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the client's connection pool expects
    server_version = "loopback-hub"

    @property
    def hub(self) -> LoopbackHub:
        return self.server.hub  # type: ignore[attr-defined]

    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass  # quiet: tests read hub.requests instead

    def do_GET(self):
        self._dispatch("GET")

    def do_HEAD(self):
        self._dispatch("HEAD")

    def _dispatch(self, method: str) -> None:
        self.hub._record(method, self.path, self.headers)
        url = urlsplit(self.path)
        parts = [unquote(p) for p in url.path.split("/")[1:]]
        try:
            if parts[:2] == ["api", "models"] and len(parts) >= 3:
                self._api(method, parts[2:], parse_qs(url.query))
            elif "resolve" in parts[1:3]:
                at = parts.index("resolve", 1)
                repo_id = "/".join(parts[:at])
                if len(parts) < at + 3:
                    raise _HubError(404, "EntryNotFound", "Entry not found")
                self._resolve(method, repo_id, parts[at + 1], "/".join(parts[at + 2 :]))
            else:
                raise _HubError(404, None, f"Not found: {url.path}")
        except _HubError as e:
            self._send_error(method, e)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client went away mid-response

    def _send_error(self, method: str, error: _HubError) -> None:
        body = json.dumps({"error": error.message}).encode()
        self.send_response(error.status)
        self.send_header("Content-Type", "application/json")
        if error.code:
            self.send_header("X-Error-Code", error.code)
        self.send_header("X-Error-Message", error.message)
        for name, value in error.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if method == "GET":
            self.wfile.write(body)

    def _send_json(self, method: str, payload, headers: dict | None = None) -> None:
        body = json.dumps(payload).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if method == "GET":
            self.wfile.write(body)

    # -- /api/models/... -----------------------------------------------------

    def _api(self, method: str, parts: list[str], query: dict) -> None:
        # /api/models/{repo}, /api/models/{repo}/revision/{rev}, /api/models/{repo}/tree/{rev}[/{path}]
        # Repo ids are "name" or "namespace/name": the verb sits at index 1 or 2.
        verb_at = next((i for i in (1, 2) if len(parts) > i + 1 and parts[i] in ("revision", "tree")), None)
        repo_id = "/".join(parts if verb_at is None else parts[:verb_at])
        repo = self.hub._repo(repo_id)
        if repo is None:
            raise _repo_not_found(repo_id)
        if verb_at is None:
            return self._send_json(method, self._info(repo))
        verb, revision, rest = parts[verb_at], parts[verb_at + 1], "/".join(parts[verb_at + 2 :])
        self._check_revision(repo, revision)
        if verb == "revision":
            return self._send_json(method, self._info(repo))
        self._tree(method, repo, revision, rest, query)

    @staticmethod
    def _check_revision(repo: _Repo, revision: str) -> None:
        if revision not in ("main", repo.sha):
            raise _HubError(404, "RevisionNotFound", f"Invalid rev id: {revision}")

    @staticmethod
    def _info(repo: _Repo) -> dict:
        return {
            "_id": repo.sha[:24],
            "id": repo.repo_id,
            "modelId": repo.repo_id,
            "author": repo.repo_id.split("/")[0] if "/" in repo.repo_id else None,
            "sha": repo.sha,
            "lastModified": "2025-01-01T00:00:00.000Z",
            "private": False,
            "gated": "manual" if repo.gated else False,
            "disabled": False,
            "tags": [],
            "siblings": [{"rfilename": f.path, "size": f.size} for f in repo.files.values()],
        }

    def _tree(self, method: str, repo: _Repo, revision: str, folder: str, query: dict) -> None:
        recursive = query.get("recursive", ["false"])[0].lower() == "true"
        prefix = f"{folder}/" if folder else ""
        if folder and not any(p.startswith(prefix) for p in repo.files):
            raise _HubError(404, "EntryNotFound", f"{folder} does not exist on {revision}")
        entries, seen_dirs = [], set()
        for path, f in repo.files.items():
            if not path.startswith(prefix):
                continue
            inside = path[len(prefix) :].split("/")
            # The folders on the way are listed too, once, before their contents (as the hub does)
            for depth in range(1, len(inside) if recursive else min(len(inside), 2)):
                sub = prefix + "/".join(inside[:depth])
                if sub not in seen_dirs:
                    seen_dirs.add(sub)
                    entries.append(
                        {"type": "directory", "oid": _fake_commit(repo.sha + sub), "size": 0, "path": sub}
                    )
            if len(inside) > 1 and not recursive:
                continue
            entry = {"type": "file", "oid": f.blob_id, "size": f.size, "path": path}
            if f.sha256 is not None:
                entry["lfs"] = {"oid": f.sha256, "size": f.size, "pointerSize": f.pointer_size}
            entries.append(entry)
        start = int(query.get("cursor", ["0"])[0])
        page = entries[start : start + self.hub.tree_page_size]
        headers = {}
        if start + self.hub.tree_page_size < len(entries):
            next_query = f"recursive={str(recursive).lower()}&cursor={start + self.hub.tree_page_size}"
            tree_path = f"/api/models/{repo.repo_id}/tree/{quote(revision, safe='')}"
            if folder:
                tree_path += "/" + quote(folder, safe="")
            headers["Link"] = f'<{self.hub.endpoint}{tree_path}?{next_query}>; rel="next"'
        self._send_json(method, page, headers)

    # -- /{repo}/resolve/{rev}/{path} ----------------------------------------

    def _resolve(self, method: str, repo_id: str, revision: str, path: str) -> None:
        repo = self.hub._repo(repo_id)
        if repo is None:
            raise _repo_not_found(repo_id)
        self._check_revision(repo, revision)
        commit = {"X-Repo-Commit": repo.sha}
        if repo.gated:
            auth = self.headers.get("Authorization") or ""
            token = auth[len("Bearer ") :] if auth.startswith("Bearer ") else None
            if token not in self.hub.tokens:
                status = 401 if token is None else 403
                raise _HubError(
                    status,
                    "GatedRepo",
                    f"Access to model {repo_id} is restricted. You must have access to it and be "
                    "authenticated to access it. Please log in.",
                    commit,
                )
        f = repo.files.get(path)
        if f is None:
            raise _HubError(404, "EntryNotFound", "Entry not found", commit)

        start, end = 0, f.size  # [start, end)
        status = 200
        range_header = self.headers.get("Range")
        if range_header and f.size:
            match = re.fullmatch(r"bytes=(\d+)-(\d*)", range_header.strip())
            if match is None or int(match[1]) >= max(f.size, 1):
                raise _HubError(
                    416,
                    None,
                    f"Range not satisfiable: {range_header}",
                    {"Content-Range": f"bytes */{f.size}"},
                )
            start = int(match[1])
            end = min(int(match[2]) + 1, f.size) if match[2] else f.size
            status = 206

        self.send_response(status)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("X-Repo-Commit", repo.sha)
        self.send_header("ETag", f'"{f.etag}"')
        if f.sha256 is not None:
            self.send_header("X-Linked-Etag", f'"{f.sha256}"')
            self.send_header("X-Linked-Size", str(f.size))
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{end - 1}/{f.size}")
        self.send_header("Content-Length", str(end - start))
        self.send_header("Content-Disposition", f'inline; filename="{path.rsplit("/", 1)[-1]}"')
        self.end_headers()
        if method == "HEAD":
            return

        cut = self.hub._take_interrupt(repo_id, path)
        limit = end - start if cut is None else min(cut, end - start)
        # Logged before the body goes out: once the last byte is written the client may
        # finish, and a test read hub.served, before this thread gets to run again.
        entry = self.hub._serving(urlsplit(self.path).path, status, limit)
        sent = 0
        try:
            with f.open() as source:
                source.seek(start)
                while sent < limit:
                    piece = source.read(min(_PIECE, limit - sent))
                    if not piece:
                        break
                    self.wfile.write(piece)
                    sent += len(piece)
        finally:
            if sent != limit:
                self.hub._served_only(entry, sent)
        if cut is not None:
            # A dropped download: the promised Content-Length is never reached.
            self.wfile.flush()
            self.close_connection = True


def use_hub(monkeypatch, hub: LoopbackHub) -> None:
    """Point the in-process huggingface_hub client (and subprocesses) at ``hub``.

    huggingface_hub reads ``HF_ENDPOINT`` once, at import, into ``constants.ENDPOINT``
    (used by ``HfApi`` for /api calls) and into ``constants.HUGGINGFACE_CO_URL_TEMPLATE``
    (used by ``hf_hub_url`` for /resolve URLs), and ``HF_HUB_OFFLINE`` into
    ``constants.HF_HUB_OFFLINE`` (checked on every request). By the time a test runs the
    module is imported, so the constants are patched; the environment variables are set
    too, for ``llm`` subprocesses (tests/conftest.py sets ``HF_HUB_OFFLINE=1`` for every
    test). ``constants.HF_URL_HOSTS`` (the hosts whose redirects keep the token) gains
    127.0.0.1 for the same reason, though this server never redirects. Implicit tokens
    are switched off so a developer's own saved token never reaches the server: only a
    ``token=`` passed in is sent.
    """
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "ENDPOINT", hub.endpoint)
    monkeypatch.setattr(
        constants, "HUGGINGFACE_CO_URL_TEMPLATE", hub.endpoint + "/{repo_id}/resolve/{revision}/{filename}"
    )
    monkeypatch.setattr(constants, "HF_URL_HOSTS", constants.HF_URL_HOSTS | {"127.0.0.1"})
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(constants, "HF_HUB_DISABLE_IMPLICIT_TOKEN", True)
    monkeypatch.setenv("HF_ENDPOINT", hub.endpoint)
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setenv("HF_HUB_DISABLE_IMPLICIT_TOKEN", "1")
    monkeypatch.delenv("HF_TOKEN", raising=False)
