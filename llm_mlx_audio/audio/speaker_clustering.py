"""Grouping speaker embeddings into speakers: average-linkage clustering on cosine distance.

Without a count, the tree is cut where the average distance between two groups passes
``threshold`` (tuned on conversations of clearly different voices, tests/engine/
test_diarization.py); with ``speakers``, it is cut into that many groups. Groups too
small to be a speaker (less than ``min_share`` of the windows, e.g. a cough or a
window across a change of speaker) are given to the nearest real one. At most
``MAX_SPEAKERS`` are found.

Memory stays linear in the length of the recording: beyond ``MAX_DIRECT`` windows,
evenly spaced windows (at most that many) are clustered, and every window then goes
to the nearest speaker's mean vector; a full distance matrix of an hour of windows
would take gigabytes. (Clustering means of neighbouring windows instead would not do:
averaging removes noise, distances shrink, and the threshold no longer holds; two
speakers merged into one at 30 minutes.)
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
    if n > MAX_DIRECT:  # cluster evenly spaced windows, then give every window the nearest speaker
        sample = np.arange(0, n, int(np.ceil(n / MAX_DIRECT)))
        sample_labels = _agglomerate(embeddings[sample], speakers, threshold)
        centroids = np.stack(
            [
                _unit(embeddings[sample][sample_labels == k].mean(axis=0))
                for k in range(sample_labels.max() + 1)
            ]
        )
        labels = np.argmax(embeddings @ centroids.T, axis=1)
    else:
        labels = _agglomerate(embeddings, speakers, threshold)
    if speakers is None:
        labels = _absorb_small(embeddings, labels)
    return _renumber(labels)


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


def _renumber(labels):
    order: dict[int, int] = {}
    return np.array([order.setdefault(int(label), len(order)) for label in labels], int)


def _unit(vector):
    return vector / max(float(np.linalg.norm(vector)), 1e-12)
