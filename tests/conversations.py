"""Conversations of two or three clearly different voices, with known turns, made at test time.

Voices: espeak-ng's male (en-us+m1) and female (en-us+f4) variants, and the embedded
Kokoro's male jm_kumo and female jf_alpha (its five offline voices are Japanese ones;
they speak English text well). Each turn is one to three sentences of one voice (1 to
15 s), with 0 to 2 s of silence between turns; a few turns are one word ("Yes.").
Kokoro's sentences are synthesised once per session (a few seconds each) and reused.
"""

from __future__ import annotations

import functools
import random

import numpy as np

from llm_mlx_audio.audio.decode import decode_audio
from llm_mlx_audio.audio.encode import encode_audio

RATE = 16000
SENTENCES = [
    "Please send me the report before the meeting tomorrow.",
    "We should finish the project by the end of next month.",
    "The weather has been cold and windy all week.",
    "I think the budget needs another careful look.",
    "Can you call the supplier about the late delivery?",
    "The new office opens on the first of March.",
    "Our customers asked for a simpler sign up page.",
    "Yes.",
    "Okay, that sounds good to me.",
    "Let us talk about the schedule for the training.",
]
ESPEAK = {"espeak-male": "en-us+m1", "espeak-female": "en-us+f4"}
KOKORO = {"kokoro-male": "jm_kumo", "kokoro-female": "jf_alpha"}
TWO_SPEAKER_SETS = [
    ("espeak-male", "espeak-female"),
    ("kokoro-male", "kokoro-female"),
    ("espeak-male", "kokoro-female"),
    ("kokoro-male", "espeak-female"),
]
THREE_SPEAKER_SETS = [
    ("espeak-male", "espeak-female", "kokoro-female"),
    ("kokoro-male", "kokoro-female", "espeak-male"),
    ("espeak-female", "kokoro-male", "kokoro-female"),
]


@functools.cache
def _kokoro(voice: str, text: str) -> np.ndarray:
    from llm_mlx_audio import registry
    from llm_mlx_audio.models import Audio

    speaker = registry.find_model("speech", "kokoro-82m")
    audio = Audio.join(speaker.iter_speech(text, voice=voice, language="en"))
    return _trim(decode_audio(encode_audio(audio.samples, audio.sample_rate, "wav"), RATE))


def sentence(voice: str, text: str) -> np.ndarray:
    if voice in KOKORO:
        return _kokoro(KOKORO[voice], text)
    from spoken_clips import speech_samples

    return _trim(speech_samples(text, voice=ESPEAK[voice]))


def _trim(samples, floor=1e-3):
    loud = np.flatnonzero(np.abs(samples) > floor)
    return samples[loud[0] : loud[-1] + 1] if len(loud) else samples


def conversation(voices, seed: int, turns: int = 10):
    """(samples, [(start, end, voice)]): `turns` turns, speakers taking turns at random."""
    rng = random.Random(seed)
    pieces, reference, at, previous = [np.zeros(int(0.5 * RATE), np.float32)], [], 0.5, None
    order = list(voices)
    rng.shuffle(order)
    for k in range(turns):
        if k < len(order):
            voice = order[k]  # everyone speaks early
        else:
            voice = rng.choice([v for v in voices if v != previous])
        count = rng.choice([1, 1, 2, 3])
        texts = rng.sample(SENTENCES, count)
        speech = np.concatenate(
            [np.concatenate([sentence(voice, t), np.zeros(int(0.3 * RATE), np.float32)]) for t in texts]
        )
        speech = speech[: -int(0.3 * RATE)]
        reference.append((round(at, 3), round(at + len(speech) / RATE, 3), voice))
        gap = rng.choice([0.0, 0.3, 0.7, 1.2, 2.0])
        pieces += [speech, np.zeros(int(gap * RATE), np.float32)]
        at += len(speech) / RATE + gap
        previous = voice
    pieces.append(np.zeros(int(0.5 * RATE), np.float32))
    return np.concatenate(pieces), reference
