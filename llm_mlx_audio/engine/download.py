"""Downloading models from the Hugging Face hub.

The token comes from `llm keys set huggingface` or HF_TOKEN, and is handed to
huggingface_hub without ever being printed. config.json is fetched first so a text
or vision model is refused before gigabytes of weights come down.
"""

from __future__ import annotations

from pathlib import Path

import llm

from .. import catalog
from ..errors import AudioError, WrongModelKindError
from . import detection

RECOMMENDED = {
    "speech": "mlx-community/Kokoro-82M-bf16",
    "transcription": "mlx-community/whisper-large-v3-turbo",
}

# The files mlx-audio needs; the same list its own loader downloads.
ALLOW_PATTERNS = [
    "*.json",
    "*.safetensors",
    "*.py",
    "*.model",
    "*.tiktoken",
    "*.txt",
    "*.jinja",
    "*.jsonl",
    "*.yaml",
    "*.npz",
    "*.pth",
]


def hf_token():
    return llm.get_key(alias="huggingface", env="HF_TOKEN")


def download(repo_id: str) -> tuple:
    """Download repo_id, check it is a speech or transcription model, record it.

    Returns (kind, local path).
    """
    from huggingface_hub import hf_hub_download, snapshot_download

    token = hf_token()
    with _hub_errors(repo_id):
        try:
            config_path = hf_hub_download(repo_id, "config.json", token=token)
        except Exception as e:
            if type(e).__name__ != "EntryNotFoundError":
                raise
            config_path = None
        config = detection.read_config(Path(config_path).parent) if config_path else None
        kind = detection.detect_kind(config, repo_id)
        if kind not in ("speech", "transcription"):
            raise WrongModelKindError(
                f"{repo_id} is {detection.describe_kind(kind)}; llm-mlx-audio only runs speech "
                "and transcription models"
            )
        path = snapshot_download(repo_id, allow_patterns=ALLOW_PATTERNS, token=token)
    catalog.record_model(repo_id, kind, path, source="huggingface")
    return kind, Path(path)


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
        else:
            return False
        raise AudioError(message) from None
