"""Grouping speaker embeddings into speakers: average-linkage clustering on cosine distance.

Without a count, the tree is cut where the average distance between two groups passes
``threshold``; with ``speakers``, it is cut into that many groups. Then (no count):

- groups too small to be a speaker (under ``MIN_WINDOWS`` windows, about 4 s of speech,
  or ``MIN_SHARE`` of them: a cough, a window across a change of speaker, a stray
  stretch of one voice) are left out;
- two groups whose mean vectors are within ``MERGE`` of each other are one speaker. A
  mean is the group's voice without its window-to-window noise, so this compares
  voices, not windows: pieces of one voice that a lower cut (0.30) leaves apart are
  0.08-0.14 from each other, the two closest real voices of the tests 0.18-0.23;

and every window goes to the nearest speaker's mean vector. At most ``MAX_SPEAKERS``
are found.

The threshold (tests/engine/test_diarization.py, test_real_voices_diarization.py): two
real women's voices (tests/real_conversations.py) are 0.37-0.41 apart on average, while
one voice's windows are 0.21-0.27 apart; 0.44, tuned on synthetic voices chosen to
differ, put the two women together (issue 27). At 0.34 the synthetic voices split into
small pieces as well, which the size rule leaves out.

Memory stays linear in the length of the recording: beyond ``MAX_DIRECT`` windows,
evenly spaced windows (at most that many) are clustered, and every window then goes
to the nearest speaker's mean vector; a full distance matrix of an hour of windows
would take gigabytes. (Clustering means of neighbouring windows instead would not do:
averaging removes noise, distances shrink, and the threshold no longer holds; two
speakers merged into one at 30 minutes.)
"""

from __future__ import annotations

import numpy as np

THRESHOLD = 0.34  # average cosine distance at which two groups of windows are different speakers
MERGE = 0.12  # cosine distance between two groups' mean vectors under which they are one speaker
MAX_SPEAKERS = 20
MAX_DIRECT = 2000
MIN_WINDOWS = 6  # 1.5 s windows every 0.5 s: 4 s of speech
MIN_SHARE = 0.03


def cluster(embeddings: np.ndarray, speakers: int | None = None, threshold: float = THRESHOLD) -> np.ndarray:
    """A label (0..k-1) per row of embeddings (unit vectors)."""
    n = len(embeddings)
    if n < 2:
        return np.zeros(n, int)
    step = int(np.ceil(n / MAX_DIRECT))  # cluster evenly spaced windows of a long recording
    sample = embeddings[::step]
    labels = _agglomerate(sample, speakers, threshold)
    groups = [[k] for k in range(labels.max() + 1)]
    if speakers is None:
        groups = _merge_close(
            sample, labels, _big_groups(labels, max(MIN_WINDOWS / step, MIN_SHARE * len(sample)))
        )
    centroids = np.stack([_mean_vector(sample[np.isin(labels, group)]) for group in groups])
    return _renumber(np.argmax(embeddings @ centroids.T, axis=1))


def _agglomerate(vectors, speakers, threshold):
    from scipy.cluster.hierarchy import fcluster, linkage

    if len(vectors) == 1:
        return np.zeros(1, int)
    tree = linkage(vectors, method="average", metric="cosine")
    if speakers is not None:
        return fcluster(tree, t=min(speakers, len(vectors)), criterion="maxclust") - 1
    labels = fcluster(tree, t=threshold, criterion="distance") - 1
    if labels.max() + 1 > MAX_SPEAKERS:
        labels = fcluster(tree, t=MAX_SPEAKERS, criterion="maxclust") - 1
    return labels


def _big_groups(labels, least):
    """[[label]] of the groups big enough to be a speaker (the biggest if none is)."""
    counts = np.bincount(labels)
    big = np.flatnonzero(counts >= max(least, 2))
    return [[int(k)] for k in big] if len(big) else [[int(np.argmax(counts))]]


def _merge_close(vectors, labels, groups):
    """Join the two groups with the closest mean vectors while they are under MERGE apart."""
    while len(groups) > 1:
        means = np.stack([_mean_vector(vectors[np.isin(labels, group)]) for group in groups])
        distances = 1 - means @ means.T
        np.fill_diagonal(distances, np.inf)
        i, j = np.unravel_index(np.argmin(distances), distances.shape)
        if distances[i, j] >= MERGE:
            break
        groups = [g for k, g in enumerate(groups) if k not in (i, j)] + [groups[i] + groups[j]]
    return groups


def _renumber(labels):
    order: dict[int, int] = {}
    return np.array([order.setdefault(int(label), len(order)) for label in labels], int)


def _mean_vector(vectors):
    mean = vectors.mean(axis=0)
    return mean / max(float(np.linalg.norm(mean)), 1e-12)
