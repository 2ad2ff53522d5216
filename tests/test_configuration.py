from __future__ import annotations

import pytest

from memory_agent.configuration import OFFLINE_MODEL, Configuration
from memory_agent.prompts import SYSTEM_PROMPT


def test_defaults_run_offline_without_a_key() -> None:
    settings = Configuration.from_runnable_config()
    assert settings.model == OFFLINE_MODEL
    assert settings.is_offline
    assert settings.user_id == "default-user"
    assert settings.system_prompt == SYSTEM_PROMPT
    assert settings.embedding == "hash"


def test_an_api_key_or_base_url_selects_a_real_model(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    settings = Configuration.from_runnable_config()
    assert settings.model == "gpt-4o-mini"
    assert settings.api_key == "sk-test"
    assert "sk-test" not in repr(settings)
    monkeypatch.delenv("OPENAI_API_KEY")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:11434/v1")
    settings = Configuration.from_runnable_config()
    assert settings.base_url == "http://127.0.0.1:11434/v1"
    assert not settings.is_offline


def test_configurable_beats_env_which_beats_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEMORY_AGENT_TEMPERATURE", "0.7")
    monkeypatch.setenv("MEMORY_AGENT_USER_ID", "env-user")
    monkeypatch.setenv("MEMORY_AGENT_RECALL_LIMIT", "4")
    from_env = Configuration.from_runnable_config({"configurable": {}})
    assert (from_env.temperature, from_env.user_id, from_env.recall_limit) == (0.7, "env-user", 4)
    run = Configuration.from_runnable_config(
        {"configurable": {"temperature": 1.5, "user_id": "zed", "thread_id": "ignored"}}
    )
    assert (run.temperature, run.user_id, run.recall_limit) == (1.5, "zed", 4)


@pytest.mark.parametrize(
    ("configurable", "named"),
    [
        ({"temperature": 2.5}, "temperature"),
        ({"temperature": -0.1}, "temperature"),
        ({"user_id": ""}, "user_id"),
        ({"user_id": "   "}, "user_id"),
        ({"user_id": "x" * 65}, "user_id"),
        ({"user_id": "zed.smith"}, "user_id"),
        ({"user_id": "a/b"}, "user_id"),
        ({"system_prompt": " "}, "system_prompt"),
        ({"base_url": "ftp://x"}, "base_url"),
        ({"embedding": "word2vec"}, "embedding"),
        ({"recall_limit": 0}, "recall_limit"),
    ],
)
def test_invalid_settings_name_the_setting(configurable: dict, named: str) -> None:
    with pytest.raises(ValueError, match=named):
        Configuration.from_runnable_config({"configurable": configurable})


def test_a_non_numeric_env_var_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEMORY_AGENT_TEMPERATURE", "warm")
    with pytest.raises(ValueError, match="MEMORY_AGENT_TEMPERATURE"):
        Configuration.from_runnable_config()
