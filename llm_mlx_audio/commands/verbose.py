"""--verbose: the libraries' warnings and the plugin's own timings on stderr.

Sets LLM_MLX_AUDIO_DEBUG=1 for this process (the engine reads it in engine/quiet.py
before it silences mlx-audio, misaki and phonemizer), and shows the llm_mlx_audio
logger's lines: model load, G2P, synthesis and real-time factor.
"""

import contextlib
import logging
import os
import sys

ENV_DEBUG = "LLM_MLX_AUDIO_DEBUG"  # the same switch as engine/quiet.py's


def verbose_option(fn):
    import click

    return click.option(
        "--verbose",
        is_flag=True,
        help="Show timings and the libraries' warnings on stderr (also LLM_MLX_AUDIO_DEBUG=1)",
    )(fn)


def show_details(verbose: bool) -> None:
    if verbose:
        os.environ[ENV_DEBUG] = "1"
    if os.environ.get(ENV_DEBUG, "").strip().lower() in ("", "0", "false", "no", "off"):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("llm-mlx-audio: %(message)s"))
    logger = logging.getLogger("llm_mlx_audio")
    logger.setLevel(logging.DEBUG)
    logger.propagate = False  # a library may have configured the root logger too
    if not any(getattr(h, "_llm_mlx_audio", False) for h in logger.handlers):
        handler._llm_mlx_audio = True
        logger.addHandler(handler)


@contextlib.contextmanager
def quiet_notices(quiet: bool):
    """No advice on stderr (the slow-BLAS notice) while a command writes for programs."""
    if not quiet:
        yield
        return
    before = os.environ.get("LLM_MLX_AUDIO_QUIET")
    os.environ["LLM_MLX_AUDIO_QUIET"] = "1"
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("LLM_MLX_AUDIO_QUIET", None)
        else:
            os.environ["LLM_MLX_AUDIO_QUIET"] = before
