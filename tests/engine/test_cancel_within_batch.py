"""A dropped transcription stops inside its batch, not after it (issue 27, point 3).

A batch of 8 windows goes through the encoder one window at a time and then through
one decoder loop of a hundred steps or more: seconds of work on a CPU. A client that
hangs up while it runs must free the MLX thread within one step. Real Whisper tiny.en,
five minutes of espeak-ng speech, the real cancel_when/JobCancelled path.

What is counted is the model's own calls: a probe class is put in front of the real
encoder and decoder (swap_class, as the patches do) that counts every pass and step, and
at a chosen one holds the MLX thread until the test, on its own thread, has set the
cancel event. So the moment of cancelling is exact, and nothing is timed.
"""

import threading

import pytest
from spoken_clips import HAVE_ESPEAK, with_pauses

import llm_mlx_audio
from llm_mlx_audio import registry
from llm_mlx_audio.engine import embedded
from llm_mlx_audio.engine.patches.swap import swap_class
from llm_mlx_audio.errors import JobCancelled

pytestmark = pytest.mark.skipif(
    not (HAVE_ESPEAK and embedded.available("whisper-tiny.en")),
    reason="espeak-ng or the offline extra's whisper-tiny.en missing",
)
BATCH = 8
SENTENCES = [
    "Good morning, everyone, and thank you for joining the weekly planning meeting.",
    "The office will be closed on Friday, so please plan to work from home that day.",
    "Please send your updates to Maria before Thursday evening.",
    "The release of the new mobile application has moved to the end of next month.",
    "Most questions this week were about password resets and the new help page.",
]


@pytest.fixture(name="user_dir")
def shared_user_dir_for_each_test(shared_user_dir, monkeypatch):
    """One user directory for the module: the embedded model is converted once."""
    monkeypatch.setenv("LLM_USER_PATH", str(shared_user_dir))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return shared_user_dir


@pytest.fixture(scope="module")
def five_minutes():
    """About five minutes of speech with short pauses: ten windows, a full first batch."""
    parts = []
    while sum(p for p in parts if isinstance(p, float)) < 60:  # 60 pauses of 1 s
        for sentence in SENTENCES:
            parts += [sentence, 1.0]
    samples, _ = with_pauses(parts)
    assert len(samples) / 16000 > 270
    return samples


class Probe:
    """Counts encoder passes and decoder steps; holds the MLX thread at one of them.

    Before each call, ``hold_when(probe, part)`` (part: "encoder" or "decoder") says
    whether this is the one: the probe then tells the test (``reached``) and waits for
    ``cancel`` to be set; the call then goes on into the model, where the stop check
    runs. ``task_steps``: the steps of each decoding loop so far (a step without a
    cache starts one); ``done``: the calls that returned.
    """

    def __init__(self, hold_when, cancel: threading.Event):
        self.hold_when = hold_when
        self.cancel = cancel
        self.reached = threading.Event()
        self.calls = {"encoder": 0, "decoder": 0}
        self.done = {"encoder": 0, "decoder": 0}
        self.task_steps: list[int] = []
        self.batch_at_hold = None

    def before(self, part: str, batch: int, new_task: bool = False) -> None:
        self.calls[part] += 1
        if new_task:
            self.task_steps.append(0)
        if part == "decoder":
            self.task_steps[-1] += 1
        if not self.reached.is_set() and self.hold_when(self, part):
            self.batch_at_hold = batch
            self.reached.set()
            assert self.cancel.wait(120), "the test never cancelled"

    def after(self, part: str) -> None:
        self.done[part] += 1


def probed(loaded, probe: Probe):
    """Put the probe in front of the loaded model's encoder and decoder; undo() takes it away."""

    class ProbedEncoder:
        def __call__(self, x):
            probe.before("encoder", x.shape[0])
            result = super().__call__(x)
            probe.after("encoder")
            return result

    class ProbedDecoder:
        def __call__(self, x, xa, kv_cache=None):
            probe.before("decoder", x.shape[0], new_task=kv_cache is None)
            result = super().__call__(x, xa, kv_cache=kv_cache)
            probe.after("decoder")
            return result

    encoder, decoder = loaded.model.encoder, loaded.model.decoder
    classes = type(encoder), type(decoder)
    swap_class(encoder, ProbedEncoder)
    swap_class(decoder, ProbedDecoder)

    def undo():
        encoder.__class__, decoder.__class__ = classes

    return undo


def cancelled_run(samples, hold_when):
    """Transcribe samples (batch 8) on a client thread; cancel from this one once hold_when
    holds. Returns the probe, what the transcription raised or returned, and the calls
    done when the event was set."""
    model = llm_mlx_audio.get_transcription_model("whisper-tiny.en")
    cancel = threading.Event()
    probe = Probe(hold_when, cancel)
    outcome = {}

    def client():
        try:
            with registry.cancel_when(cancel):
                outcome["result"] = model.transcribe(samples, batch_size=BATCH)
        except BaseException as error:  # noqa: BLE001 (handed to the test)
            outcome["result"] = error

    with model._use() as loaded:
        undo = probed(loaded, probe)
        try:
            worker = threading.Thread(target=client)
            worker.start()
            assert probe.reached.wait(600), "the transcription never got there"
            done_at_cancel = dict(probe.done)
            cancel.set()
            worker.join(120)
            assert not worker.is_alive()
        finally:
            undo()
    return probe, outcome["result"], done_at_cancel


@pytest.fixture(scope="module")
def first_batch_steps(shared_user_dir, five_minutes):
    """The decoder steps the first batch of 8 windows takes when nobody cancels it.

    The run is cancelled at the first step of the next decoding loop, so it pays for one
    batch only."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LLM_USER_PATH", str(shared_user_dir))
        patch.setenv("HF_HUB_OFFLINE", "1")
        probe, result, _ = cancelled_run(five_minutes, lambda p, part: len(p.task_steps) == 2)
    assert isinstance(result, JobCancelled)
    assert probe.calls["encoder"] >= BATCH  # every window of the batch was encoded
    return probe.task_steps[0]


def test_a_batch_stops_at_the_next_decoder_step(user_dir, five_minutes, first_batch_steps):
    halfway = first_batch_steps // 2
    probe, result, done = cancelled_run(five_minutes, lambda p, part: p.task_steps == [halfway])
    assert isinstance(result, JobCancelled), result
    assert probe.batch_at_hold == BATCH  # all 8 windows were being decoded together
    assert done["decoder"] == halfway - 1  # the steps before the cancel ran...
    assert probe.calls["decoder"] == halfway and probe.done["decoder"] == halfway - 1  # ...none after
    print(f"stopped after {halfway - 1} of the batch's {first_batch_steps} decoder steps")
    assert first_batch_steps - (halfway - 1) > 20


def test_the_encoder_stage_stops_at_the_next_window(user_dir, five_minutes):
    probe, result, done = cancelled_run(five_minutes, lambda p, part: p.calls["encoder"] == 3)
    assert isinstance(result, JobCancelled), result
    assert done["encoder"] == 2 and probe.done["encoder"] == 2  # the third window never went in
    assert probe.calls["decoder"] == 0


def test_the_model_works_after_a_cancelled_batch(user_dir, five_minutes):
    probe, result, _ = cancelled_run(five_minutes, lambda p, part: p.task_steps == [5])
    assert isinstance(result, JobCancelled)
    model = llm_mlx_audio.get_transcription_model("whisper-tiny.en")
    text = model.transcribe(with_pauses([SENTENCES[1]])[0]).text.lower()
    assert "office" in text and "friday" in text, text
