"""Conversations of real human voices, with known turns, made at test time from Debian's packages.

The synthetic voices of tests/conversations.py were chosen to differ; real voices lie
closer together (issue 27). These are studio recordings of four voice actors, the
prompts of Asterisk's core sounds (16 kHz G.722, CC BY-SA 3.0 / CC BY 3.0), installed by
scripts/setup test from Debian's asterisk-core-sounds-{en,fr,it,ru}-g722:

    allison  Allison Smith, US English, woman
    june     June Wallack, Canadian French, woman
    carlo    Carlo Flora, Italian, man
    ivr      ivrvoice.ru (Maxim Topal), Russian, woman

Each turn is a few prompts of one voice joined by 0.25-s pauses, 5 to 12 s in all, and
turns are 0.6 s apart, as in the issue's conversations.
"""

from __future__ import annotations

import functools
import random
from pathlib import Path

import numpy as np

from llm_mlx_audio.audio.decode import decode_audio

RATE = 16000
SOUNDS = Path("/usr/share/asterisk/sounds")
VOICES = {
    "allison": "en_US_f_Allison",
    "june": "fr_CA_f_June",
    "carlo": "it_IT_m_Carlo",
    "ivr": "ru_RU_f_IvrvoiceRU",
}
HAVE_REAL_VOICES = all((SOUNDS / folder).is_dir() for folder in VOICES.values())
TWO_SPEAKER_SETS = [("allison", "june"), ("carlo", "ivr"), ("june", "ivr")]
THREE_SPEAKER_SETS = [("allison", "june", "carlo"), ("june", "carlo", "ivr")]
PAUSE = 0.25  # between the prompts of one turn
GAP = 0.6  # between turns


@functools.cache
def prompts(voice: str) -> tuple[Path, ...]:
    """The voice's prompts of 1.5 to 8 s (no single digits or letters, no long demos), by name."""
    files = sorted((SOUNDS / VOICES[voice]).glob("*.g722"))
    return tuple(f for f in files if 1.5 * 8000 <= f.stat().st_size <= 8 * 8000)  # 8000 bytes a second


@functools.cache
def prompt(path: Path) -> np.ndarray:
    return _trim(decode_audio(str(path), RATE))


def _trim(samples, level=0.02):
    """Without the recording's silence before and after the speech (its floor is not zero)."""
    loud = np.flatnonzero(np.abs(samples) > level * max(float(np.abs(samples).max()), 1e-6))
    return samples[loud[0] : loud[-1] + 1] if len(loud) else samples


def enrolment_prompts(voice: str, count: int = 6) -> tuple[Path, ...]:
    """Prompts kept out of conversations made with held_out=True: a voice enrolled from them
    is recognised from other utterances than the ones it is tested on."""
    every = prompts(voice)
    return every[:: len(every) // count][:count]


def enrolment_clip(voice: str, count: int = 6) -> np.ndarray:
    """The enrolment prompts of a voice joined by the turns' pauses (about 20 s of speech)."""
    pause = np.zeros(int(PAUSE * RATE), np.float32)
    pieces = []
    for path in enrolment_prompts(voice, count):
        pieces += [pause, prompt(path)] if pieces else [prompt(path)]
    return np.concatenate(pieces)


def turn(voice: str, rng: random.Random, held_out: bool = False) -> np.ndarray:
    """Prompts of one voice, 5 to 12 s of them (none of the enrolment prompts when held_out)."""
    target = rng.uniform(5.0, 12.0)
    pause = np.zeros(int(PAUSE * RATE), np.float32)
    pieces, length = [], 0.0
    usable = prompts(voice)
    if held_out:
        usable = tuple(p for p in usable if p not in enrolment_prompts(voice))
    for path in rng.sample(usable, 40):
        samples = prompt(path)
        added = len(samples) / RATE + (PAUSE if pieces else 0.0)
        if pieces and length + added > 12.0:
            continue
        pieces += [pause, samples] if pieces else [samples]
        length += added
        if length >= target:
            break
    return np.concatenate(pieces)


def conversation(voices, seed: int, turns: int = 10, held_out: bool = False):
    """(samples, [(start, end, voice)]): `turns` turns, speakers taking turns at random
    (held_out: never saying an enrolment prompt)."""
    rng = random.Random(seed)
    pieces, reference, at, previous = [np.zeros(int(0.5 * RATE), np.float32)], [], 0.5, None
    order = list(voices)
    rng.shuffle(order)
    for k in range(turns):
        others = [v for v in voices if v != previous] or list(voices)  # one voice: a monologue
        voice = order[k] if k < len(order) else rng.choice(others)
        speech = turn(voice, rng, held_out)
        reference.append((round(at, 3), round(at + len(speech) / RATE, 3), voice))
        pieces += [speech, np.zeros(int(GAP * RATE), np.float32)]
        at += len(speech) / RATE + GAP
        previous = voice
    pieces.append(np.zeros(int(0.5 * RATE), np.float32))
    return np.concatenate(pieces), reference
