"""`llm audio vocabulary add|list|remove` through the real llm CLI, and the file it keeps."""

import json

from llm_runner import run_llm


def test_added_terms_and_corrections_are_listed_and_stored_in_the_user_directory(user_dir):
    result = run_llm("audio", "vocabulary", "add", "kubectl", "Ngozi Okafor", "kube cuddle=kubectl")
    assert result.exit_code == 0, result.stderr
    assert run_llm("audio", "vocabulary", "list").stdout.splitlines() == [
        "kubectl",
        "Ngozi Okafor",
        "kube cuddle=kubectl",
    ]
    stored = json.loads((user_dir / "llm-mlx-audio-vocabulary.json").read_text())
    assert stored == {
        "terms": ["kubectl", "Ngozi Okafor"],
        "corrections": [{"heard": "kube cuddle", "meant": "kubectl"}],
    }
    assert json.loads(run_llm("audio", "vocabulary", "list", "--json").stdout) == stored


def test_remove_takes_terms_and_heard_phrases(user_dir):
    run_llm("audio", "vocabulary", "add", "kubectl", "Tadhg", "kube cuddle=kubectl")
    result = run_llm("audio", "vocabulary", "remove", "KUBECTL", "kube cuddle")
    assert result.exit_code == 0, result.stderr
    assert run_llm("audio", "vocabulary", "list").stdout.splitlines() == ["Tadhg"]


def test_removing_an_unknown_entry_fails_in_one_line_and_removes_nothing(user_dir):
    run_llm("audio", "vocabulary", "add", "Tadhg")
    result = run_llm("audio", "vocabulary", "remove", "Tadhg", "Aoife")
    assert result.exit_code == 1
    assert result.stderr == "Error: Not in the vocabulary: 'Aoife'\n"
    assert run_llm("audio", "vocabulary", "list").stdout == "Tadhg\n"


def test_a_bad_entry_fails_in_one_line_and_nothing_is_stored(user_dir):
    result = run_llm("audio", "vocabulary", "add", "Tadhg", "kube cuddle=")
    assert result.exit_code == 1
    assert result.stderr == "Error: Empty correction in vocabulary entry 'kube cuddle='\n"
    assert not (user_dir / "llm-mlx-audio-vocabulary.json").exists()


def test_a_damaged_vocabulary_file_is_named_in_one_line(user_dir):
    (user_dir / "llm-mlx-audio-vocabulary.json").write_text("{not json")
    result = run_llm("audio", "vocabulary", "list")
    assert result.exit_code == 1
    assert (
        result.stderr.startswith("Error: Cannot read the stored vocabulary ")
        and result.stderr.count("\n") == 1
    )


def test_transcribe_refuses_a_missing_vocabulary_file_in_one_line(tmp_path, tiny_models):
    clip = tmp_path / "clip.wav"
    clip.write_bytes(b"")
    result = run_llm("transcribe", str(clip), "--vocabulary", str(tmp_path / "missing.txt"), "-n")
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: Cannot read vocabulary file ") and result.stderr.count("\n") == 1


def test_transcribe_names_the_line_of_a_bad_vocabulary_file(tmp_path, tiny_models):
    words = tmp_path / "words.txt"
    words.write_text("Ngozi\n=kubectl\n")
    result = run_llm("transcribe", str(tmp_path / "clip.wav"), "--vocabulary", str(words), "-n")
    assert result.exit_code == 1
    assert result.stderr == f"Error: {words}:2: Empty heard phrase in vocabulary entry '=kubectl'\n"
