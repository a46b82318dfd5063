"""Scoring enrolled-voice naming on the real voices of tests/real_conversations.py.

Used by tests/test_enrolled_voices.py and benchmarks/calibrate_speakers.py. Voices are
enrolled from their enrolment prompts (``enrolment_clip``) and the conversations are
made with ``held_out=True``, so a voice is recognised from utterances it was not
enrolled from. Only the VAD and the speaker encoder run here (no Whisper): the turns
and each speaker's mean vector are what `llm transcribe --diarize` names.
"""

from __future__ import annotations

import numpy as np
from real_conversations import RATE, conversation, enrolment_clip

from llm_mlx_audio import registry
from llm_mlx_audio.engine import diarization, long_form
from llm_mlx_audio.engine.thread import get_mlx_thread

STEP = 0.01


def enrol(voices) -> dict:
    """{voice: unit vector} from each voice's enrolment clip (what `speakers add` stores)."""
    found = registry.voice_vectors([enrolment_clip(v) for v in voices])
    return {voice: vector for voice, (vector, _) in zip(voices, found, strict=True)}


def diarized(voices, seed: int, turns: int = 10):
    """(reference turns, hypothesis turns, {speaker: mean vector}) of a held-out conversation."""
    samples, reference = conversation(voices, seed, turns=turns, held_out=True)
    thread = get_mlx_thread()
    with long_form.vad_model() as vad, diarization.speaker_model() as encoder:
        probabilities, total = long_form._speech_probabilities(thread, vad, [samples])
        found, means = diarization.diarize_with_vectors([samples], probabilities, total, encoder)
    return reference, found, {k: vector for k, (vector, _) in means.items()}


def frames(turns, length, name_of):
    out = np.full(length, None, object)
    for turn in turns:
        start, end, who = (turn.start, turn.end, turn.speaker) if hasattr(turn, "speaker") else turn
        out[int(round(start / STEP)) : int(round(end / STEP))] = name_of(who)
    return out


def true_voices(reference, found) -> dict:
    """{hypothesis speaker: the reference voice it overlaps most}."""
    length = int(max(e for _, e, _ in reference) / STEP) + 200
    ref = frames(reference, length, lambda v: v)
    hyp = frames(found, length, lambda s: s)
    voices = {}
    for speaker in {t.speaker for t in found}:
        said = [v for v in ref[hyp == speaker] if v is not None]
        if said:
            voices[speaker] = max(set(said), key=said.count)
    return voices


def named_shares(reference, found, names: dict) -> dict:
    """{voice: (share of its speech named right, share of it given any name)}; names: {speaker: name}."""
    length = int(max(e for _, e, _ in reference) / STEP) + 200
    ref = frames(reference, length, lambda v: v)
    hyp = frames(found, length, lambda s: names.get(s))
    shares = {}
    for voice in {v for _, _, v in reference}:
        mine = ref == voice
        total = int(mine.sum())
        right = int(np.sum(mine & (hyp == voice)))
        named = int(np.sum(mine & np.array([h is not None for h in hyp])))
        shares[voice] = (right / total, named / total)
    return shares


__all__ = ["RATE", "diarized", "enrol", "named_shares", "true_voices"]


def reference_clip(voice: str, seconds: float = 8.0) -> np.ndarray:
    """Up to `seconds` of a voice's enrolment prompts (a known_speaker_references[] clip: 2 to 10 s)."""
    from real_conversations import PAUSE, enrolment_prompts, prompt

    pieces, length = [], 0.0
    for path in enrolment_prompts(voice):
        samples = prompt(path)
        if pieces and length + PAUSE + len(samples) / RATE > seconds:
            continue
        pieces += [np.zeros(int(PAUSE * RATE), np.float32), samples] if pieces else [samples]
        length += len(samples) / RATE + (PAUSE if len(pieces) > 1 else 0)
    return np.concatenate(pieces)[: int(seconds * RATE)]
