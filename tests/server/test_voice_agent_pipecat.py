"""A voice-agent framework nobody here wrote, pointed at the server: Pipecat's OpenAI STT and TTS.

Pipecat 1.14's OpenAITTSService asks for ``pcm`` without a stream_format and plays it as
24 kHz (OpenAI's rate); its OpenAISTTService uploads each VAD-cut utterance as a WAV.
Both run here in real Pipecat pipelines against the server on loopback, with the
plugin's default models (the embedded Kokoro and Whisper): the speech Pipecat gets back
is transcribed again and must say the words it was given.
"""

import asyncio

import numpy as np
import pytest
from server_helpers import start_server
from spoken_clips import HAVE_ESPEAK, with_pauses

pytest.importorskip("pipecat")
pytestmark = [
    pytest.mark.skipif(not HAVE_ESPEAK, reason="espeak-ng is a test requirement"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),  # Pipecat's own API moves
]

SAID = "The weather in Lisbon is sunny today."


@pytest.fixture(scope="module")
def url(shared_user_dir):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LLM_USER_PATH", str(shared_user_dir))
        patch.setenv("HF_HUB_OFFLINE", "1")
        address, stop = start_server()
        yield address
        stop()


@pytest.fixture
def served(url, shared_user_dir, monkeypatch):
    monkeypatch.setenv("LLM_USER_PATH", str(shared_user_dir))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return url


def run_pipeline(service, frames, **params):
    """Frames pushed through [service, collector] in a real Pipecat pipeline; what came out."""
    from pipecat.pipeline.pipeline import Pipeline
    from pipecat.pipeline.runner import PipelineRunner
    from pipecat.pipeline.task import PipelineParams, PipelineTask
    from pipecat.processors.frame_processor import FrameProcessor

    class Collector(FrameProcessor):
        def __init__(self):
            super().__init__()
            self.frames = []

        async def process_frame(self, frame, direction):
            await super().process_frame(frame, direction)
            self.frames.append(frame)
            await self.push_frame(frame, direction)

    async def run():
        collector = Collector()
        task = PipelineTask(Pipeline([service, collector]), params=PipelineParams(**params))
        await task.queue_frames(frames)
        await PipelineRunner(handle_sigint=False).run(task)
        return collector.frames

    return asyncio.run(run())


def pipecat_transcribe(url, pcm16: bytes) -> list[str]:
    from pipecat.frames.frames import (
        EndFrame,
        TranscriptionFrame,
        UserAudioRawFrame,
        VADUserStartedSpeakingFrame,
        VADUserStoppedSpeakingFrame,
    )
    from pipecat.services.openai.stt import OpenAISTTService

    stt = OpenAISTTService(
        api_key="unused", base_url=url + "/v1", settings=OpenAISTTService.Settings(model="gpt-4o-transcribe")
    )
    audio = [
        UserAudioRawFrame(audio=pcm16[i : i + 640], sample_rate=16000, num_channels=1)
        for i in range(0, len(pcm16), 640)
    ]
    frames = [VADUserStartedSpeakingFrame(), *audio, VADUserStoppedSpeakingFrame(), EndFrame()]
    out = run_pipeline(stt, frames, audio_in_sample_rate=16000)
    return [frame.text for frame in out if isinstance(frame, TranscriptionFrame)]


def words(text):
    return [w.strip(".,!?").lower() for w in text.split()]


def test_pipecats_openai_stt_transcribes_an_utterance_through_the_server(served):
    samples, _ = with_pauses([0.3, "Please send the report tomorrow morning.", 0.5])
    pcm = (np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes()
    texts = pipecat_transcribe(served, pcm)
    assert len(texts) == 1
    assert {"send", "report", "tomorrow", "morning"} <= set(words(texts[0]))


def test_pipecats_openai_tts_gets_24_khz_speech_that_says_the_words(served):
    from pipecat.frames.frames import EndFrame, TTSAudioRawFrame, TTSSpeakFrame
    from pipecat.services.openai.tts import OpenAITTSService

    tts = OpenAITTSService(
        api_key="unused",
        base_url=served + "/v1",
        sample_rate=24000,
        settings=OpenAITTSService.Settings(model="gpt-4o-mini-tts", voice="alloy"),
    )
    out = run_pipeline(tts, [TTSSpeakFrame(SAID), EndFrame()], audio_out_sample_rate=24000)
    chunks = [frame for frame in out if isinstance(frame, TTSAudioRawFrame)]
    assert chunks and {frame.sample_rate for frame in chunks} == {24000}
    pcm = b"".join(frame.audio for frame in chunks)
    seconds = len(pcm) / 2 / 24000
    assert 1.0 < seconds < 8.0
    # played at 24 kHz it is speech at the right speed: Whisper (at 16 kHz) hears the words
    from llm_mlx_audio.audio.resampling import StreamResampler

    resample = StreamResampler(24000, 16000)
    samples = np.frombuffer(pcm, "<i2").astype(np.float32) / 32768
    at_16k = np.concatenate([resample(samples), resample(None)])
    heard = pipecat_transcribe(served, (np.clip(at_16k, -1, 1) * 32767).astype("<i2").tobytes())
    assert {"weather", "lisbon", "sunny", "today"} <= set(words(" ".join(heard)))
