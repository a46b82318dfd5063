"""Issue 8: speech from piped text, streamed vs not, at a realistic LLM pace.

A writer process types a story into the pipe at about 30 tokens a second (a word
every 45 ms), and `llm speak` reads it: once with --stream, once without. For each
we time, from the moment the writer starts: the first audio byte on stdout, and the
end. The targets: streamed first audio no later than the first sentence's synthesis
(measured alone, warm, in the same run) plus 10% after that sentence is complete in
the pipe; and well under a quarter of the non-streamed time to first audio.

    python benchmarks/bench_stream.py [--quick]
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time

import _common as c

STORY = (
    "Once upon a time, a small robot lived in a lighthouse by the sea. "
    "Every night it climbed the stairs to check the great lamp. "
    "One evening a storm rolled in from the west, and the lamp began to flicker. "
    "The robot searched the storeroom for a spare bulb, but the shelves were empty. "
    "So it opened its own chest and took out the light that kept it running. "
    "The beam swept across the water, and a fishing boat found its way home. "
    "In the morning the fishermen climbed the hill to say thank you. "
    "They found the robot asleep beside the lamp, and they carried it gently down the stairs."
)
FIRST_SENTENCE = STORY.split(". ")[0] + "."
WORD_INTERVAL = 0.045  # ~30 tokens/s at ~1.35 tokens per word

# The writer waits before its first word, as an LLM does before its first token; by
# then `llm speak --stream` has loaded Kokoro in the background (it warms up while
# waiting for text), so what is timed is the speech, not the process start.
WRITER_DELAY = 8.0

WRITER = (
    "import sys, time\n"
    "time.sleep(float(sys.argv[3]))\n"
    "words = sys.argv[1].split(' ')\n"
    "sys.stderr.write('FIRST_WORD\\n'); sys.stderr.flush()\n"
    "for i, word in enumerate(words):\n"
    "    sys.stdout.write(word + (' ' if i < len(words) - 1 else ''))\n"
    "    sys.stdout.flush()\n"
    "    if word.endswith('.') and not getattr(sys, '_told', False):\n"
    "        sys.stderr.write('FIRST_SENTENCE_DONE\\n'); sys.stderr.flush(); sys._told = True\n"
    "    time.sleep(float(sys.argv[2]))\n"
)


def run_pipeline(stream: bool) -> dict:
    start = time.perf_counter()
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, STORY, str(WORD_INTERVAL), str(WRITER_DELAY)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    argv = c.llm_command() + ["speak", "-o", "-", "--format", "pcm"] + (["--stream"] if stream else [])
    speaker = subprocess.Popen(argv, stdin=writer.stdout, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    writer.stdout.close()
    marks = {}

    def watch_writer():
        for line in writer.stderr:
            if "FIRST_WORD" in line:
                marks["first_word"] = time.perf_counter() - start
            if "FIRST_SENTENCE_DONE" in line:
                marks["first_sentence"] = time.perf_counter() - start
        marks["writer_done"] = time.perf_counter() - start

    watcher = threading.Thread(target=watch_writer)
    watcher.start()
    total = 0
    while True:
        data = speaker.stdout.read1(65536)
        if not data:
            break
        if "first_byte" not in marks:
            marks["first_byte"] = time.perf_counter() - start
        total += len(data)
    speaker.wait()
    writer.wait()
    watcher.join()
    marks["total"] = time.perf_counter() - start
    if speaker.returncode != 0:
        raise RuntimeError(speaker.stderr.read().decode()[-2000:])
    marks["audio_s"] = total / 2 / 24000
    return marks


def first_sentence_synthesis() -> dict:
    """Warm synthesis time of the first sentence alone, in a child process."""
    return c.run_child(__file__, "synth", sentence=FIRST_SENTENCE)


def child_synth(sentence):
    import llm_mlx_audio

    model = llm_mlx_audio.get_speech_model()
    times, audio = c.timed(lambda: model.speak(sentence), runs=3, warmup=1)
    return {"times": times, "audio_s": audio.duration}


def main():
    args = c.parser(__doc__.splitlines()[0], default_repeats=3).parse_args()
    if c.child_main(args, {"synth": child_synth}):
        return
    c.prepare_workdir(args.workdir)
    c.ensure_models(("speech",))
    runs = c.repeats(args)
    synth = first_sentence_synthesis()
    streamed = [run_pipeline(True) for _ in range(runs)]
    whole = [run_pipeline(False) for _ in range(runs)]
    synth_s = c.median(synth["times"])
    after_sentence = [r["first_byte"] - r["first_sentence"] for r in streamed]
    print("\n## Streaming speech from a pipe (embedded Kokoro, ~30 tokens/s writer)")
    print(f"load average: {c.load_average()}; runs: {runs}; the writer starts after {WRITER_DELAY:.0f} s\n")
    print("| measure | median (s) | runs |")
    print("|---|---|---|")

    def line(name, values):
        print(f"| {name} | {c.median(values):.2f} | {', '.join(f'{v:.2f}' for v in values)} |")

    line("writer: first sentence complete in the pipe", [r["first_sentence"] for r in streamed])
    line("writer: whole story written", [r["writer_done"] for r in whole])
    line("--stream: first audio byte", [r["first_byte"] for r in streamed])
    line("--stream: first audio after the first sentence was complete", after_sentence)
    line("--stream: total", [r["total"] for r in streamed])
    line("no --stream: first audio byte", [r["first_byte"] for r in whole])
    line("no --stream: total", [r["total"] for r in whole])
    line("first sentence synthesized alone (warm, in-process)", synth["times"])
    ratio_synth = c.median(after_sentence) / synth_s
    ratio_whole = c.median([r["first_byte"] for r in streamed]) / c.median([r["first_byte"] for r in whole])
    ratio_from_text = c.median([r["first_byte"] - r["first_word"] for r in streamed]) / c.median(
        [r["first_byte"] - r["first_word"] for r in whole]
    )
    print(
        f"\nfirst audio after the sentence / its synthesis alone: {ratio_synth:.2f} (target <= 1.10: "
        f"{'met' if ratio_synth <= 1.10 else 'NOT met'})"
    )
    print(
        f"streamed / non-streamed time to first audio: {ratio_whole:.2f} (target < 0.25: "
        f"{'met' if ratio_whole < 0.25 else 'NOT met'})"
    )
    print(
        f"the same, counted from the first word of text (not the writer's start): {ratio_from_text:.2f} "
        f"(target < 0.25: {'met' if ratio_from_text < 0.25 else 'NOT met'})"
    )
    print(
        f"audio: {c.median([r['audio_s'] for r in streamed]):.1f} s; speech peak RSS (synth child): "
        f"{synth['peak_mb']:.0f} MiB"
    )


if __name__ == "__main__":
    main()
