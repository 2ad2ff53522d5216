"""The chat model for a run: ChatOpenAI (OpenAI or any compatible endpoint) or the offline demo."""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.outputs import ChatGenerationChunk
from langchain_openai import ChatOpenAI

from memory_agent.configuration import Configuration
from memory_agent.demo_model import OfflineDemoModel
from memory_agent.errors import IncompleteReplyError


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
    if model == OfflineDemoModel().model_name:
        return OfflineDemoModel()
    return CompleteReplyChatOpenAI(
        model=model,
        temperature=temperature,
        base_url=base_url,
        # Local OpenAI-compatible servers (Ollama, vLLM, llama.cpp) accept any key.
        api_key=api_key or "not-needed",
        timeout=timeout,
        max_retries=1,
        streaming=True,
    )


class CompleteReplyChatOpenAI(ChatOpenAI):
    """ChatOpenAI that fails a stream which ends without a finish reason.

    A server that drops a close-delimited stream half-way looks like a normal end of stream to
    httpx; raising here keeps the turn pending, so the page offers Retry instead of storing a
    truncated reply as if it were complete.
    """

    def _stream(self, *args: Any, **kwargs: Any) -> Iterator[ChatGenerationChunk]:
        finished = False
        for chunk in super()._stream(*args, **kwargs):
            finished = finished or bool((chunk.generation_info or {}).get("finish_reason"))
            yield chunk
        if not finished:
            raise IncompleteReplyError("The model's stream ended before the reply was finished.")
