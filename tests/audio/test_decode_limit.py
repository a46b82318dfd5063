"""A maximum decoded duration, checked while decoding, and decoding that stops with its job.

The inputs are decode bombs (decode_bombs.py): a 77 KB FLAC that decodes to 12 hours
(2.8 GB of 16 kHz float32) and a 1.8 MB Ogg Opus that decodes to 10 hours (2.3 GB).
The limit is shown to hold in a process that cannot hold the whole decode: its data
segment is capped at 1 GiB (RLIMIT_DATA), under which decoding without the limit dies.
"""

import json
import os
import subprocess
import sys
import threading

import numpy as np
import pytest
from decode_bombs import decoded_bytes, flac_bomb, opus_bomb

from llm_mlx_audio import registry
from llm_mlx_audio.audio.decode import audio_duration, decode_audio, decode_pieces
from llm_mlx_audio.audio.encode import encode_audio
from llm_mlx_audio.errors import AudioDecodeError, AudioTooLongError, JobCancelled
from llm_mlx_audio.models import load_samples

RATE = 16000
FLAC_HOURS = 12
OPUS_HOURS = 10
MEMORY_LIMIT = 1024**3  # RLIMIT_DATA for the decoding process: well under either full decode

# Run as `python -c` with (path, max_seconds or "none"): caps its own data segment before
# importing anything (in the child itself rather than a preexec_fn, which is unsafe in a
# process with threads, as pytest's is once the MLX thread runs), then decodes and reports.
DECODE_UNDER_A_MEMORY_LIMIT = f"""
import resource, sys
resource.setrlimit(resource.RLIMIT_DATA, ({MEMORY_LIMIT}, {MEMORY_LIMIT}))
import json
from llm_mlx_audio.audio.decode import decode_audio
from llm_mlx_audio.errors import AudioTooLongError

path, limit = sys.argv[1], None if sys.argv[2] == "none" else float(sys.argv[2])
try:
    outcome = f"decoded {{len(decode_audio(path, {RATE}, max_seconds=limit))}} samples"
except AudioTooLongError as error:
    outcome = str(error)
try:
    # This program's own peak: ru_maxrss on Linux keeps the forking parent's (pytest's) peak.
    status = open("/proc/self/status").read()
    peak = int(status.split("VmHWM:")[1].split()[0]) * 1024
except (OSError, IndexError):
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # bytes on macOS
print(json.dumps({{"outcome": outcome, "peak_rss": peak}}))
"""


@pytest.fixture(scope="module")
def flac_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("bombs") / "meeting.flac"
    path.write_bytes(flac_bomb(FLAC_HOURS))
    return path


@pytest.fixture(scope="module")
def opus_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("bombs") / "meeting.opus"
    path.write_bytes(opus_bomb(OPUS_HOURS))
    return path


def decode_in_a_small_process(path, max_seconds):
    return subprocess.run(
        [sys.executable, "-c", DECODE_UNDER_A_MEMORY_LIMIT, str(path), str(max_seconds or "none")],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"},
    )


def test_the_bombs_are_small_files_of_many_hours(flac_path, opus_path):
    assert flac_path.stat().st_size < 100_000  # 76,961 bytes
    assert opus_path.stat().st_size < 2_000_000  # 1,800,147 bytes
    assert audio_duration(flac_path) == pytest.approx(FLAC_HOURS * 3600, abs=10)
    assert audio_duration(opus_path) == pytest.approx(OPUS_HOURS * 3600, abs=1)
    assert decoded_bytes(FLAC_HOURS) > 2.5 * MEMORY_LIMIT and decoded_bytes(OPUS_HOURS) > 2 * MEMORY_LIMIT


@pytest.mark.parametrize("bomb", ["flac_path", "opus_path"])
def test_an_hour_limit_stops_the_bomb_in_a_process_that_cannot_hold_it(bomb, request):
    path = request.getfixturevalue(bomb)
    result = decode_in_a_small_process(path, 60 * 60)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["outcome"] == f"{path} is longer than the 60-minute limit (--max-audio-minutes)"
    # An hour of 16 kHz float32 is 230 MB, held until the limit is passed; never the hours after it.
    assert report["peak_rss"] < 0.6 * MEMORY_LIMIT
    assert report["peak_rss"] < decoded_bytes(FLAC_HOURS if bomb == "flac_path" else OPUS_HOURS) / 4


@pytest.mark.skipif(sys.platform != "linux", reason="only Linux enforces RLIMIT_DATA on mmap'd memory")
def test_without_the_limit_the_same_process_runs_out_of_memory(flac_path):
    result = decode_in_a_small_process(flac_path, None)
    assert result.returncode != 0
    assert "MemoryError" in result.stderr, result.stderr[-2000:]


def test_the_limit_counts_decoded_samples_exactly(tmp_path):
    path = tmp_path / "two-seconds.flac"
    path.write_bytes(encode_audio(np.zeros(2 * RATE, np.float32), RATE, "flac"))
    assert len(decode_audio(path, RATE, max_seconds=2.0)) == 2 * RATE
    with pytest.raises(AudioTooLongError, match=r"two-seconds.flac is longer than the 0.0325-minute limit"):
        decode_audio(path, RATE, max_seconds=1.95)


def test_audio_under_the_limit_decodes_unchanged(tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / "noise.opus"
    path.write_bytes(encode_audio((0.1 * rng.standard_normal(3 * 22050)).astype(np.float32), 22050, "opus"))
    np.testing.assert_array_equal(decode_audio(path, RATE, max_seconds=60), decode_audio(path, RATE))
    pieces = list(decode_pieces(path.read_bytes(), RATE, seconds=1.0, max_seconds=60))
    np.testing.assert_array_equal(np.concatenate(pieces), decode_audio(path, RATE))


def test_pieces_stop_at_the_limit_not_at_the_end_of_the_file(flac_path):
    seen = 0
    with pytest.raises(AudioTooLongError, match="the 10-minute limit"):
        for piece in decode_pieces(flac_path, RATE, max_seconds=600):
            seen += len(piece)
    # Pieces of a minute or a little more, up to the limit, then the error.
    assert 540 * RATE < seen <= 600 * RATE


def test_bytes_are_labelled_as_the_input(flac_path):
    with pytest.raises(AudioTooLongError) as error:
        decode_audio(flac_path.read_bytes(), RATE, max_seconds=1)
    assert str(error.value) == "the input is longer than the 0.0166667-minute limit (--max-audio-minutes)"


def test_too_long_is_not_a_decode_error(flac_path):
    with pytest.raises(AudioTooLongError) as error:
        decode_audio(flac_path, RATE, max_seconds=1)
    assert not isinstance(error.value, AudioDecodeError)


@pytest.mark.parametrize("limit", [0, -1.0, float("nan")])
def test_a_limit_must_be_positive(flac_path, limit):
    with pytest.raises(ValueError, match="max_seconds must be more than 0"):
        decode_audio(flac_path, RATE, max_seconds=limit)


def test_samples_in_memory_meet_the_same_limit():
    assert len(load_samples(np.zeros(RATE, np.float32), RATE, max_seconds=1)) == RATE
    with pytest.raises(AudioTooLongError, match="^the audio is longer than"):
        load_samples(np.zeros(RATE + 1, np.float32), RATE, max_seconds=1)


def test_a_cancelled_job_stops_decoding_at_the_next_packet(flac_path):
    gone = threading.Event()
    with registry.cancel_when(gone):
        pieces = decode_pieces(flac_path, RATE)
        assert len(next(pieces)) >= 60 * RATE
        gone.set()  # the client hangs up while the file is still decoding
        with pytest.raises(JobCancelled, match="^Decoding .*meeting.flac stopped"):
            next(pieces)
    # Outside the block nothing asks to stop any more.
    assert len(next(decode_pieces(flac_path, RATE))) >= 60 * RATE


def test_a_decode_on_another_thread_stops_when_its_request_goes(flac_path):
    """As the server runs it: the work on a worker thread inside cancel_when, the event set
    from outside while the 12-hour file decodes (with no limit it would take 2.8 GB)."""
    gone, started, outcome = threading.Event(), threading.Event(), []

    def work():
        with registry.cancel_when(gone):
            try:
                for _ in decode_pieces(flac_path, RATE):
                    started.set()
            except JobCancelled as error:
                outcome.append(error)

    worker = threading.Thread(target=work)
    worker.start()
    assert started.wait(60)
    gone.set()
    worker.join(60)
    assert not worker.is_alive()
    assert len(outcome) == 1 and isinstance(outcome[0], JobCancelled)
