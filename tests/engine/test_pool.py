"""The model pool: one load per model, shared waits, errors, LRU eviction under a budget."""

import threading
import time

import pytest

from llm_mlx_audio.engine.pool import ModelPool, estimate_size, parse_size
from llm_mlx_audio.engine.thread import MLXThread
from llm_mlx_audio.errors import PoolFullError

MB = 1024**2


@pytest.fixture
def mlx_thread():
    thread = MLXThread(name="pool-test")
    yield thread
    thread.shutdown()


def make_pool(mlx_thread, budget=100 * MB):
    return ModelPool(budget=budget, executor=mlx_thread)


def array_loader(log, name, megabytes=1):
    """A real MLX 'model': an evaluated float32 array of that many megabytes."""

    def load():
        import mlx.core as mx

        log.append((name, threading.current_thread().name))
        value = mx.ones((megabytes * MB // 4,))
        mx.eval(value)
        return value

    return load


def test_a_model_loads_once_and_is_reused(mlx_thread):
    pool = make_pool(mlx_thread)
    log = []
    for _ in range(3):
        with pool.use("a", array_loader(log, "a", 10), 10 * MB) as model:
            assert model.shape == (10 * MB // 4,)
    assert log == [("a", "pool-test")]


def test_concurrent_requests_share_one_load(mlx_thread):
    pool = make_pool(mlx_thread)
    log = []

    def slow_load():
        time.sleep(0.3)
        log.append("loaded")
        return "model"

    results = []

    def request():
        with pool.use("slow", slow_load, MB) as model:
            results.append(model)

    threads = [threading.Thread(target=request) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert log == ["loaded"]
    assert results == ["model"] * 6


def test_a_failed_load_gives_every_waiter_the_original_error(mlx_thread):
    pool = make_pool(mlx_thread)

    class BrokenWeights(Exception):
        pass

    def broken():
        time.sleep(0.2)
        raise BrokenWeights("weights are corrupt")

    errors = []

    def request():
        try:
            with pool.use("broken", broken, MB):
                pass
        except Exception as e:
            errors.append(e)

    threads = [threading.Thread(target=request) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(errors) == 4
    assert all(isinstance(e, BrokenWeights) and "corrupt" in str(e) for e in errors)
    # a later request tries again rather than remembering the failure forever
    with pool.use("broken", lambda: "fixed", MB) as model:
        assert model == "fixed"


def test_least_recently_used_idle_model_is_evicted(mlx_thread):
    pool = make_pool(mlx_thread, budget=100 * MB)
    log = []
    with pool.use("a", array_loader(log, "a", 40), 40 * MB):
        pass
    with pool.use("b", array_loader(log, "b", 40), 40 * MB):
        pass
    with pool.use("a", array_loader(log, "a", 40), 40 * MB):
        pass  # a is now more recent than b
    with pool.use("c", array_loader(log, "c", 40), 40 * MB):
        pass
    keys = {entry["key"] for entry in pool.loaded()}
    assert keys == {"a", "c"}


def test_a_model_in_use_is_never_evicted(mlx_thread):
    pool = make_pool(mlx_thread, budget=100 * MB)
    log = []
    with pool.use("a", array_loader(log, "a", 60), 60 * MB):
        with (
            pytest.raises(PoolFullError, match="memory budget"),
            pool.use("b", array_loader(log, "b", 60), 60 * MB),
        ):
            pass
        assert [e["key"] for e in pool.loaded()] == ["a"]


def test_a_pinned_model_is_never_evicted(mlx_thread):
    pool = make_pool(mlx_thread, budget=100 * MB)
    log = []
    with pool.use("a", array_loader(log, "a", 60), 60 * MB):
        pass
    pool.pin("a")
    with pytest.raises(PoolFullError), pool.use("b", array_loader(log, "b", 60), 60 * MB):
        pass
    pool.pin("a", False)
    with pool.use("b", array_loader(log, "b", 60), 60 * MB):
        pass
    assert [e["key"] for e in pool.loaded()] == ["b"]


def test_a_model_larger_than_the_budget_is_refused_clearly(mlx_thread):
    pool = make_pool(mlx_thread, budget=10 * MB)
    with (
        pytest.raises(PoolFullError, match="LLM_MLX_AUDIO_MEMORY_LIMIT"),
        pool.use("huge", lambda: "x", 50 * MB),
    ):
        pass


def test_unload_frees_an_idle_model_but_not_one_in_use(mlx_thread):
    pool = make_pool(mlx_thread)
    log = []
    with pool.use("a", array_loader(log, "a"), MB):
        assert pool.unload("a") is False
    assert pool.unload("a") is True
    assert pool.loaded() == []


def test_measured_size_replaces_the_estimate(mlx_thread):
    pool = make_pool(mlx_thread)
    log = []
    with pool.use("big", array_loader(log, "big", 16), 1):
        pass
    (entry,) = pool.loaded()
    assert entry["size"] >= 16 * MB  # 4M float32 values


@pytest.mark.parametrize(
    "text,expected",
    [("8GB", 8 * 1024**3), ("512MB", 512 * MB), ("1.5g", int(1.5 * 1024**3)), ("1000", 1000)],
)
def test_memory_sizes_parse(text, expected):
    assert parse_size(text) == expected


def test_estimate_counts_weight_files(tmp_path):
    (tmp_path / "model.safetensors").write_bytes(b"x" * 1000)
    (tmp_path / "config.json").write_text("{}")
    assert estimate_size(tmp_path) == 1250
