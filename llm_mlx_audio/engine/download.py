"""Downloading models from the Hugging Face hub.

The token comes from `llm keys set huggingface` or HF_TOKEN, and is handed to
huggingface_hub without ever being printed. config.json is fetched first so a text
or vision model is refused before gigabytes of weights come down. On a terminal, a
download says in one line what it fetches (repo, size, where) and shows a progress
bar; when stderr is not a terminal (a script, a pipe, a log) it says nothing.

Model code never comes down: no ``*.py`` and no pickled ``*.pth`` (mlx-audio's own
list has both; the repos this plugin runs carry safetensors). A repo whose config.json
names its own code (``auto_map``...) is refused before the weights come down, and one
whose tokenizer or processor config does is refused once fetched, before it is
recorded (remote_code.py).
"""

from __future__ import annotations

from pathlib import Path

import llm

from .. import catalog
from ..errors import AudioError, WrongModelKindError
from . import detection, remote_code

RECOMMENDED = {
    "speech": "mlx-community/Kokoro-82M-bf16",
    "transcription": "mlx-community/whisper-large-v3-turbo",
}

# The files mlx-audio needs: its own loader's list without code (*.py) and pickles (*.pth).
ALLOW_PATTERNS = [
    "*.json",
    "*.safetensors",
    "*.model",
    "*.tiktoken",
    "*.txt",
    "*.jinja",
    "*.jsonl",
    "*.yaml",
    "*.npz",
]


def hf_token():
    return llm.get_key(alias="huggingface", env="HF_TOKEN")


def download(repo_id: str) -> tuple:
    """Download repo_id, check it is a speech or transcription model, record it.

    Returns (kind, local path).
    """
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import EntryNotFoundError

    token = hf_token()
    with _hub_errors(repo_id):
        try:
            config_path = hf_hub_download(repo_id, "config.json", token=token)
        except EntryNotFoundError:  # RemoteEntryNotFoundError in huggingface_hub 1.x and 2.x
            config_path = None
        config = detection.read_config(Path(config_path).parent) if config_path else None
        kind = detection.detect_kind(config, repo_id)
        if kind not in ("speech", "transcription"):
            raise WrongModelKindError(
                f"{repo_id} is {detection.describe_kind(kind)}; llm-mlx-audio only runs speech "
                "and transcription models"
            )
        remote_code.check_config(config, "config.json", repo_id)
        path = _fetch(repo_id, token)
    remote_code.check_folder(path, repo_id)
    catalog.record_model(repo_id, kind, path, source="huggingface")
    return kind, Path(path)


def _fetch(repo_id: str, token) -> str:
    """snapshot_download, announced and with a progress bar on a terminal, silent elsewhere."""
    import sys

    from huggingface_hub import constants, snapshot_download
    from huggingface_hub.utils import are_progress_bars_disabled, disable_progress_bars, enable_progress_bars

    on_terminal = sys.stderr.isatty()
    if on_terminal:
        planned = snapshot_download(repo_id, allow_patterns=ALLOW_PATTERNS, token=token, dry_run=True)
        missing = [f for f in planned if f.will_download]
        if missing:
            size = sum(f.file_size or 0 for f in missing)
            print(
                f"Downloading {repo_id} ({human_size(size)}, {len(missing)} files) into {constants.HF_HUB_CACHE}",
                file=sys.stderr,
                flush=True,
            )
    was_disabled = are_progress_bars_disabled()
    if not on_terminal:
        disable_progress_bars()
    try:
        return snapshot_download(repo_id, allow_patterns=ALLOW_PATTERNS, token=token)
    finally:
        if not on_terminal and not was_disabled:
            enable_progress_bars()


def human_size(size: int) -> str:
    """1.6 GB, 312 MB, 980 kB."""
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if size >= scale:
            return f"{size / scale:.3g} {unit}"
    return f"{size} B"


class _hub_errors:
    """Turn huggingface_hub's exceptions into one-line AudioErrors (never showing the token)."""

    def __init__(self, repo_id):
        self.repo_id = repo_id

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc is None or isinstance(exc, AudioError) or not isinstance(exc, Exception):
            return False
        name = type(exc).__name__
        repo = self.repo_id
        if name == "GatedRepoError":
            message = f"{repo} is gated: accept its terms on huggingface.co, then `llm keys set huggingface`"
        elif name == "RepositoryNotFoundError":
            message = (
                f"{repo} was not found on the Hugging Face hub (or it is private: `llm keys set huggingface`)"
            )
        elif name == "RevisionNotFoundError":
            message = f"{repo}: that revision does not exist"
        elif name in ("LocalEntryNotFoundError", "OfflineModeIsEnabled") or isinstance(
            exc, (ConnectionError, OSError)
        ):
            message = f"Cannot download {repo}: the Hugging Face hub cannot be reached and it is not in the local cache"
        elif name == "HfHubHTTPError":
            message = f"Cannot download {repo}: {str(exc).splitlines()[0]}"
        elif name in ("RemoteProtocolError", "ReadError", "ReadTimeout", "ConnectError", "IncompleteRead"):
            # The connection kept dropping (the client retries a few times first).
            message = f"Cannot download {repo}: the connection to the hub kept dropping ({name}); run it again: the files already fetched are kept"
        else:
            return False
        raise AudioError(message) from None
