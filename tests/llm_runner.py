"""The real llm CLI, run the two ways tests need: in this process, or as a fresh one."""

import json
import os
import subprocess
import sys
import time

from click.testing import CliRunner


def run_llm(*args, input=None):
    """Run the real llm CLI in this process (click's CliRunner), stderr kept apart."""
    from llm.cli import cli

    runner = CliRunner()
    return runner.invoke(cli, list(args), input=input, catch_exceptions=False)


def on_a_terminal(command, env=None, timeout=300):
    """Run command with stderr on a pseudo-terminal 100 columns wide (a bare pty has 0
    columns: tqdm would draw an empty bar); (exit code, stdout bytes, what the terminal saw)."""
    import fcntl
    import pty
    import struct
    import termios

    controller, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=terminal, env=env)
    os.close(terminal)
    seen = b""
    while True:
        try:
            data = os.read(controller, 4096)
        except OSError:  # the terminal closed: the process is gone
            break
        if not data:
            break
        seen += data
    out = process.stdout.read()
    code = process.wait(timeout=timeout)
    os.close(controller)
    return code, out, seen.decode(errors="replace")


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


# Runs llm's CLI under a data-segment limit (bytes in argv[1]); the rest of argv is llm's.
_LIMITED_LLM = (
    "import resource, runpy, sys; limit = int(sys.argv.pop(1)); "
    "resource.setrlimit(resource.RLIMIT_DATA, (limit, limit)); "
    "sys.argv[0] = 'llm'; runpy.run_module('llm', run_name='__main__')"
)


def serve_in_a_process(user_dir, *args, memory_limit: int | None = None):
    """`llm audio serve --port 0` in its own process; (process, url) once it advertises itself.

    memory_limit: the server's data segment (RLIMIT_DATA) in bytes, for decode bombs."""
    env = {**os.environ, "LLM_USER_PATH": str(user_dir), "HF_HUB_OFFLINE": "1"}
    if memory_limit:
        command = [sys.executable, "-c", _LIMITED_LLM, str(memory_limit)]
    else:
        command = [sys.executable, "-m", "llm"]
    process = subprocess.Popen(
        [*command, "audio", "serve", "--port", "0", *args],
        env=env,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
    )
    advert = user_dir / "llm-mlx-audio-server.json"
    end = time.monotonic() + 60
    while time.monotonic() < end and process.poll() is None:
        try:
            data = json.loads(advert.read_text())
            if data["pid"] == process.pid:
                return process, data["url"]
        except (OSError, ValueError, KeyError):
            pass
        time.sleep(0.1)
    process.kill()
    raise AssertionError(f"the server did not start: {process.stderr.read().decode()}")
