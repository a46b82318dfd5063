"""The detection heuristics: one order for download, import and load."""

import json

import pytest

from llm_mlx_audio.engine import detection
from llm_mlx_audio.engine.detection import (
    AUDIO,
    CODEC,
    EMBEDDINGS,
    SPEECH,
    TEXT,
    TRANSCRIPTION,
    VISION,
    detect_folder,
    detect_kind,
)


@pytest.mark.parametrize(
    "config,expected",
    [
        ({"vision_config": {}}, VISION),
        ({"image_token_id": 5}, VISION),
        ({"image_token_index": 5}, VISION),
        ({"video_token_id": 5}, VISION),
        ({"model_type": "qwen2_vl"}, VISION),
        ({"architectures": ["Qwen2VLForConditionalGeneration"]}, VISION),
        ({"model_type": "some_multimodal"}, VISION),
        ({"architectures": ["LlavaVisionModel"]}, VISION),
    ],
)
def test_vision_is_detected_from_config(config, expected):
    assert detect_kind(config, "some/model") == expected


@pytest.mark.parametrize(
    "config,expected",
    [
        ({"tts_config": {}}, SPEECH),
        ({"stt_config": {}}, TRANSCRIPTION),
        ({"vocoder_config": {}}, SPEECH),
        ({"codec_config": {}}, CODEC),
        ({"vocoder_config": {}, "codebook_size": 1024}, CODEC),
        ({"audio_config": {}}, AUDIO),
        ({"audio_config": {}, "architectures": ["WhisperForConditionalGeneration"]}, TRANSCRIPTION),
        ({"audio_config": {}, "model_type": "qwen3_tts"}, SPEECH),
    ],
)
def test_audio_config_keys_decide_audio_and_its_job(config, expected):
    assert detect_kind(config, "x") == expected


@pytest.mark.parametrize(
    "architecture,expected",
    [
        ("KokoroModel", SPEECH),
        ("WhisperForConditionalGeneration", TRANSCRIPTION),
        ("BarkModel", SPEECH),
        ("SpeechT5ForTextToSpeech", SPEECH),
        ("ParlerTTSForConditionalGeneration", SPEECH),
        ("SesameModel", SPEECH),
        ("SparkTTSModel", SPEECH),
        ("DiaForConditionalGeneration", SPEECH),
        ("OuteTTSModel", SPEECH),
        ("ChatterboxModel", SPEECH),
        ("ParakeetForCTC", TRANSCRIPTION),
        ("VoxtralForConditionalGeneration", TRANSCRIPTION),
        ("VibeVoiceForConditionalGeneration", SPEECH),
        ("VoxCPMModel", SPEECH),
        ("SopranoModel", SPEECH),
        ("KittenTTS", SPEECH),
    ],
)
def test_audio_architectures(architecture, expected):
    assert detect_kind({"architectures": [architecture]}, "x") == expected


@pytest.mark.parametrize(
    "model_type,expected",
    [
        ("kokoro", SPEECH),
        ("whisper", TRANSCRIPTION),
        ("bark", SPEECH),
        ("speecht5", SPEECH),
        ("parler_tts", SPEECH),
        ("dia", SPEECH),
        ("outetts", SPEECH),
        ("spark", SPEECH),
        ("chatterbox", SPEECH),
        ("soprano", SPEECH),
        ("parakeet", TRANSCRIPTION),
        ("qwen3_tts", SPEECH),
        ("qwen3_asr", TRANSCRIPTION),
        ("glm4_voice", AUDIO),
        ("kitten_tts", SPEECH),
        ("voxtral_tts", SPEECH),
    ],
)
def test_audio_model_types(model_type, expected):
    assert detect_kind({"model_type": model_type}, "x") == expected


def test_mlx_audio_knows_types_the_lists_do_not():
    # moonshine-like families the ancestor missed come from mlx-audio's own registry
    assert detect_kind({"model_type": "sensevoice"}, "x") == TRANSCRIPTION


@pytest.mark.parametrize(
    "config,expected",
    [
        ({"architectures": ["BertModel"]}, EMBEDDINGS),
        ({"architectures": ["XLMRobertaModel"]}, EMBEDDINGS),
        ({"model_type": "bert"}, EMBEDDINGS),
        ({"architectures": ["SentenceTransformer"]}, EMBEDDINGS),
    ],
)
def test_embeddings_from_config(config, expected):
    assert detect_kind(config, "x") == expected


@pytest.mark.parametrize(
    "name,expected",
    [
        ("mlx-community/Kokoro-82M-bf16", SPEECH),
        ("mlx-community/whisper-large-v3-turbo", TRANSCRIPTION),
        ("someone/my-tts-model", SPEECH),
        ("someone/fast-stt", TRANSCRIPTION),
        ("someone/good-asr", TRANSCRIPTION),
        ("suno/bark-small", SPEECH),
        ("microsoft/speecht5_tts", SPEECH),
        ("parler-tts/parler-tts-mini", SPEECH),
        ("resemble/chatterbox", SPEECH),
        ("nari-labs/dia-1.6b", SPEECH),
        ("OuteAI/OuteTTS-0.3", SPEECH),
        ("SparkAudio/Spark-TTS-0.5B", SPEECH),
        ("nvidia/parakeet-tdt-0.6b-v2", TRANSCRIPTION),
        ("mistralai/Voxtral-Mini-3B", TRANSCRIPTION),
        ("microsoft/VibeVoice-1.5B", SPEECH),
        ("openbmb/VoxCPM-0.5B", SPEECH),
        ("ekwek/Soprano-80M", SPEECH),
        ("descript/descript-audio-codec", CODEC),
        ("hubertsiuzdak/snac_24khz", CODEC),
        ("charactr/vocos-mel-24khz", CODEC),
        ("Qwen/Qwen2-VL-7B", VISION),
        ("llava-hf/llava-1.5-7b", VISION),
        ("mistralai/Pixtral-12B", VISION),
        ("google/gemma-3-4b-it", VISION),
        ("sentence-transformers/all-MiniLM-L6-v2", EMBEDDINGS),
        ("BAAI/bge-small-en", EMBEDDINGS),
        ("nomic-ai/nomic-embed-text", EMBEDDINGS),
        ("mlx-community/Llama-3.2-3B-Instruct-4bit", TEXT),
        ("totally/unknown", TEXT),
    ],
)
def test_name_fallback_without_config(name, expected):
    assert detect_kind(None, name) == expected


def test_name_fallback_when_config_says_nothing():
    assert detect_kind({"hidden_size": 512}, "mlx-community/Kokoro-82M") == SPEECH


def test_glm_flash_is_text_not_voice():
    config = {"model_type": "glm4_moe_lite", "architectures": ["Glm4MoeLiteForCausalLM"]}
    assert detect_kind(config, "zai-org/GLM-4.7-Flash") == TEXT


def test_nemotron_is_not_dia():
    config = {"model_type": "nemotron_h", "architectures": ["NemotronHForCausalLM"]}
    assert detect_kind(config, "nvidia/NVIDIA-Nemotron-Nano-9B-v2") == TEXT
    assert detect_kind(None, "nvidia/NVIDIA-Nemotron-Nano-9B-v2") == TEXT


@pytest.mark.parametrize(
    "name", ["someone/speech-llama-8b", "someone/tts-instruct-qwen", "someone/asr-helper-lm"]
)
def test_causal_lm_is_never_audio_because_of_its_name(name):
    config = {"model_type": "llama", "architectures": ["LlamaForCausalLM"]}
    assert detect_kind(config, name) == TEXT


def test_causal_lm_with_audio_model_type_is_audio():
    config = {"model_type": "qwen3_tts", "architectures": ["Qwen3TTSForCausalLM"]}
    assert detect_kind(config, "x") == SPEECH


@pytest.mark.parametrize(
    "config,name",
    [
        ({"model_type": "llama", "architectures": ["LlamaForCausalLM"]}, "meta-llama/Llama-3-8B"),
        ({"model_type": "qwen2", "architectures": ["Qwen2ForCausalLM"]}, "Qwen/Qwen2.5-7B"),
        ({"model_type": "mistral"}, "mistralai/Mistral-7B"),
        ({}, "unknown"),
    ],
)
def test_text_models_stay_text(config, name):
    assert detect_kind(config, name) == TEXT


def test_detect_folder_reads_config(tmp_path):
    folder = tmp_path / "anything"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"model_type": "whisper"}))
    assert detect_folder(folder) == TRANSCRIPTION


def test_detect_folder_falls_back_to_name_when_config_is_unreadable(tmp_path):
    folder = tmp_path / "kokoro-local"
    folder.mkdir()
    (folder / "config.json").write_text("{not json")
    assert detect_folder(folder) == SPEECH


def test_every_kind_has_words_for_errors():
    for kind in (TEXT, VISION, EMBEDDINGS, SPEECH, TRANSCRIPTION, CODEC, AUDIO):
        assert detection.describe_kind(kind).startswith(("a ", "an "))
