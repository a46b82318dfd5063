"""Grouping speaker embeddings into speakers: average-linkage clustering on cosine distance.

Without a count, the tree is cut where the average distance between two groups passes
``threshold`` (tuned on conversations of clearly different voices, tests/engine/
test_diarization.py); with ``speakers``, it is cut into that many groups. Groups too
small to be a speaker (less than ``min_share`` of the windows, e.g. a cough or a
window across a change of speaker) are given to the nearest real one. At most
``MAX_SPEAKERS`` are found.

Memory stays linear in the length of the recording: beyond ``MAX_DIRECT`` windows,
consecutive windows are first merged into at most that many short runs of equal
length, and the runs' mean vectors are clustered; a full distance matrix
of an hour of windows would take gigabytes.
"""

from __future__ import annotations

import numpy as np

THRESHOLD = 0.44  # average cosine distance at which two groups are different speakers
MAX_SPEAKERS = 20
MAX_DIRECT = 2000
MIN_SHARE = 0.03


def cluster(embeddings: np.ndarray, speakers: int | None = None, threshold: float = THRESHOLD) -> np.ndarray:
    """A label (0..k-1) per row of embeddings (unit vectors)."""
    n = len(embeddings)
    if n == 0:
        return np.zeros(0, int)
    if n == 1:
        return np.zeros(1, int)
    groups = _runs(embeddings) if n > MAX_DIRECT else [np.array([i]) for i in range(n)]
    centroids = np.stack([_unit(embeddings[g].mean(axis=0)) for g in groups])
    weights = np.array([len(g) for g in groups], float)
    group_labels = _agglomerate(centroids, weights, speakers, threshold)
    labels = np.empty(n, int)
    for group, label in zip(groups, group_labels, strict=True):
        labels[group] = label
    if speakers is None:
        labels = _absorb_small(embeddings, labels)
    return _renumber(labels)


def _agglomerate(vectors, weights, speakers, threshold):
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


def _absorb_small(embeddings, labels):
    counts = np.bincount(labels)
    big = np.flatnonzero(counts >= max(2, MIN_SHARE * len(labels)))
    if len(big) == 0 or len(big) == len(counts):
        return labels
    centroids = np.stack([_unit(embeddings[labels == b].mean(axis=0)) for b in big])
    small = ~np.isin(labels, big)
    labels = labels.copy()
    labels[small] = big[np.argmax(embeddings[small] @ centroids.T, axis=1)]
    return labels


def _runs(embeddings):
    """Consecutive windows in runs of equal length, at most MAX_DIRECT of them (an hour: 2 s)."""
    n = len(embeddings)
    size = int(np.ceil(n / MAX_DIRECT))
    return [np.arange(i, min(i + size, n)) for i in range(0, n, size)]


def _renumber(labels):
    order: dict[int, int] = {}
    return np.array([order.setdefault(int(label), len(order)) for label in labels], int)


def _unit(vector):
    return vector / max(float(np.linalg.norm(vector)), 1e-12)
