"""The single MLX thread: results, errors, timeouts, streaming, clean exits."""

import subprocess
import sys
import textwrap
import threading
import time

import pytest

from llm_mlx_audio.engine.thread import MLXThread


@pytest.fixture
def mlx_thread():
    thread = MLXThread(name="test-mlx")
    yield thread
    thread.shutdown()


def test_every_job_runs_on_the_same_thread(mlx_thread):
    names = {mlx_thread.run(lambda: threading.current_thread().name) for _ in range(5)}
    assert names == {"test-mlx"}


def test_arrays_made_by_one_job_can_be_used_by_the_next(mlx_thread):
    def make():
        import mlx.core as mx

        return mx.arange(10) * 2  # lazy: only valid on the thread that made it

    lazy = mlx_thread.run(make)
    total = mlx_thread.run(lambda: int(lazy.sum().item()))
    assert total == 90


def test_callers_on_other_threads_get_their_results(mlx_thread):
    results = {}

    def call(i):
        results[i] = mlx_thread.run(lambda: i * i)

    threads = [threading.Thread(target=call, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == {i: i * i for i in range(8)}


def test_the_original_exception_reaches_the_caller(mlx_thread):
    class Boom(Exception):
        pass

    def fail():
        raise Boom("original")

    with pytest.raises(Boom, match="original"):
        mlx_thread.run(fail)
    assert mlx_thread.run(lambda: "still alive") == "still alive"


def test_a_timeout_does_not_wedge_the_thread(mlx_thread):
    with pytest.raises(TimeoutError):
        mlx_thread.run(time.sleep, 0.5, timeout=0.05)
    assert mlx_thread.run(lambda: 42, timeout=5) == 42


def test_a_timed_out_job_that_never_started_is_skipped(mlx_thread):
    ran = []
    blocker = mlx_thread.submit(time.sleep, 0.3)
    with pytest.raises(TimeoutError):
        mlx_thread.run(ran.append, "late", timeout=0.01)
    blocker.result()
    mlx_thread.run(lambda: None)
    assert ran == []


def test_stream_hands_items_over_as_they_come(mlx_thread):
    def produce():
        for i in range(5):
            yield threading.current_thread().name, i

    items = list(mlx_thread.stream(produce))
    assert items == [("test-mlx", i) for i in range(5)]


def test_stream_raises_the_producers_error(mlx_thread):
    def produce():
        yield 1
        raise ValueError("midway")

    got = []
    with pytest.raises(ValueError, match="midway"):
        for item in mlx_thread.stream(produce):
            got.append(item)
    assert got == [1]


def test_a_consumer_that_stops_early_stops_the_producer(mlx_thread):
    produced = []

    def produce():
        for i in range(1000):
            produced.append(i)
            yield i

    for item in mlx_thread.stream(produce):
        if item == 2:
            break
    mlx_thread.run(lambda: None)  # the producer job has ended by now
    assert len(produced) < 20


SCRIPT = textwrap.dedent(
    """
    from llm_mlx_audio.engine.thread import get_mlx_thread

    def work():
        import mlx.core as mx
        a = mx.random.normal((64, 64))
        return float((a @ a).sum().item())

    get_mlx_thread().run(work)
    print("ok")
    """
)


def test_processes_using_the_thread_exit_cleanly():
    for _ in range(8):
        result = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr
        assert "terminate called" not in result.stderr
        assert result.stdout.strip() == "ok"
