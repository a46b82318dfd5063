"""Naming diarized speakers by voice: each speaker's mean vector against the enrolled ones.

A diarized speaker's mean vector (all its 1.5-s windows averaged) is compared with each
enrolled voice by cosine similarity. Pairs are taken best first, each speaker and each
name at most once (greedy assignment: with a handful of voices it gives what the
Hungarian method gives whenever the matches clear the threshold), and only pairs at or
above ``THRESHOLD`` count; everyone else stays ``SPEAKER_n``.

The threshold (benchmarks/calibrate_speakers.py): four real voices of
tests/real_conversations.py enrolled from ~20 s of prompts, recognised in 18 conversations
of two to four of them made of other prompts. A diarized speaker against its own voice
scored 0.968-0.989 (median 0.982), against another voice 0.616-0.820 (median 0.702); the
middle of the gap is 0.894. 0.88 sits a little lower, since a voice enrolled through
another microphone scores lower against itself, and still 0.06 above the closest other
voice. At 0.88: the right name on 96.8% (worst voice) / 98.8% (mean) of the enrolled
voices' speech (what is missing is the diarizer's boundaries), and a voice never enrolled
named on 0.0% of its speech.
"""

from __future__ import annotations

from .labels import relabel

THRESHOLD = 0.88  # cosine similarity at which a speaker is an enrolled voice


def match(speaker_vectors: dict, known: dict, threshold: float = THRESHOLD) -> dict[str, dict]:
    """{label: {"name": enrolled name or None, "score": cosine, "nearest": ...}} for every label.

    speaker_vectors: {label: unit vector}; known: {name: unit vector}. A matched label's
    score is its name's; an unmatched one's is that of the nearest name (given as
    "nearest"), so a user can see how close it came.
    """
    import numpy as np

    if not speaker_vectors or not known:
        return {}
    labels, names = list(speaker_vectors), list(known)
    a = np.stack([_unit(speaker_vectors[k]) for k in labels])
    b = np.stack([_unit(known[n]) for n in names])
    scores = a @ b.T
    pairs = sorted(
        ((float(scores[i, j]), i, j) for i in range(len(labels)) for j in range(len(names))), reverse=True
    )
    taken_labels, taken_names, result = set(), set(), {}
    for score, i, j in pairs:
        if score < threshold:
            break
        if i in taken_labels or j in taken_names:
            continue
        taken_labels.add(i)
        taken_names.add(j)
        result[labels[i]] = {"name": names[j], "score": round(score, 3)}
    for i, label in enumerate(labels):
        if label not in result:
            j = int(np.argmax(scores[i]))
            result[label] = {"name": None, "score": round(float(scores[i, j]), 3), "nearest": names[j]}
    return result


def name_by_voice(transcript, known: dict, threshold: float = THRESHOLD):
    """The transcript with every speaker whose voice matches one of known named after it.

    transcript.speaker_matches says, per final label, which name matched and how well.
    A transcript without speaker vectors (not diarized here) is left as it is.
    """
    matches = match(transcript.speaker_vectors, known, threshold)
    if not matches:
        return transcript
    transcript.speaker_matches = {label: matches[label] for label in transcript.speakers if label in matches}
    return relabel(transcript, {label: m["name"] for label, m in matches.items() if m["name"]})


def name_enrolled(transcript, threshold: float = THRESHOLD):
    """name_by_voice with the voices enrolled by `llm audio speakers add` (none: unchanged)."""
    from . import enrolled

    if not transcript.speaker_vectors:
        return transcript
    return name_by_voice(transcript, enrolled.vectors(), threshold)


def _unit(vector):
    import numpy as np

    vector = np.asarray(vector, np.float64)
    return vector / max(float(np.linalg.norm(vector)), 1e-12)
