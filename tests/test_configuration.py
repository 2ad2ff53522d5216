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
    assert settings.embedding == "wordllama"


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


def test_an_empty_setting_means_not_given(monkeypatch: pytest.MonkeyPatch) -> None:
    """LangGraph Server puts ``user_id = ""`` into every anonymous run (Studio, agent-chat-ui)."""
    assert Configuration.from_runnable_config({"configurable": {"user_id": ""}}).user_id == (
        "default-user"
    )
    monkeypatch.setenv("MEMORY_AGENT_USER_ID", "studio")
    settings = Configuration.for_run({"user_id": "", "model": ""}, {"configurable": {}})
    assert (settings.user_id, settings.model) == ("studio", "offline-demo")


def test_a_run_cannot_set_the_operators_server_or_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-operator")
    evil = {"base_url": "https://evil.example/v1", "api_key": "x", "user_id": "zed"}
    for settings in (
        Configuration.for_run(evil, None),
        Configuration.for_run(None, {"configurable": evil}),
    ):
        assert (settings.base_url, settings.api_key, settings.user_id) == (
            None,
            "sk-operator",
            "zed",
        )


def test_the_context_schema_lists_per_run_settings_and_never_the_key() -> None:
    from memory_agent.graph import build_graph

    schema = build_graph().get_context_jsonschema()
    assert set(schema["properties"]) == {
        "user_id",
        "model",
        "temperature",
        "system_prompt",
        "recall_limit",
    }
    assert all(p.get("description") for p in schema["properties"].values())


@pytest.mark.parametrize("raw", ["inf", "nan", "-inf"])
def test_a_timeout_must_be_a_finite_number(monkeypatch: pytest.MonkeyPatch, raw: str) -> None:
    monkeypatch.setenv("MEMORY_AGENT_REQUEST_TIMEOUT", raw)
    with pytest.raises(ValueError, match="MEMORY_AGENT_REQUEST_TIMEOUT"):
        Configuration.from_runnable_config()


@pytest.mark.parametrize(
    ("variable", "raw", "rule"),
    [
        ("MEMORY_AGENT_REQUEST_TIMEOUT", "0", "a number of seconds above 0, at most 3600"),
        ("MEMORY_AGENT_MODEL_CALL_DEADLINE", "5000", "a number of seconds above 0, at most 3600"),
        ("MEMORY_AGENT_TEMPERATURE", "3", "a number from 0 to 2"),
        ("MEMORY_AGENT_RECALL_LIMIT", "0", "a whole number from 1 to 100"),
        ("MEMORY_AGENT_RECALL_LIMIT", "1.5", "a whole number"),
        ("MEMORY_AGENT_EMBEDDING_DIMS", "4", "a whole number from 8 to 8192"),
        ("MEMORY_AGENT_MAX_MODEL_CALLS", "1", "a whole number from 2 to 50"),
        ("MEMORY_AGENT_MAX_TOOL_CALLS", "101", "a whole number from 1 to 100"),
        ("MEMORY_AGENT_EMBEDDING", "word2vec", "'wordllama', 'hash', 'openai' or 'openai:<model>'"),
        ("MEMORY_AGENT_EMBEDDING_ENCODING_FORMAT", "hex", "'float' or 'base64'"),
        ("MEMORY_AGENT_BASE_URL", "ftp://x", "a URL starting with http:// or https://"),
        ("OPENAI_BASE_URL", "ftp://x", "a URL starting with http:// or https://"),
        ("MEMORY_AGENT_EMBEDDING_BASE_URL", "x", "a URL starting with http:// or https://"),
        ("MEMORY_AGENT_MODEL", "  ", "a model name"),
    ],
)
def test_a_bad_env_var_is_named_with_the_text_the_user_set(
    monkeypatch: pytest.MonkeyPatch, variable: str, raw: str, rule: str
) -> None:
    monkeypatch.setenv(variable, raw)
    with pytest.raises(ValueError) as caught:
        Configuration.from_runnable_config()
    assert str(caught.value) == f"{variable} must be {rule}, got {raw!r}"


def test_a_bad_user_id_from_the_env_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEMORY_AGENT_USER_ID", "zed.smith")
    with pytest.raises(ValueError, match=r"^MEMORY_AGENT_USER_ID 'zed.smith' may only contain"):
        Configuration.from_runnable_config()


def test_a_bad_value_given_for_the_run_names_the_setting_not_the_env_var(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MEMORY_AGENT_RECALL_LIMIT", "5")
    with pytest.raises(ValueError) as caught:
        Configuration.from_runnable_config({"configurable": {"recall_limit": 0}})
    assert str(caught.value) == "recall_limit must be a whole number from 1 to 100, got 0"
