"""The chat model for a run: ChatOpenAI (OpenAI or any compatible endpoint) or the offline demo."""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

from memory_agent.configuration import OFFLINE_MODEL, Configuration

if TYPE_CHECKING:  # a chat model's modules load with the first turn, not with the page
    from langchain_core.language_models import BaseChatModel


def make_chat_model(settings: Configuration) -> BaseChatModel:
    """The offline demo model for ``offline-demo``; otherwise ChatOpenAI at ``base_url``."""
    return _cached_model(
        settings.model,
        float(settings.temperature),
        settings.base_url,
        settings.api_key,
        float(settings.request_timeout),
    )


def describe_model(settings: Configuration) -> str:
    """One line for people: which model answers, and where."""
    if settings.is_offline:
        return "Offline demo model (rule-based, no API key needed)"
    where = settings.base_url or "OpenAI"
    return f"{settings.model} via {where}"


@lru_cache(maxsize=16)
def _cached_model(
    model: str, temperature: float, base_url: str | None, api_key: str | None, timeout: float
) -> BaseChatModel:
    """One client per distinct setting, so each turn reuses its HTTP connection pool."""
    if model == OFFLINE_MODEL:
        from memory_agent.models.demo import OfflineDemoModel

        return OfflineDemoModel()
    # Imported here: the openai client takes a second or more to import, and the offline demo
    # model (the default) never needs it.
    from memory_agent.deadlines import watched_http_client
    from memory_agent.models.openai_chat import CompleteReplyChatOpenAI

    return CompleteReplyChatOpenAI(
        model=model,
        temperature=temperature,
        base_url=base_url,
        # Local OpenAI-compatible servers (Ollama, vLLM, llama.cpp) accept any key.
        api_key=api_key or "not-needed",
        timeout=timeout,
        http_client=watched_http_client(timeout),  # so call_model can bound each call
        max_retries=1,
        streaming=True,
        # Every server named in the README sends usage when asked (stream_options.include_usage);
        # ChatOpenAI asks by default only for OpenAI's own URL.
        stream_usage=True,
    )
