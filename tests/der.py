"""Diarization error rate, as NIST's md-eval and pyannote.metrics define it (tested in test_der.py).

DER = (missed speech + false alarm + speaker confusion) / reference speech, on 10 ms
frames, with a collar (0.25 s each side of every reference boundary) left unscored,
and hypothesis speakers mapped one-to-one onto reference speakers to make confusion
smallest (Hungarian assignment). Overlapping speech is not needed here: one speaker
at a time.
"""

from __future__ import annotations

import numpy as np

STEP = 0.01


def _frames(turns, length, speakers):
    """Per frame: index of the speaker talking (-1: nobody)."""
    out = np.full(length, -1, int)
    for start, end, speaker in turns:
        out[int(round(start / STEP)) : int(round(end / STEP))] = speakers[speaker]
    return out


def der(reference, hypothesis, collar: float = 0.25) -> dict:
    """reference, hypothesis: [(start, end, speaker)]; returns the rate and its parts (seconds)."""
    from scipy.optimize import linear_sum_assignment

    ends = [end for _, end, _ in list(reference) + list(hypothesis)]
    length = int(round(max(ends, default=0) / STEP)) + 1
    ref_ids = {s: i for i, s in enumerate(dict.fromkeys(s for _, _, s in reference))}
    hyp_ids = {s: i for i, s in enumerate(dict.fromkeys(s for _, _, s in hypothesis))}
    ref, hyp = _frames(reference, length, ref_ids), _frames(hypothesis, length, hyp_ids)
    scored = np.ones(length, bool)
    pad = int(round(collar / STEP))
    for start, end, _ in reference:
        for edge in (int(round(start / STEP)), int(round(end / STEP))):
            scored[max(edge - pad, 0) : edge + pad] = False
    ref, hyp = ref[scored], hyp[scored]
    speech = ref >= 0
    missed = int(np.sum(speech & (hyp < 0)))
    false_alarm = int(np.sum(~speech & (hyp >= 0)))
    both = speech & (hyp >= 0)
    overlap = np.zeros((max(len(ref_ids), 1), max(len(hyp_ids), 1)), int)
    np.add.at(overlap, (ref[both], hyp[both]), 1)
    rows, cols = linear_sum_assignment(-overlap)
    confusion = int(both.sum() - overlap[rows, cols].sum())
    total = int(speech.sum())
    return {
        "der": (missed + false_alarm + confusion) / total if total else 0.0,
        "missed": missed * STEP,
        "false_alarm": false_alarm * STEP,
        "confusion": confusion * STEP,
        "total": total * STEP,
    }
