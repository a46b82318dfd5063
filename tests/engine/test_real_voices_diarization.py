"""Who spoke when, on conversations of real human voices (issue 27).

Synthetic voices chosen to differ (test_diarization.py) hid that real voices lie closer
together: two women's voices came out as one speaker (DER 0.33 with two real voices,
0.29 with three, and two found of three). The conversations (tests/real_conversations.py)
are studio recordings of four voice actors, turns of 5 to 12 s, 0.6 s apart. The targets
are the issue's: three real speakers found as three with DER at most 15%, two with DER
at most 10%, and one voice stays one speaker.
"""

import pytest
from der import der
from real_conversations import HAVE_REAL_VOICES, THREE_SPEAKER_SETS, TWO_SPEAKER_SETS, conversation

from llm_mlx_audio.engine import diarization, long_form
from llm_mlx_audio.engine.thread import get_mlx_thread

pytestmark = pytest.mark.skipif(
    not HAVE_REAL_VOICES, reason="Asterisk's core sounds missing (scripts/setup test installs them)"
)


def diarize(samples):
    thread = get_mlx_thread()
    with long_form.vad_model() as vad, diarization.speaker_model() as encoder:
        probabilities, total = long_form._speech_probabilities(thread, vad, [samples])
        turns = diarization.diarize([samples], probabilities, total, encoder)
    return [(t.start, t.end, t.speaker) for t in turns]


def scored(voices, seed, turns):
    """(DER, speakers found) of one conversation."""
    samples, reference = conversation(voices, seed, turns=turns)
    hypothesis = diarize(samples)
    return der(reference, hypothesis)["der"], len({s for _, _, s in hypothesis})


@pytest.mark.parametrize("voices", THREE_SPEAKER_SETS, ids="+".join)
@pytest.mark.parametrize("seed", [0, 1])
def test_three_real_speakers_are_found_and_told_apart(voices, seed):
    rate, found = scored(voices, seed, turns=12)
    assert found == 3 and rate <= 0.15, (rate, found)


@pytest.mark.parametrize("voices", TWO_SPEAKER_SETS, ids="+".join)
def test_two_real_speakers_are_told_apart(voices):
    rate, found = scored(voices, seed=0, turns=10)
    assert found == 2 and rate <= 0.10, (rate, found)


def test_one_real_voice_stays_one_speaker():
    rate, found = scored(("allison",), seed=0, turns=10)
    assert found == 1 and rate <= 0.05, (rate, found)
