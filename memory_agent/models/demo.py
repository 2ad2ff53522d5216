"""The offline demo model: a deterministic, rule-based chat model that needs no key and no network.

It is a real LangChain ``BaseChatModel`` (``bind_tools``, streaming) that drives the whole memory
path, so the product can be shown and tested offline. It reads one message at a time:

- facts the user states about themselves (name, home, job and employer, family, pets, likes,
  dislikes, preferences, plans and dates; several in one message) become one ``upsert_memory``
  call each; a correction ("actually …", "… not anymore", "I moved to …", "I switched to …")
  updates the recalled memory it contradicts, by id;
- "forget …" calls ``forget_memory`` on the recalled memory that matches it;
- questions about the user are answered from the memories recalled into its system prompt (the
  recall ranks them by meaning), never from the conversation;
- what it does not understand it names; text in another language is kept only when the user says
  "remember that …", otherwise it says it only understands English.

Every reply says that it comes from the offline demo model.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.utils.function_calling import convert_to_openai_tool

from memory_agent.memories.records import MAX_CONTENT_LENGTH
from memory_agent.message_text import message_text
from memory_agent.models.demo_reading import (
    ABOUT_ME,
    FAMILY_OF_MEMORY,
    GREETING,
    QUESTION_TOPICS,
    THANKS,
    Fact,
    Reading,
    clause_facts,
    read_message,
)
from memory_agent.models.demo_wording import (
    content_words,
    first_person,
    join,
    lower_first,
    overlap,
    quoted,
    second_person,
    sentence,
    stem,
    third_person,
    words,
)

SIGNATURE = "_— offline demo model_"


TOOL_NAME = "upsert_memory"


FORGET_TOOL = "forget_memory"


ONLY_ENGLISH = (
    "I only understand English in offline mode. To keep this as you wrote it, start with "
    '"remember that …".'
)


TOO_LONG = f"That was too long to remember; keep a memory under {MAX_CONTENT_LENGTH:,} characters."


HELP = (
    'Offline, I understand facts about you ("I\'m Priya", "I live in Lisbon", "I have two cats", '
    '"remember that …"), corrections ("actually I moved to Porto"), "forget …", and questions '
    'about you ("where do I live?", "what do you know about me?"). Set OPENAI_API_KEY, or an '
    "OpenAI-compatible base URL, for a real model."
)


_RECALLED = re.compile(r"^- \[id: (?P<key>[^\]]+)\] (?P<rest>.*)$")


_RELEVANCE = re.compile(r"; relevance: (?P<score>[0-9.]+|n/a)\)$")


_SHOWN_OF = re.compile(r"the (?P<shown>\d+) most relevant of (?P<total>\d+) memories")


_CONTEXT_CHARS = 300


@dataclass(frozen=True)
class RecalledMemory:
    """A memory as the model sees it: a line of its system prompt, with its relevance."""

    key: str
    content: str
    score: float = 0.0


class OfflineDemoModel(BaseChatModel):
    """Rule-based stand-in for an LLM; deterministic, and honest about what it is."""

    model_name: str = "offline-demo"

    @property
    def _llm_type(self) -> str:
        return "offline-demo"

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> Any:
        """Bind tools as ChatOpenAI does, so the demo model sees the same schemas."""
        return self.bind(tools=[convert_to_openai_tool(t) for t in tools], **kwargs)

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return ChatResult(generations=[ChatGeneration(message=self._reply(messages, kwargs))])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        reply = self._reply(messages, kwargs)
        message_id = reply.id
        if reply.tool_calls:
            chunk = AIMessageChunk(
                content=reply.content,
                id=message_id,
                tool_call_chunks=[
                    {"name": c["name"], "args": json.dumps(c["args"]), "id": c["id"], "index": i}
                    for i, c in enumerate(reply.tool_calls)
                ],
            )
            if run_manager:
                run_manager.on_llm_new_token("", chunk=ChatGenerationChunk(message=chunk))
            yield ChatGenerationChunk(message=chunk)
            return
        for token in re.findall(r"\S+\s*|\s+", str(reply.content)):
            chunk = ChatGenerationChunk(message=AIMessageChunk(content=token, id=message_id))
            if run_manager:
                run_manager.on_llm_new_token(token, chunk=chunk)
            yield chunk

    def _reply(self, messages: list[BaseMessage], kwargs: dict[str, Any]) -> AIMessage:
        tools = {t["function"]["name"] for t in kwargs.get("tools") or []}
        memories = recalled_memories(messages)
        last = messages[-1] if messages else HumanMessage("")
        message_id = f"run-{uuid.uuid4()}"
        if isinstance(last, ToolMessage):
            return AIMessage(_confirm(messages), id=message_id)
        text = message_text(last)
        reading = read_message(text)
        if reading.forget is not None and FORGET_TOOL in tools:
            target = _memory_to_forget(reading.forget, memories)
            if target is not None:
                call = _call(FORGET_TOOL, {"memory_id": target.key})
                return AIMessage("", id=message_id, tool_calls=[call])
        if reading.facts and TOOL_NAME in tools:
            calls = [_upsert_call(fact, memories, text) for fact in reading.facts]
            return AIMessage("", id=message_id, tool_calls=_distinct_updates(calls))
        return AIMessage(_answer(text, reading, memories, messages), id=message_id)


def _upsert_call(fact: Fact, memories: list[RecalledMemory], text: str) -> dict[str, Any]:
    said = " ".join(text.split())
    if len(said) > _CONTEXT_CHARS:
        said = said[: _CONTEXT_CHARS - 1] + "…"
    args: dict[str, Any] = {"content": fact.content, "context": f'The user said: "{said}"'}
    existing = _memory_to_update(fact, memories)
    if existing and fact.slot == "switched":
        args["content"] = _replace_object(existing.content, fact.content.split(" to ", 1)[1])
    if existing:
        args["memory_id"] = existing.key
    return _call(TOOL_NAME, args)


def _distinct_updates(calls: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Two facts of one message never update the same memory: the second becomes a new one."""
    seen: set[str] = set()
    for call in calls:
        key = call["args"].get("memory_id")
        if key in seen:
            del call["args"]["memory_id"]
        elif key:
            seen.add(key)
    return calls


def _call(name: str, args: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "args": args, "id": f"call_{uuid.uuid4().hex[:24]}", "type": "tool_call"}


def _memory_to_update(fact: Fact, memories: list[RecalledMemory]) -> RecalledMemory | None:
    """The recalled memory this fact replaces, if any.

    The same text, the same slot, or, for a correction, the memory of the same kind the recall
    found closest by meaning.
    """
    for memory in memories:
        if memory.content.lower() == fact.content.lower():
            return memory
    if fact.slot == "switched":
        switched_to = fact.content.split(" to ", 1)[1]
        kinds = ("work",) if switched_to[:1].isupper() else ("likes",)
        return _best(m for m in memories if _families(m.content) & set(kinds))
    if fact.content.startswith(("User no longer", "User is no longer")):
        return _best(m for m in memories if overlap(m.content, fact.content))
    if fact.slot is not None and (fact.slot not in ("prefer", "diet") or fact.correction):
        same = [m for m in memories if fact.slot in _slots(m.content)]
        if same:
            return _best(same)
    if fact.correction and fact.family in ("likes", "live", "work", "job"):
        kind = [m for m in memories if fact.family in _families(m.content)]
        return _best(m for m in kind if m.score >= 0.2)
    return None


def _memory_to_forget(target: str, memories: list[RecalledMemory]) -> RecalledMemory | None:
    """The recalled memory "forget …" means: sharing its words, else the closest by meaning."""
    if not target or not memories:
        return None
    described = third_person(target)
    sharing = [m for m in memories if overlap(m.content, described)]
    if sharing:
        return max(sharing, key=lambda m: (len(overlap(m.content, described)), m.score))
    best = max(memories, key=lambda m: m.score)
    return best if best.score >= 0.45 else None


def _best(memories: Any) -> RecalledMemory | None:
    return max(memories, key=lambda m: m.score, default=None)


def _slots(content: str) -> set[str]:
    return {f.slot for f in clause_facts(first_person(content), False) if f.slot}


def _families(content: str) -> set[str]:
    return {name for name, pattern in FAMILY_OF_MEMORY.items() if pattern.search(content)}


def _replace_object(content: str, new: str) -> str:
    """Swap a memory's object, keeping its verb: "User works at Globex" -> "… at Initech"."""
    match = re.match(
        r"^(User(?:'s [\w ]+? is| \w+s(?: (?:at|for|in|as|to|on|with|called))?| is into)) ", content
    )
    return f"{match.group(1)} {new}" if match else f"User switched to {new}"


def _answer(
    text: str, reading: Reading, memories: list[RecalledMemory], messages: list[BaseMessage]
) -> str:
    """Answer from recalled memories only; otherwise say what was not understood."""
    if reading.foreign:
        return _sign(ONLY_ENGLISH)
    if reading.forget is not None:
        what = f' "{reading.forget}"' if reading.forget else " that"
        return _sign(f"I couldn't find a memory matching{what} to forget, so nothing was deleted.")
    if reading.question:
        return _sign(answer_question(text, memories, _shown_of(messages)))
    if GREETING.match(text):
        name = _name(memories)
        greeting = f"Hello {name}!" if name else "Hello!"
        return _sign(f"{greeting} Tell me about yourself, or ask me what I remember about you.")
    if THANKS.match(text) and not reading.not_understood[1:]:
        return _sign("You're welcome!")
    if reading.facts:  # facts, but no tool to save them with
        return _sign("I can't save memories in this reply.")
    parts = reading.not_understood or [text.strip()]
    return _sign(f"I didn't understand {quoted(parts)}. {HELP}")


def answer_question(
    text: str, memories: list[RecalledMemory], shown_of: tuple[int, int] | None = None
) -> str:
    """The answer to a question about the user, from the recalled memories, by meaning."""
    if ABOUT_ME.search(text) and not _topics(text) or re.search(r"\bwho am i\b", text, re.I):
        return _everything(memories, shown_of)
    topics = _topics(text)
    if not re.search(r"\b(i|my|me|mine|myself)\b", text, re.I):
        return (
            f'I didn\'t understand "{text.strip()}": offline, I only answer questions about what '
            "you told me."
        )
    candidates = [m for m in memories if _families(m.content) & topics] if topics else []
    words = content_words(text) - _TOPIC_WORDS
    specific = [m for m in candidates if content_words(m.content) & words]
    if words and candidates and not specific and max(m.score for m in candidates) < 0.2:
        candidates = []
    if not candidates:
        best = _best(m for m in memories if overlap(m.content, text) or m.score >= 0.35)
        candidates = [best] if best else []
    if not candidates:
        return "I don't know that yet. Tell me and I'll remember it."
    chosen = sorted(specific or candidates, key=lambda m: -m.score)[: 1 if "name" in topics else 3]
    return sentence([second_person(m.content) for m in chosen]) + "."


_TOPIC_WORDS = {
    stem(w)
    for w in words(
        "name live where job work pet pets animal family plan plans like love enjoy "
        "favorite favourite prefer hobby hobbies drink food old age employer company kids children"
    )
}


def _topics(text: str) -> set[str]:
    return {
        family
        for pattern, families in QUESTION_TOPICS
        if pattern.search(text)
        for family in families
    }


def _everything(memories: list[RecalledMemory], shown_of: tuple[int, int] | None) -> str:
    if not memories:
        return "I don't know anything about you yet. Tell me about yourself and I'll remember it."
    facts = "\n".join(f"- {second_person(m.content)}" for m in memories)
    shown, total = shown_of or (len(memories), len(memories))
    if total > shown:
        return (
            f"Here are the {shown} most relevant of the {total} things I remember about you "
            f"(the memory inspector lists them all):\n{facts}"
        )
    count = f"{total} memor{'y' if total == 1 else 'ies'}"
    return f"Here is what I remember about you ({count}):\n{facts}"


def _shown_of(messages: list[BaseMessage]) -> tuple[int, int] | None:
    """(shown, total) when the prompt says recall left some memories out."""
    for message in messages:
        if isinstance(message, SystemMessage):
            match = _SHOWN_OF.search(message_text(message))
            if match:
                return int(match.group("shown")), int(match.group("total"))
    return None


def _name(memories: list[RecalledMemory]) -> str | None:
    return next(
        (
            m.content.split(" is ", 1)[1]
            for m in memories
            if m.content.startswith("User's name is ")
        ),
        None,
    )


def _confirm(messages: list[BaseMessage]) -> str:
    """The reply after the memory tools ran: what was saved, updated, forgotten, or refused."""
    results: list[ToolMessage] = []
    for message in reversed(messages):
        if not isinstance(message, ToolMessage):
            break
        results.insert(0, message)
    saved, updated, forgotten, failed = [], [], [], []
    for result in results:
        artifact = result.artifact if isinstance(result.artifact, dict) else {}
        if result.status == "error" or not artifact:
            failed.append(plain_tool_error(message_text(result)))
        elif artifact.get("action") == "updated":
            old = artifact.get("before")
            now = second_person(artifact["content"])
            was = (
                f" (before: {lower_first(second_person(old))})"
                if old and old != artifact["content"]
                else ""
            )
            updated.append(now + was)
        elif artifact.get("action") == "deleted":
            forgotten.append(second_person(artifact["content"]))
        else:
            saved.append(second_person(artifact["content"]))
    lines = []
    name = next(
        (s.split(" is ", 1)[1] for s in saved + updated if s.startswith("Your name is ")), None
    )
    if name and not updated:
        lines.append(f"Nice to meet you, {name.split(' (before', 1)[0]}!")
    if saved:
        lines.append("I'll remember that " + join(saved) + ".")
    if updated:
        lines.append("Thanks for the correction: now I remember that " + join(updated) + ".")
    if forgotten:
        lines.append("I've forgotten that " + join(forgotten) + ".")
    lines.extend(dict.fromkeys(failed))
    human = next((m for m in reversed(messages) if isinstance(m, HumanMessage)), None)
    unread = read_message(message_text(human)).not_understood if human else []
    if unread:
        lines.append(f"I didn't understand {quoted(unread)}.")
    return _sign(" ".join(lines))


def plain_tool_error(error: str) -> str:
    """The sentence a person reads for a refused memory write; the model saw the precise one."""
    if re.search(r"\bis [\d,]+ characters; the limit is\b|arguments were [\d,]+ characters", error):
        return TOO_LONG
    if "No memory with key" in error:
        return "That memory was already gone, so there was nothing to forget."
    reason = error.removeprefix("Error: ")
    reason = re.sub(r"^Change \d+ \(key [^)]*\): ", "", reason)
    return f"I couldn't save that: {reason.rstrip('.')}."


def recalled_memories(messages: list[BaseMessage]) -> list[RecalledMemory]:
    """Parse the memory lines of the system prompt: the only knowledge this model has."""
    found = []
    for message in messages:
        if not isinstance(message, SystemMessage):
            continue
        for line in message_text(message).splitlines():
            match = _RECALLED.match(line.strip())
            if match:
                rest = match.group("rest")
                score = _RELEVANCE.search(rest)
                value = score.group("score") if score else "n/a"
                content = rest.rsplit(" (context: ", 1)[0]
                found.append(
                    RecalledMemory(
                        match.group("key"), content, 0.0 if value == "n/a" else float(value)
                    )
                )
    return found


_MARKUP = re.compile(r"[\\`*_\[\]<>$~|]")
"""What would make quoted text format, link, load or compute in a Markdown reply."""
_AUTOLINK = re.compile(r"(?<=[A-Za-z])(?=:/)|(?i:(?<=www))(?=\.)|(?<=\S)(?=@)")
"""Where GFM makes bare text a link (http://…, www.…, a@b.c): no backslash stops these."""


def _sign(text: str) -> str:
    """The reply, signed; what it quotes (messages, memories) escaped so it shows as typed.

    The demo model is the app's own code: the text it repeats is the user's, so it must stay
    inert in the chat (a real model's reply keeps its Markdown). Only the list markers and the
    signature are its own formatting.
    """
    inert = _MARKUP.sub(lambda mark: "\\" + mark.group(), text)
    inert = _AUTOLINK.sub("\u2060", inert)  # an invisible word joiner, as the pages do
    return f"{inert}\n\n{SIGNATURE}"
