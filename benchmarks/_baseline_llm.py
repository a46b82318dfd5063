"""`llm` with this plugin imported from another checkout: the "before" of a benchmark.

    python benchmarks/_baseline_llm.py CHECKOUT speak "Hello" -o x.wav

CHECKOUT is a working tree of an earlier commit (`git worktree add /tmp/base <commit>`).
The same Python, the same installed libraries and the same user directory are used; only
the plugin's own code comes from CHECKOUT. The editable install's import hook would
otherwise win over sys.path, so it is taken out first.
"""

import sys


def main():
    checkout = sys.argv.pop(1)
    sys.meta_path[:] = [
        finder
        for finder in sys.meta_path
        if "editable" not in (getattr(finder, "__name__", "") + type(finder).__module__).lower()
    ]
    sys.path.insert(0, checkout)
    import llm_mlx_audio

    if not llm_mlx_audio.__file__.startswith(checkout):
        raise SystemExit(f"llm_mlx_audio came from {llm_mlx_audio.__file__}, not {checkout}")
    sys.argv[0] = "llm"
    from llm.cli import cli

    cli()


if __name__ == "__main__":
    main()
