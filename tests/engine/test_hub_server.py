"""The real huggingface_hub client against the loopback hub (tests/hub_server.py).

These pin down what the installed client really does over HTTP: which requests a
snapshot makes, which exception each hub error becomes, how a dropped download is
retried or resumed, and that offline mode never touches the network. Download code in
llm_mlx_audio is written against exactly these behaviours, so when a huggingface_hub
upgrade changes one of them, a test here says which.
"""

import hashlib
import random
import time
from pathlib import Path

import httpx2
import pytest
from hub_server import LFS_THRESHOLD, LoopbackHub, use_hub
from huggingface_hub import constants, file_download, hf_hub_download, snapshot_download
from huggingface_hub.errors import (
    EntryNotFoundError,
    GatedRepoError,
    IncompleteSnapshotError,
    RemoteEntryNotFoundError,
    RepositoryNotFoundError,
)

REPO = "org/tiny-voice"
FILES = {
    "config.json": b'{"model_type": "kokoro"}',
    "model.safetensors": random.Random(1).randbytes(40_000),
    "voices/a.safetensors": random.Random(2).randbytes(3_000),
}


@pytest.fixture
def hub(monkeypatch):
    with LoopbackHub() as running:
        use_hub(monkeypatch, running)
        yield running


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """A private hub cache per test, so no test sees another's downloads."""
    path = tmp_path / "hub-cache"
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(path))
    return path


@pytest.fixture
def retry_waits(monkeypatch):
    """http_get waits 1 s before retrying a dropped download: record the waits, don't sleep them."""
    waits = []

    class Clock:
        def __getattr__(self, name):
            return getattr(time, name)

        def sleep(self, seconds):
            waits.append(seconds)

    monkeypatch.setattr(file_download, "time", Clock())
    return waits


@pytest.fixture
def tiny_repo(hub, tmp_path):
    """REPO published from a folder on disk, so its files are streamed from there."""
    folder = tmp_path / "repo"
    for name, data in FILES.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
    hub.add_repo(REPO, folder)
    return REPO


def _file_gets(hub, repo_id, path):
    return [
        r
        for r in hub.requests_for(repo_id)
        if r[0] == "GET" and r[1].endswith(f"/resolve/{hub.commit(repo_id)}/{path}")
    ]


def _read_tree(snapshot: Path) -> dict[str, bytes]:
    return {p.relative_to(snapshot).as_posix(): p.read_bytes() for p in snapshot.rglob("*") if p.is_file()}


def test_snapshot_download_fetches_every_file_byte_for_byte_in_the_hub_request_order(hub, tiny_repo, cache):
    path = Path(snapshot_download(REPO, cache_dir=cache))

    assert _read_tree(path) == FILES
    sha = hub.commit(REPO)
    assert path == cache / "models--org--tiny-voice" / "snapshots" / sha
    assert (cache / "models--org--tiny-voice" / "refs" / "main").read_text() == sha
    requests = [(method, url) for method, url, _ in hub.requests_for(REPO)]
    assert requests[:2] == [
        ("GET", f"/api/models/{REPO}/revision/main"),
        ("GET", f"/api/models/{REPO}/tree/{sha}?recursive=true&expand=false"),
    ]
    # Then a HEAD (metadata) and a GET per file, pinned to the commit; files go in parallel.
    assert sorted(requests[2:]) == sorted(
        (method, f"/{REPO}/resolve/{sha}/{name}") for name in FILES for method in ("HEAD", "GET")
    )


def test_snapshot_download_fetches_only_the_files_allow_patterns_match(hub, tiny_repo, cache):
    path = Path(snapshot_download(REPO, cache_dir=cache, allow_patterns=["*.json", "voices/*"]))

    assert _read_tree(path) == {name: FILES[name] for name in ("config.json", "voices/a.safetensors")}
    assert not any(url.endswith("/model.safetensors") for _, url, _ in hub.requests_for(REPO))


def test_snapshot_download_follows_the_tree_listing_across_pages(hub, tiny_repo, cache):
    hub.tree_page_size = 1  # the hub pages at 1000 entries; listing has 3 files and the voices/ folder

    path = Path(snapshot_download(REPO, cache_dir=cache))

    assert _read_tree(path) == FILES
    trees = [url for _, url, _ in hub.requests_for(REPO) if "/tree/" in url]
    assert len(trees) == 4
    assert [url.rsplit("cursor=", 1)[-1] for url in trees[1:]] == ["1", "2", "3"]


def test_hf_hub_download_asks_for_main_and_caches_the_file_under_the_commit(hub, tiny_repo, cache):
    path = Path(hf_hub_download(REPO, "config.json", cache_dir=cache))

    sha = hub.commit(REPO)
    assert path.read_bytes() == FILES["config.json"]
    assert path.parent.name == sha
    assert [(m, u) for m, u, _ in hub.requests_for(REPO)] == [
        ("HEAD", f"/{REPO}/resolve/main/config.json"),
        ("GET", f"/{REPO}/resolve/main/config.json"),
    ]


def test_a_gated_repo_raises_gated_repo_error_without_a_token_and_downloads_with_one(hub, cache):
    """The listing of a gated repo is public, as on the hub; its files need a granted
    token, and only the token passed in is ever sent (use_hub turns implicit tokens off)."""
    hub.add_repo("org/gated", FILES, gated=True)
    hub.tokens.add("hf_good")

    with pytest.raises(GatedRepoError) as no_token:
        snapshot_download("org/gated", cache_dir=cache)
    assert no_token.value.response.status_code == 401
    with pytest.raises(GatedRepoError) as wrong_token:
        hf_hub_download("org/gated", "config.json", cache_dir=cache, token="hf_wrong")
    assert wrong_token.value.response.status_code == 403
    assert not any(m == "GET" and "/resolve/" in u for m, u, _ in hub.requests_for("org/gated"))

    path = Path(snapshot_download("org/gated", cache_dir=cache, token="hf_good"))

    assert _read_tree(path) == FILES
    file_requests = [h for _, u, h in hub.requests_for("org/gated") if "/resolve/" in u]
    assert file_requests[-1] == {"Authorization": "Bearer hf_good"}


def test_a_repo_never_added_raises_repository_not_found(hub, cache):
    with pytest.raises(RepositoryNotFoundError) as snapshot:
        snapshot_download("org/missing", cache_dir=cache)
    with pytest.raises(RepositoryNotFoundError) as one_file:
        hf_hub_download("org/missing", "config.json", cache_dir=cache)

    assert type(snapshot.value) is RepositoryNotFoundError  # not its subclass GatedRepoError
    assert type(one_file.value) is RepositoryNotFoundError
    assert [m for m, _, _ in hub.requests_for("org/missing")] == ["GET", "HEAD"]


def test_a_missing_file_raises_remote_entry_not_found_a_subclass_of_entry_not_found(hub, tiny_repo, cache):
    """engine/download.py treats a repo without config.json as a model it must still
    check, by the exception's name: this is the name the installed client really raises."""
    with pytest.raises(EntryNotFoundError) as missing:
        hf_hub_download(REPO, "preprocessor_config.json", cache_dir=cache)

    # The class name is RemoteEntryNotFoundError: code matching on the name "EntryNotFoundError" misses it.
    assert type(missing.value) is RemoteEntryNotFoundError
    # The client remembers the miss under the commit the 404 named.
    assert (
        cache / "models--org--tiny-voice" / ".no_exist" / hub.commit(REPO) / "preprocessor_config.json"
    ).exists()


def test_a_dropped_download_under_10_mib_is_retried_in_the_same_call_from_byte_zero(hub, cache, retry_waits):
    """The client reads the body in 10 MiB chunks and only counts whole chunks as received,
    so bytes received before a drop inside the first chunk are lost: the retry asks for the
    whole file again, with no Range header. It happens inside snapshot_download, which does
    not raise."""
    data = random.Random(3).randbytes(2_000_000)
    hub.add_repo("org/dropped", {"model.safetensors": data})
    hub.interrupt_next("org/dropped", "model.safetensors", 500_000)

    path = Path(snapshot_download("org/dropped", cache_dir=cache))

    assert (path / "model.safetensors").read_bytes() == data
    gets = _file_gets(hub, "org/dropped", "model.safetensors")
    assert [headers for _, _, headers in gets] == [{}, {}]
    assert [(status, sent) for _, status, sent in hub.served] == [(200, 500_000), (200, len(data))]
    assert retry_waits == [1]


def test_a_dropped_download_past_10_mib_resumes_with_a_range_request(hub, cache, tmp_path, retry_waits):
    """Past one whole 10 MiB chunk the client keeps what it has and asks for the rest with
    Range: bytes=10485760-. A file this size is served as LFS, cached under its sha256."""
    source = tmp_path / "weights.safetensors"
    data = random.Random(4).randbytes(LFS_THRESHOLD + 2_000_000)
    source.write_bytes(data)
    hub.add_repo("org/large", {"weights.safetensors": source})
    hub.interrupt_next("org/large", "weights.safetensors", LFS_THRESHOLD + 100_000)

    path = Path(snapshot_download("org/large", cache_dir=cache))

    assert (path / "weights.safetensors").read_bytes() == data
    gets = _file_gets(hub, "org/large", "weights.safetensors")
    assert [headers for _, _, headers in gets] == [{}, {"Range": f"bytes={LFS_THRESHOLD}-"}]
    # Only the missing tail came down the second time.
    cut = LFS_THRESHOLD + 100_000
    assert [(status, sent) for _, status, sent in hub.served] == [
        (200, cut),
        (206, len(data) - LFS_THRESHOLD),
    ]
    assert retry_waits == [1]
    assert (path / "weights.safetensors").resolve().name == hashlib.sha256(data).hexdigest()


def test_a_download_that_keeps_dropping_raises_and_the_next_call_starts_from_byte_zero(
    hub, cache, retry_waits
):
    """Five retries without progress, then the transport error escapes snapshot_download
    (an httpx2 error, not an OSError). The partial file is deleted, never resumed by a
    later call: the next snapshot_download downloads the whole file again."""
    data = random.Random(5).randbytes(2_000_000)
    hub.add_repo("org/flaky", {"model.safetensors": data})
    hub.interrupt_next("org/flaky", "model.safetensors", 500_000, times=6)

    with pytest.raises(httpx2.RemoteProtocolError):
        snapshot_download("org/flaky", cache_dir=cache)

    assert retry_waits == [1] * 5
    assert len(_file_gets(hub, "org/flaky", "model.safetensors")) == 6
    blobs = cache / "models--org--flaky" / "blobs"
    assert list(blobs.iterdir()) == []  # no .incomplete file left behind

    path = Path(snapshot_download("org/flaky", cache_dir=cache))

    assert (path / "model.safetensors").read_bytes() == data
    last_get = _file_gets(hub, "org/flaky", "model.safetensors")[-1]
    assert last_get[2] == {}  # from byte zero: no Range
    assert hub.served[-1][1:] == (200, len(data))


def test_offline_mode_returns_the_cached_snapshot_without_a_single_request(
    hub, tiny_repo, cache, monkeypatch
):
    """Every test runs with HF_HUB_OFFLINE=1 (tests/conftest.py), and a model downloaded
    once must load on a machine without the hub: the cache alone has to answer, and only
    when it holds every file asked for."""
    online = snapshot_download(REPO, cache_dir=cache, allow_patterns=["*.json", "voices/*"])
    seen = len(hub.requests)

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    offline = snapshot_download(REPO, cache_dir=cache, allow_patterns=["*.json", "voices/*"])
    # The cached tree listing knows model.safetensors was never fetched.
    with pytest.raises(IncompleteSnapshotError):
        snapshot_download(REPO, cache_dir=cache)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    local_only = snapshot_download(REPO, cache_dir=cache, allow_patterns=["*.json"], local_files_only=True)

    assert offline == online == local_only
    assert len(hub.requests) == seen
