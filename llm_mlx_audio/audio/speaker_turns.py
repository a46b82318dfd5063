"""Who spoke when, from speech regions: where the speaker encoder looks, and the turns it implies.

The encoder reads windows of 1.5 s, every 0.5 s, inside each stretch of speech; a
stretch shorter than a window is one window of its own length. After clustering, a
moment of speech belongs to the window whose centre is nearest, so a change of
speaker falls halfway between the centres of the last window of one voice and the
first of the next (0.25 s resolution). Turns are runs of one speaker; a run no longer
than ``min_turn`` (one window's share) inside another speaker's speech is taken as noise and joined to it.
All positions are samples at 16 kHz on the recording's clock.
"""

from __future__ import annotations

import dataclasses

RATE = 16000
WINDOW_SECONDS = 1.5
STEP_SECONDS = 0.5
MIN_WINDOW_SECONDS = 0.4


@dataclasses.dataclass(frozen=True)
class Turn:
    start: float  # seconds
    end: float
    speaker: int  # 0, 1, ... in order of first appearance


def embedding_windows(regions, rate: int = RATE) -> list[tuple[int, int]]:
    """[(start, end)] samples the encoder reads, in order, for [(start, end)] speech regions."""
    size, step, least = int(WINDOW_SECONDS * rate), int(STEP_SECONDS * rate), int(MIN_WINDOW_SECONDS * rate)
    windows = []
    for start, end in regions:
        if end - start < least:
            continue
        if end - start <= size:
            windows.append((start, end))
            continue
        at = start
        while at + size < end:
            windows.append((at, at + size))
            at += step
        windows.append((end - size, end))  # the last one ends with the region
    return windows


def turns(regions, windows, labels, rate: int = RATE, min_turn: float = 0.5) -> list[Turn]:
    """Speaker turns from the windows' cluster labels, labels renumbered by first appearance."""
    centres = [(start + end) / 2 for start, end in windows]
    pieces: list[list] = []  # [start, end, label] in samples
    w = 0
    for start, end in regions:
        inside = []
        while w < len(windows) and windows[w][0] < end:
            if windows[w][1] > start:
                inside.append(w)
            w += 1
        if not inside:
            continue
        at = start
        for k, i in enumerate(inside):
            stop = end if k == len(inside) - 1 else int((centres[i] + centres[inside[k + 1]]) / 2)
            stop = min(max(stop, at), end)
            if stop > at:
                _extend(pieces, at, stop, labels[i])
            at = stop
    pieces = _absorb_short(pieces, int(min_turn * rate))
    order: dict[int, int] = {}
    for piece in pieces:
        order.setdefault(piece[2], len(order))
    return [Turn(round(s / rate, 3), round(e / rate, 3), order[label]) for s, e, label in pieces]


def _extend(pieces, start, end, label):
    if pieces and pieces[-1][2] == label and pieces[-1][1] == start:
        pieces[-1][1] = end
    else:
        pieces.append([start, end, label])


def _absorb_short(pieces, shortest):
    """Join a too-short run to the speaker on both sides of it when they are the same one."""
    changed = True
    while changed:
        changed = False
        for k in range(1, len(pieces) - 1):
            before, piece, after = pieces[k - 1], pieces[k], pieces[k + 1]
            touching = before[1] == piece[0] and piece[1] == after[0]
            if piece[1] - piece[0] <= shortest and touching and before[2] == after[2]:
                before[1] = after[1]
                del pieces[k : k + 2]
                changed = True
                break
    return pieces
