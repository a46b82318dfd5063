"""For modules whose tests share one llm user directory (a server, converted models).

Import the fixture below into such a module: it replaces conftest's per-test
user_dir with the module-scoped shared_user_dir.
"""

import pytest


@pytest.fixture(name="user_dir")
def shared_user_dir_for_each_test(shared_user_dir, monkeypatch):
    monkeypatch.setenv("LLM_USER_PATH", str(shared_user_dir))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return shared_user_dir
