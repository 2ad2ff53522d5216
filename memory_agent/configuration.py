"""Settings for one run of the agent: one dataclass, read from the run's config, then env vars.

Every setting has one name. It is looked up, in order, in ``config["configurable"]``, in the
environment variable ``MEMORY_AGENT_<NAME>``, and in the field's default. ``OPENAI_API_KEY`` and
``OPENAI_BASE_URL`` are honoured as the standard OpenAI variables.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from langchain_core.runnables import RunnableConfig

from memory_agent.prompts import SYSTEM_PROMPT

OFFLINE_MODEL = "offline-demo"
"""Model name of the built-in offline demo model (no key, no network)."""

HASH_EMBEDDING = "hash"
"""Embedding name of the built-in lexical hashing embedding (no key, no network)."""

DEFAULT_ONLINE_MODEL = "gpt-4o-mini"
MAX_USER_ID_LENGTH = 64
MAX_SYSTEM_PROMPT_LENGTH = 20_000
_USER_ID_PATTERN = re.compile(r"^[A-Za-z0-9_@+\-]+$")


def _env(name: str) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else None


def _default_model() -> str:
    """The offline demo model unless a key or an OpenAI-compatible endpoint is configured."""
    if _env("OPENAI_API_KEY") or _env("OPENAI_BASE_URL") or _env("MEMORY_AGENT_BASE_URL"):
        return DEFAULT_ONLINE_MODEL
    return OFFLINE_MODEL


@dataclass(kw_only=True)
class Configuration:
    """Everything that can be set for a run; the single source of truth for settings."""

    user_id: str = "default-user"
    """Whose memories are recalled and written: the store namespace is ("memories", user_id)."""

    model: str = field(default_factory=_default_model)
    """Chat model name; ``offline-demo`` is the built-in model that needs no key."""

    temperature: float = 0.0
    """Sampling temperature for the chat model, 0 to 2."""

    system_prompt: str = SYSTEM_PROMPT
    """Prompt template with ``{user_info}`` (recalled memories) and ``{time}`` slots."""

    base_url: str | None = None
    """OpenAI-compatible endpoint (Ollama, vLLM, llama.cpp server, LM Studio); falls back to
    ``OPENAI_BASE_URL``."""

    api_key: str | None = field(default=None, repr=False)
    """API key; falls back to ``OPENAI_API_KEY``. Never printed."""

    embedding: str = HASH_EMBEDDING
    """``hash`` (offline, lexical) or ``openai:<model>`` for an OpenAI-compatible embedding."""

    embedding_dims: int = 256
    """Vector size; must match what the embedding returns."""

    recall_limit: int = 10
    """How many memories ``call_model`` recalls into the system prompt."""

    request_timeout: float = 60.0
    """Seconds before a model request is given up."""

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise ``ValueError`` naming the first setting that is not usable."""
        validate_user_id(self.user_id)
        if not isinstance(self.temperature, (int, float)) or not 0 <= self.temperature <= 2:
            raise ValueError(f"temperature must be a number from 0 to 2, got {self.temperature!r}")
        if not isinstance(self.model, str) or not self.model.strip():
            raise ValueError("model must be a non-empty model name")
        if not isinstance(self.system_prompt, str) or not self.system_prompt.strip():
            raise ValueError("system_prompt must not be empty")
        if len(self.system_prompt) > MAX_SYSTEM_PROMPT_LENGTH:
            raise ValueError(
                f"system_prompt is {len(self.system_prompt)} characters; "
                f"the limit is {MAX_SYSTEM_PROMPT_LENGTH}"
            )
        if self.base_url is not None and not re.match(r"^https?://", self.base_url):
            raise ValueError(f"base_url must start with http:// or https://, got {self.base_url!r}")
        if not (self.embedding == HASH_EMBEDDING or self.embedding.startswith("openai:")):
            raise ValueError(
                f"embedding must be 'hash' or 'openai:<model>', got {self.embedding!r}"
            )
        if not isinstance(self.embedding_dims, int) or not 8 <= self.embedding_dims <= 8192:
            raise ValueError(f"embedding_dims must be 8 to 8192, got {self.embedding_dims!r}")
        if not isinstance(self.recall_limit, int) or not 1 <= self.recall_limit <= 100:
            raise ValueError(f"recall_limit must be 1 to 100, got {self.recall_limit!r}")
        if not isinstance(self.request_timeout, (int, float)) or self.request_timeout <= 0:
            raise ValueError(f"request_timeout must be positive, got {self.request_timeout!r}")

    @property
    def is_offline(self) -> bool:
        """True when the built-in offline demo model answers."""
        return self.model == OFFLINE_MODEL

    @classmethod
    def from_runnable_config(cls, config: RunnableConfig | None = None) -> Configuration:
        """Build from ``config["configurable"]``, then ``MEMORY_AGENT_*`` vars, else defaults."""
        configurable: Mapping[str, Any] = (config or {}).get("configurable") or {}
        values: dict[str, Any] = {}
        for f in fields(cls):
            if configurable.get(f.name) is not None:
                values[f.name] = configurable[f.name]
                continue
            raw = _env(f"MEMORY_AGENT_{f.name.upper()}")
            if raw is None and f.name == "api_key":
                raw = _env("OPENAI_API_KEY")
            if raw is None and f.name == "base_url":
                raw = _env("OPENAI_BASE_URL")
            if raw is not None:
                values[f.name] = _parse(f.name, raw, f.type)
        return cls(**values)

    def as_configurable(self) -> dict[str, Any]:
        """The settings that differ from the environment's, for ``config["configurable"]``."""
        base = Configuration.from_runnable_config()
        return {
            f.name: getattr(self, f.name)
            for f in fields(self)
            if getattr(self, f.name) != getattr(base, f.name)
        }


def _parse(name: str, raw: str, annotation: Any) -> Any:
    """Turn an env var's text into the field's type, naming the variable when it cannot."""
    kind = str(annotation)
    try:
        if kind.startswith("float"):
            return float(raw)
        if kind.startswith("int"):
            return int(raw)
    except ValueError:
        raise ValueError(f"MEMORY_AGENT_{name.upper()} must be a number, got {raw!r}") from None
    return raw


def validate_user_id(user_id: Any) -> str:
    """A user id is a store namespace label: 1–64 letters, digits or ``_ - @ +``."""
    if not isinstance(user_id, str) or not user_id.strip():
        raise ValueError("user_id must not be empty")
    if len(user_id) > MAX_USER_ID_LENGTH:
        raise ValueError(f"user_id is {len(user_id)} characters; the limit is {MAX_USER_ID_LENGTH}")
    if not _USER_ID_PATTERN.fullmatch(user_id):
        raise ValueError(
            f"user_id {user_id!r} may only contain letters, digits and _ - @ + "
            "(it names the user's memory namespace)"
        )
    return user_id
