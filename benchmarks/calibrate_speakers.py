"""Issue 26: the cosine threshold at which a diarized speaker is an enrolled voice.

    python benchmarks/calibrate_speakers.py [--quick]

The four real voices of tests/real_conversations.py (Asterisk's recorded prompts) are
enrolled from ~20 s of their enrolment prompts; conversations of two, three and four of
them (other prompts only) are diarized, and each diarized speaker's mean vector is
compared with every enrolled voice. Printed: the scores of a speaker against its own
voice and against the others (min, quartiles, max), the threshold in the middle of the
gap, and, at that threshold and at speakers/matching.py's THRESHOLD, the share of each
voice's speech given its right name and the share of a never-enrolled voice's speech
given an enrolled name (each conversation is also run with one voice not enrolled).
No timing: safe to run while other jobs use the machine.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

SETS = [
    ("allison", "june"),
    ("carlo", "ivr"),
    ("june", "ivr"),
    ("allison", "june", "carlo"),
    ("june", "carlo", "ivr"),
    ("allison", "june", "carlo", "ivr"),
]


def main() -> None:
    import numpy as np
    from enrolled_voices import diarized, enrol, named_shares, true_voices
    from real_conversations import HAVE_REAL_VOICES, VOICES

    from llm_mlx_audio.speakers.matching import THRESHOLD, match

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one seed per set (default: three)")
    args = parser.parse_args()
    if not HAVE_REAL_VOICES:
        sys.exit("Asterisk's core sounds are missing (scripts/setup test installs them)")
    enrolled = enrol(list(VOICES))
    runs = []
    same, different = [], []
    for voices in SETS:
        for seed in [0] if args.quick else [0, 1, 2]:
            reference, found, means = diarized(voices, seed, turns=12 if len(voices) > 2 else 10)
            truth = true_voices(reference, found)
            for speaker, vector in means.items():
                for name, known in enrolled.items():
                    score = float(np.dot(vector, known))
                    (same if truth.get(speaker) == name else different).append(score)
            runs.append((voices, seed, reference, found, means))
    same, different = np.array(same), np.array(different)
    print(f"{len(runs)} conversations, {len(same)} same-voice and {len(different)} other-voice scores")
    for label, scores in (("same voice", same), ("other voice", different)):
        q = np.percentile(scores, [0, 25, 50, 75, 100])
        print(f"  {label:12} min {q[0]:.3f}  q1 {q[1]:.3f}  median {q[2]:.3f}  q3 {q[3]:.3f}  max {q[4]:.3f}")
    middle = (same.min() + different.max()) / 2
    print(f"gap: {different.max():.3f} .. {same.min():.3f}; middle {middle:.3f}; THRESHOLD {THRESHOLD}")
    for threshold in sorted({round(float(middle), 3), THRESHOLD}):
        right, wrong = [], []
        for voices, _, reference, found, means in runs:
            for left_out in [None, *voices]:
                known = {v: enrolled[v] for v in voices if v != left_out}
                names = {k: m["name"] for k, m in match(means, known, threshold).items() if m["name"]}
                for voice, (share, named) in named_shares(reference, found, names).items():
                    (wrong if voice == left_out else right).append(named if voice == left_out else share)
        print(
            f"threshold {threshold:.3f}: right name on {min(right):.1%} (worst voice) / "
            f"{np.mean(right):.1%} (mean) of enrolled speech; never-enrolled voices named on "
            f"{max(wrong):.1%} (worst) / {np.mean(wrong):.1%} (mean) of theirs"
        )


if __name__ == "__main__":
    main()
