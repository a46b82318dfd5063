"""Ending an `llm` process as soon as its command is done, without the interpreter's teardown.

Once a model has run, Python's own shutdown takes most of a second on 2 cores (0.6 to
0.9 s measured after `llm speak`): it frees a model's worth of arrays one object at a
time, finalizes spaCy's and thinc's objects and modules, and runs MLX's and OpenBLAS's
C++ destructors. Even a command that only talked to the warm server pays ~0.25 s to
tear down llm's own imports (openai, pydantic). None of that is work the user asked
for; the file is already written.

So a command that ran in a real process ends like this instead: non-daemon threads are
joined and every atexit handler runs (llm's, other plugins', the MLX thread's own
clean stop), as at a normal exit; the standard streams are flushed; then ``os._exit``.
Only the freeing of memory is skipped, which the kernel does at once.

In-process callers (click's CliRunner, a test harness, anything that swapped
``sys.stdout``) exit as usual.
"""

from __future__ import annotations

import atexit
import os
import sys
import threading

ENV_SWITCH = "LLM_MLX_AUDIO_QUICK_EXIT"  # "0": always exit the normal way


def applies() -> bool:
    """Whether this is a whole `llm` process of ours to end (not a caller's process)."""
    if os.environ.get(ENV_SWITCH) == "0":
        return False
    if sys.stdout is not sys.__stdout__ or sys.stderr is not sys.__stderr__:
        return False  # running inside another program (CliRunner swaps the streams)
    return threading.current_thread() is threading.main_thread()


def finish(code: int) -> None:
    """Exit now with ``code`` if ``applies()``; otherwise return, for the normal exit."""
    if not applies():
        return
    shutdown = getattr(threading, "_shutdown", None)  # joins non-daemon threads, as exit does
    if shutdown is not None:
        shutdown()
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)
