"""Issue 26: the share of rare terms transcribed right without a vocabulary, with its terms, and with corrections.

    python benchmarks/bench_vocabulary.py [--quick] [--workdir DIR]

The recording is tests/vocabulary_clips.py's: espeak-ng saying 8 sentences full of rare
names and tools (Siobhan, Ngozi, kubectl, Zustand, Oaxaca, Tadhg, Pydantic...), 18 terms,
37 s with pauses (two VAD windows, so the prompt must reach more than the first). Each
embedded Whisper (tiny.en, base; --quick: tiny.en) transcribes it three ways through the
same engine-neutral path as `llm transcribe` (vocabulary.transcribe): no vocabulary, the
18 terms, and the terms plus two corrections. A term counts when the transcript spells
it (whole word, any case). Counts, not times: the numbers do not depend on the load.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))  # vocabulary_clips

import _common as c


def main() -> None:
    args = c.parser(__doc__.splitlines()[0]).parse_args()
    c.prepare_workdir(args.workdir)
    from vocabulary_clips import CORRECTIONS, TERMS, recording, terms_right

    from llm_mlx_audio import registry
    from llm_mlx_audio.engine import embedded
    from llm_mlx_audio.vocabulary import Vocabulary, parse_entry, transcribe

    samples = recording()
    ways = {
        "no vocabulary": None,
        "terms": Vocabulary(terms=list(TERMS)),
        "terms + corrections": Vocabulary(
            terms=list(TERMS), corrections=[parse_entry(e) for e in CORRECTIONS]
        ),
    }
    results = {}
    for model_id in ["whisper-tiny.en"] if args.quick else ["whisper-tiny.en", "whisper-base"]:
        if embedded.ensure_embedded(model_id) is None:
            print(f"{model_id}: not installed, skipped")
            continue
        model = registry.find_model("transcription", model_id)
        for way, vocabulary in ways.items():
            text = transcribe(model, samples, vocabulary).text
            right = terms_right(text)
            results[f"{model_id} / {way}"] = {"right": len(right), "of": len(TERMS), "text": text}
            print(f"{model_id:16} {way:20} {len(right):2}/{len(TERMS)} terms right")
    if args.json:
        import json

        Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
