"""The real llm CLI, run the two ways tests need: in this process, or as a fresh one."""

import os
import subprocess
import sys

from click.testing import CliRunner


def run_llm(*args, input=None):
    """Run the real llm CLI in this process (click's CliRunner), stderr kept apart."""
    from llm.cli import cli

    runner = CliRunner()
    return runner.invoke(cli, list(args), input=input, catch_exceptions=False)


def llm_subprocess(*args, input=None, env=None, timeout=300):
    """Run the real `llm` executable in a fresh process."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "llm", *args],
        input=input,
        capture_output=True,
        env=full_env,
        timeout=timeout,
    )
