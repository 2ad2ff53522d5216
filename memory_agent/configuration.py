"""Settings for one run of the agent: the graph's ``context_schema``, with env-var fall-backs.

``Configuration`` is what ``StateGraph(State, context_schema=Configuration)`` declares, so
LangGraph Studio builds its settings form from it and callers pass ``context={...}``. Each setting
is looked up, in order, in the run's context, in ``config["configurable"]`` (the LangGraph Server
copies a client's context there, and older callers put settings there), in the environment
variable ``MEMORY_AGENT_<NAME>``, and in the field's default. An empty string means "not given":
the LangGraph Server puts ``user_id = ""`` into every anonymous run. ``OPENAI_API_KEY`` and
``OPENAI_BASE_URL`` are honoured as the standard OpenAI variables.

Only the per-run fields (user id, model, temperature, system prompt, recall limit) are in the
JSON schema a client sees; where the model server lives, its key and the embedding are the
operator's, read from the environment, and the LangGraph Server drops them from a client's context.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any, NoReturn

from memory_agent.prompts import SYSTEM_PROMPT

if TYPE_CHECKING:
    from langchain_core.runnables import RunnableConfig

OFFLINE_MODEL = "offline-demo"
"""Model name of the built-in offline demo model (no key, no network)."""

WORDLLAMA_EMBEDDING = "wordllama"
"""Embedding name of the built-in semantic embedding (WordLlama, inside its wheel; no network)."""

HASH_EMBEDDING = "hash"
"""Embedding name of the built-in lexical hashing embedding (no key, no network)."""

OFFLINE_EMBEDDINGS = (WORDLLAMA_EMBEDDING, HASH_EMBEDDING)
ENCODING_FORMATS = ("float", "base64")

DEFAULT_USER_ID = "default-user"
"""Whose memories a run uses when no user is given (e.g. an anonymous LangGraph Studio run)."""

DEFAULT_ONLINE_MODEL = "gpt-4o-mini"
MAX_USER_ID_LENGTH = 64
MAX_SYSTEM_PROMPT_LENGTH = 20_000
MAX_SECONDS = 3600
_USER_ID_PATTERN = re.compile(r"^[A-Za-z0-9_@+\-]+$")
_WHOLE_NUMBERS = (
    ("embedding_dims", 8, 8192),
    ("recall_limit", 1, 100),
    ("max_model_calls", 2, 50),
    ("max_tool_calls", 1, 100),
)
"""Whole-number settings and their bounds, inclusive."""


def _env(name: str) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else None


def _default_model() -> str:
    """The offline demo model unless a key or an OpenAI-compatible endpoint is configured."""
    if _env("OPENAI_API_KEY") or _env("OPENAI_BASE_URL") or _env("MEMORY_AGENT_BASE_URL"):
        return DEFAULT_ONLINE_MODEL
    return OFFLINE_MODEL


def _setting(name: str, default: Any, *, operator: bool = False, repr: bool = True) -> Any:
    """A field whose value, when not given, is its environment variable, else ``default``."""

    def from_env() -> Any:
        raw = next(filter(None, map(_env, _variables(name))), None)
        fallback = default() if callable(default) else default
        return fallback if raw is None else _parse(name, raw, fallback)

    metadata = {"operator": operator, "env_default": default}
    return field(default_factory=from_env, repr=repr, metadata=metadata)


def _variables(name: str) -> tuple[str, ...]:
    """The environment variables a setting is read from, first found wins."""
    if name in ("api_key", "base_url"):
        return (f"MEMORY_AGENT_{name.upper()}", f"OPENAI_{name.upper()}")
    return (f"MEMORY_AGENT_{name.upper()}",)


@dataclass(kw_only=True)
class Configuration:
    """Everything that can be set for a run; the single source of truth for settings."""

    user_id: str = _setting("user_id", DEFAULT_USER_ID)
    """Whose memories are recalled and written: the store namespace is ("memories", user_id)."""

    model: str = _setting("model", _default_model)
    """Chat model name; ``offline-demo`` is the built-in model that needs no key."""

    temperature: float = _setting("temperature", 0.0)
    """Sampling temperature for the chat model, 0 to 2."""

    system_prompt: str = _setting("system_prompt", SYSTEM_PROMPT)
    """Prompt template with ``{user_info}`` (recalled memories) and ``{time}`` slots."""

    recall_limit: int = _setting("recall_limit", 10)
    """How many memories ``call_model`` recalls into the system prompt, 1 to 100."""

    base_url: str | None = _setting("base_url", None, operator=True)
    """OpenAI-compatible endpoint (Ollama, vLLM, llama.cpp server, LM Studio); falls back to
    ``OPENAI_BASE_URL``."""

    api_key: str | None = _setting("api_key", None, operator=True, repr=False)
    """API key; falls back to ``OPENAI_API_KEY``. Never printed, never in the context schema."""

    embedding: str = _setting("embedding", WORDLLAMA_EMBEDDING, operator=True)
    """``wordllama`` (offline, semantic; the default), ``hash`` (offline, lexical), or
    ``openai`` / ``openai:<model>`` for an OpenAI-compatible embeddings server."""

    embedding_model: str | None = _setting("embedding_model", None, operator=True)
    """The embeddings server's model when ``embedding`` is ``openai`` (``openai:<model>`` names
    it inline)."""

    embedding_dims: int = _setting("embedding_dims", 256, operator=True)
    """Vector size; checked once at start-up against what the embedding returns."""

    embedding_base_url: str | None = _setting("embedding_base_url", None, operator=True)
    """The embeddings server, when it is not the chat server (llama.cpp ``--embeddings`` and vLLM
    serve one job per process); falls back to ``base_url``."""

    embedding_api_key: str | None = _setting("embedding_api_key", None, operator=True, repr=False)
    """The embeddings server's key; falls back to ``api_key``."""

    embedding_encoding_format: str | None = _setting(
        "embedding_encoding_format", None, operator=True
    )
    """``float`` or ``base64`` (the openai client's default); older vLLM refuses base64."""

    request_timeout: float = _setting("request_timeout", 60.0, operator=True)
    """Seconds a model request may wait: for its reply to start, and between reply chunks."""

    model_call_deadline: float = _setting("model_call_deadline", 300.0, operator=True)
    """Seconds one model call may take in all, however steadily it streams."""

    max_model_calls: int = _setting("max_model_calls", 6, operator=True)
    """Model calls allowed in one turn; the last one is made without tools, so it answers."""

    max_tool_calls: int = _setting("max_tool_calls", 10, operator=True)
    """Memory changes allowed in one turn; calls past it are refused with a tool error."""

    def __post_init__(self) -> None:
        for f in fields(self):
            if getattr(self, f.name) in ("", None):
                setattr(self, f.name, f.default_factory())
        self.validate()

    def validate(self) -> None:
        """Raise ``ValueError`` naming the first setting that is not usable.

        A value that came from the environment is named by its variable, the one the user set.
        """
        try:
            validate_user_id(self.user_id)
        except ValueError as error:
            raise ValueError(str(error).replace("user_id", self._given("user_id")[0], 1)) from None
        if not _is_number(self.temperature) or not 0 <= self.temperature <= 2:
            self._refuse("temperature", "a number from 0 to 2")
        if not isinstance(self.model, str) or not self.model.strip():
            self._refuse("model", "a model name")
        if not isinstance(self.system_prompt, str) or not self.system_prompt.strip():
            self._refuse("system_prompt", "a prompt, not empty")
        if len(self.system_prompt) > MAX_SYSTEM_PROMPT_LENGTH:
            raise ValueError(
                f"{self._given('system_prompt')[0]} is {len(self.system_prompt)} characters; "
                f"the limit is {MAX_SYSTEM_PROMPT_LENGTH}"
            )
        for name in ("base_url", "embedding_base_url"):
            url = getattr(self, name)
            if url is not None and not re.match(r"^https?://", str(url)):
                self._refuse(name, "a URL starting with http:// or https://")
        self._validate_embedding()
        for name, low, high in _WHOLE_NUMBERS:
            value = getattr(self, name)
            if not _is_int(value) or not low <= value <= high:
                self._refuse(name, f"a whole number from {low} to {high}")
        for name in ("request_timeout", "model_call_deadline"):
            seconds = getattr(self, name)
            if not _is_number(seconds) or not 0 < seconds <= MAX_SECONDS:
                self._refuse(name, f"a number of seconds above 0, at most {MAX_SECONDS}")

    def _validate_embedding(self) -> None:
        if self.embedding not in OFFLINE_EMBEDDINGS and not re.fullmatch(
            r"openai(:.+)?", str(self.embedding)
        ):
            self._refuse("embedding", "'wordllama', 'hash', 'openai' or 'openai:<model>'")
        if self.embedding == "openai" and not self.embedding_model:
            raise ValueError(
                f"{self._given('embedding')[0]} 'openai' needs MEMORY_AGENT_EMBEDDING_MODEL "
                "(or use 'openai:<model>')"
            )
        if self.embedding_encoding_format not in (None, *ENCODING_FORMATS):
            self._refuse("embedding_encoding_format", "'float' or 'base64'")

    def _given(self, name: str) -> tuple[str, Any]:
        """The setting's name and value as the user gave them: its env var and text, if from there.

        A value equal to what the environment variable holds came from it (a run that passes the
        same value is told of the variable, which is just as true of the setting).
        """
        value = getattr(self, name)
        for variable in _variables(name):
            raw = _env(variable)
            if raw is None:
                continue
            default = next(f for f in fields(self) if f.name == name).metadata["env_default"]
            try:
                from_env = _parse(name, raw, default() if callable(default) else default)
            except ValueError:
                break
            return (variable, raw) if from_env == value else (name, value)
        return name, value

    def _refuse(self, name: str, rule: str) -> NoReturn:
        label, value = self._given(name)
        raise ValueError(f"{label} must be {rule}, got {value!r}")

    @property
    def embedding_server_model(self) -> str | None:
        """The model an OpenAI-compatible embeddings server is asked for; ``None`` offline."""
        if self.embedding in OFFLINE_EMBEDDINGS:
            return None
        return self.embedding.removeprefix("openai").removeprefix(":") or self.embedding_model

    @property
    def is_offline(self) -> bool:
        """True when the built-in offline demo model answers."""
        return self.model == OFFLINE_MODEL

    @classmethod
    def from_runnable_config(cls, config: RunnableConfig | None = None) -> Configuration:
        """Build from ``config["configurable"]``, then ``MEMORY_AGENT_*`` vars, else defaults."""
        configurable: Mapping[str, Any] = (config or {}).get("configurable") or {}
        return cls(**{f.name: configurable.get(f.name) for f in fields(cls)})

    @classmethod
    def for_run(cls, context: Any, config: RunnableConfig | None = None) -> Configuration:
        """The settings a node runs with: the run's context if it has one, else its config.

        LangGraph coerces a context dict into ``Configuration``; a caller that passed none (an
        old client, a server run with settings in ``configurable``) falls back to the config.
        Either way a client sets only per-run settings: where the model server lives and its
        key come from the operator's environment, so no run can send the key elsewhere.
        """
        if isinstance(context, cls):
            return context
        return cls.with_run_values(config, **(context if isinstance(context, Mapping) else {}))

    @classmethod
    def with_run_values(cls, config: RunnableConfig | None = None, **values: Any) -> Configuration:
        """``values`` over the config's ``configurable`` over the environment.

        Unknown names, and operator settings given per run, are ignored.
        """
        configurable: Mapping[str, Any] = (config or {}).get("configurable") or {}
        chosen: dict[str, Any] = {}
        for f in fields(cls):
            if f.metadata.get("operator"):
                continue
            given = values.get(f.name)
            chosen[f.name] = given if given not in (None, "") else configurable.get(f.name)
        return cls(**chosen)

    def run_context(self) -> dict[str, Any]:
        """The per-run settings as a JSON-ready ``context`` for ``graph.stream`` (local, remote)."""
        return {
            f.name: getattr(self, f.name) for f in fields(self) if not f.metadata.get("operator")
        }

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema: Any, handler: Any) -> dict[str, Any]:
        """The context schema clients see (LangGraph Studio's form): per-run settings only."""
        schema = handler.resolve_ref_schema(handler(core_schema))
        properties = schema.get("properties", {})
        for f in fields(cls):
            if f.metadata.get("operator"):
                properties.pop(f.name, None)
            elif f.name in properties:
                properties[f.name]["description"] = _FIELD_HELP[f.name]
        schema.pop("required", None)
        return schema


_FIELD_HELP = {
    "user_id": f"Whose memories the run reads and writes (empty: {DEFAULT_USER_ID}).",
    "model": "Chat model name; offline-demo is the built-in model that needs no key.",
    "temperature": "Sampling temperature, 0 to 2.",
    "system_prompt": "Prompt template; {user_info} is replaced by the recalled memories.",
    "recall_limit": "How many memories are recalled into the prompt, 1 to 100.",
}


def _parse(name: str, raw: str, default: Any) -> Any:
    """Turn an env var's text into the default's type, naming the variable when it cannot."""
    variable = f"MEMORY_AGENT_{name.upper()}"
    if isinstance(default, float):
        try:
            value = float(raw)
        except ValueError:
            value = math.nan
        if not math.isfinite(value):
            raise ValueError(f"{variable} must be a finite number, got {raw!r}")
        return value
    if isinstance(default, int):
        try:
            return int(raw)
        except ValueError:
            raise ValueError(f"{variable} must be a whole number, got {raw!r}") from None
    return raw


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


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
