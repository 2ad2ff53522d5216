"""The offline demo model: a deterministic, rule-based chat model that needs no key and no network.

It is a real LangChain ``BaseChatModel`` (``bind_tools``, streaming) that drives the whole memory
path, so the product can be tried and tested offline:

- a fact the user states about themselves ("My name is Zed", "I love sailing", "remember that …")
  becomes an ``upsert_memory`` tool call; a fact that corrects a recalled memory updates it by id;
- a question about the user ("what do you know about me?", "what's my name?") is answered only
  from the memories recalled into its system prompt, never from the conversation.

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

SIGNATURE = "_— offline demo model_"
TOOL_NAME = "upsert_memory"

_RECALLED = re.compile(r"^- \[id: (?P<key>[^\]]+)\] (?P<rest>.*)$")
_CORRECTION = re.compile(r"\b(actually|now|instead|anymore|no longer|changed|not .* but)\b", re.I)
_LEADING_FILLER = re.compile(
    r"^(?:(?:hi|hello|hey|oh|ok|okay|well|also|btw|by the way|and|but|so|actually|"
    r"just so you know|fyi)\b[\s,!]*)+",
    re.I,
)
_TRAILING_FILLER = re.compile(r"(?:[\s,]+(?:now|instead|these days|too|as well|anymore))+$", re.I)

# (pattern, content template, slot). A slot names a fact that can hold one value at a time: a new
# value for it updates the recalled memory. "prefer" only does when the user marks a correction.
_FACT_RULES: list[tuple[re.Pattern[str], str, str | None]] = [
    (re.compile(r"\bmy name is ([a-z][\w'-]*)", re.I), "User's name is {0}", "name"),
    (
        re.compile(r"\b(?:call me|i am called|i'm called) ([a-z][\w'-]*)", re.I),
        "User's name is {0}",
        "name",
    ),
    (
        re.compile(r"\bmy favou?rite (\w+) is (.+)", re.I),
        "User's favorite {0} is {1}",
        "favorite {0}",
    ),
    (
        re.compile(r"\bi (?:currently |now )?work (?:at|for) (.+)", re.I),
        "User works at {0}",
        "work",
    ),
    (re.compile(r"\bi (?:currently |now )?work as (.+)", re.I), "User works as {0}", "job"),
    (re.compile(r"\bi (?:currently |now )?live in (.+)", re.I), "User lives in {0}", "live"),
    (re.compile(r"\bi(?: a|')m from (.+)", re.I), "User is from {0}", "from"),
    (re.compile(r"\bi (?:now |really |much )?prefer (.+)", re.I), "User prefers {0}", "prefer"),
    (re.compile(r"\bi (?:really )?(?:don't|do not) like (.+)", re.I), "User dislikes {0}", None),
    (re.compile(r"\bi (?:really )?(?:hate|dislike) (.+)", re.I), "User dislikes {0}", None),
    (
        re.compile(r"\bi (?:really |absolutely )?(love|like|enjoy|adore) (.+)", re.I),
        "User {0}s {1}",
        None,
    ),
    (re.compile(r"\bi(?: a|')m (an? .+)", re.I), "User is {0}", None),
    (re.compile(r"\bi have (an? .+)", re.I), "User has {0}", None),
    (re.compile(r"\bmy (\w+) is (.+)", re.I), "User's {0} is {1}", "{0}"),
]
_REMEMBER = re.compile(r"\bremember (?:that )?(.+)", re.I)
_FORGET_WORDS = re.compile(r"\b(forget|delete)\b", re.I)

_QUESTIONS: list[tuple[re.Pattern[str], str | None]] = [
    (re.compile(r"\b(what'?s|what is|do you know|tell me) my name\b|\bwho am i\b", re.I), "name"),
    (re.compile(r"\bwhere do i work\b|\bwho do i work for\b", re.I), "work"),
    (re.compile(r"\bwhere do i live\b", re.I), "live"),
    (
        re.compile(
            r"\bwhat do i (?:like|love|enjoy|prefer)\b|\bmy (?:hobbies|preferences)\b", re.I
        ),
        "likes",
    ),
    (
        re.compile(
            r"\bwhat (?:do|else do) you (?:know|remember)\b|\babout me\b|\babout myself\b|"
            r"\bwhat have i told you\b",
            re.I,
        ),
        None,
    ),
]
_SLOT_HINTS = {
    "name": re.compile(r"\bname is\b", re.I),
    "work": re.compile(r"\bworks? (?:at|for)\b", re.I),
    "job": re.compile(r"\bworks? as\b", re.I),
    "live": re.compile(r"\blives? in\b", re.I),
    "from": re.compile(r"\bis from\b", re.I),
    "prefer": re.compile(r"\bprefers?\b", re.I),
    "likes": re.compile(r"\b(loves?|likes?|enjoys?|adores?|prefers?|favou?rite)\b", re.I),
}


@dataclass(frozen=True)
class RecalledMemory:
    """A memory as the model sees it: a line of its system prompt."""

    key: str
    content: str


@dataclass(frozen=True)
class Fact:
    """A fact the user stated, as a memory to write, and the slot it fills (if single-valued)."""

    content: str
    slot: str | None


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
        can_save = any(t["function"]["name"] == TOOL_NAME for t in kwargs.get("tools") or [])
        memories = _recalled_memories(messages)
        last = messages[-1] if messages else HumanMessage("")
        message_id = f"run-{uuid.uuid4()}"
        if isinstance(last, ToolMessage):
            return AIMessage(_confirm_saves(messages), id=message_id)
        text = last.text
        facts = extract_facts(text)
        if facts and can_save and not _FORGET_WORDS.search(text):
            calls = [_tool_call(fact, memories, text) for fact in facts]
            return AIMessage("", id=message_id, tool_calls=calls)
        return AIMessage(_answer(text, memories), id=message_id)


def extract_facts(text: str) -> list[Fact]:
    """The facts about the user stated in ``text``, one per clause, in order."""
    if "?" in text and not _REMEMBER.search(text):
        return []
    remember = _REMEMBER.search(text)
    if remember:
        content = _third_person(_clean(remember.group(1)))
        return [Fact(content[:1].upper() + content[1:], None)] if content else []
    facts: list[Fact] = []
    for clause in re.split(r"[.!;\n]+|,?\s+\band\b\s+|,\s+but\s+|,\s+(?=i\b)", text, flags=re.I):
        clause = _LEADING_FILLER.sub("", clause.strip())
        for pattern, template, slot in _FACT_RULES:
            match = pattern.search(clause)
            if match:
                parts = [_clean(g) for g in match.groups()]
                if all(parts):
                    if slot == "name":
                        parts = [p[:1].upper() + p[1:] for p in parts]
                    facts.append(
                        Fact(template.format(*parts), slot.format(*parts).lower() if slot else None)
                    )
                break
    return facts


def _tool_call(fact: Fact, memories: list[RecalledMemory], text: str) -> dict[str, Any]:
    args: dict[str, Any] = {"content": fact.content, "context": f'The user said: "{text.strip()}"'}
    existing = _memory_to_update(fact, memories, corrected=bool(_CORRECTION.search(text)))
    if existing:
        args["memory_id"] = existing.key
    return {
        "name": TOOL_NAME,
        "args": args,
        "id": f"call_{uuid.uuid4().hex[:24]}",
        "type": "tool_call",
    }


def _memory_to_update(
    fact: Fact, memories: list[RecalledMemory], corrected: bool
) -> RecalledMemory | None:
    """The recalled memory this fact replaces: the same text, or the same single-valued slot."""
    for memory in memories:
        if memory.content.lower() == fact.content.lower():
            return memory
    if fact.slot is None or (fact.slot == "prefer" and not corrected):
        return None
    for memory in memories:
        if _slot_of(memory.content) == fact.slot:
            return memory
    return None


def _slot_of(content: str) -> str | None:
    facts = extract_facts(_first_person(content)) if content.startswith("User") else []
    return facts[0].slot if facts else None


def _recalled_memories(messages: list[BaseMessage]) -> list[RecalledMemory]:
    """Parse the memory lines of the system prompt: the only knowledge this model has."""
    found = []
    for message in messages:
        if not isinstance(message, SystemMessage):
            continue
        for line in message.text.splitlines():
            match = _RECALLED.match(line.strip())
            if match:
                content = match.group("rest").rsplit(" (context: ", 1)[0]
                found.append(RecalledMemory(match.group("key"), content))
    return found


def _confirm_saves(messages: list[BaseMessage]) -> str:
    """The reply after ``upsert_memory`` ran: say what was saved, updated, or failed."""
    results: list[ToolMessage] = []
    for message in reversed(messages):
        if not isinstance(message, ToolMessage):
            break
        results.insert(0, message)
    saved, updated, failed = [], [], []
    for result in results:
        artifact = result.artifact if isinstance(result.artifact, dict) else {}
        if result.status == "error" or not artifact:
            failed.append(result.text)
        elif artifact.get("action") == "updated":
            updated.append(_second_person(artifact["content"]))
        else:
            saved.append(_second_person(artifact["content"]))
    lines = []
    name = next(
        (s.split(" is ", 1)[1] for s in saved + updated if s.startswith("Your name is ")), None
    )
    if name:
        lines.append(f"Nice to meet you, {name}!")
    if saved:
        lines.append("I'll remember that " + _join(saved) + ".")
    if updated:
        lines.append("Thanks for the update: now I remember that " + _join(updated) + ".")
    if failed:
        lines.append("I couldn't save everything: " + " ".join(failed))
    return _sign(" ".join(lines))


def _answer(text: str, memories: list[RecalledMemory]) -> str:
    """Answer from recalled memories only; otherwise explain what this model can do."""
    for pattern, slot in _QUESTIONS:
        if not pattern.search(text):
            continue
        if slot is None:
            relevant = memories
        else:
            hint = _SLOT_HINTS[slot]
            relevant = [m for m in memories if hint.search(m.content)]
        if not relevant:
            what = "that" if slot else "anything about you"
            return _sign(f"I don't know {what} yet. Tell me about yourself and I'll remember it.")
        if slot == "name" and len(relevant) == 1:
            return _sign(_second_person(relevant[0].content) + ".")
        facts = "\n".join(f"- {_second_person(m.content)}" for m in relevant)
        return _sign(f"Here is what I remember about you:\n{facts}")
    if re.match(r"^\s*(hi|hello|hey|good (morning|afternoon|evening))\b", text, re.I):
        name = next(
            (
                m.content.split(" is ", 1)[1]
                for m in memories
                if m.content.startswith("User's name is ")
            ),
            None,
        )
        greeting = f"Hello {name}!" if name else "Hello!"
        return _sign(f"{greeting} Tell me about yourself, or ask me what I remember about you.")
    return _sign(
        'I\'m the offline demo model, so I only understand facts about you ("My name is Zed", '
        '"I love sailing", "remember that …") and questions about them ("What do you know '
        'about me?"). Set OPENAI_API_KEY, or an OpenAI-compatible base URL, for a real model.'
    )


def _clean(text: str) -> str:
    text = text.strip().rstrip(".!?,;:")
    return _TRAILING_FILLER.sub("", text).strip()


def _third_person(text: str) -> str:
    """'my sister is Ann' -> "User's sister is Ann": memories speak of the user."""
    for pattern, replacement in [
        (r"\bmy\b", "User's"),
        (r"\bi am\b|\bi'm\b", "User is"),
        (r"\bi\b", "User"),
        (r"\bme\b", "User"),
        (r"\bmine\b", "User's"),
    ]:
        text = re.sub(pattern, replacement, text, flags=re.I)
    return text


def _first_person(content: str) -> str:
    """Turn "User's name is Zed" into "my name is Zed", to find which slot a memory fills."""
    text = re.sub(r"^User's\b", "my", content)
    text = re.sub(r"^User is\b", "i am", text)
    text = re.sub(r"^User (\w+?)s\b", r"i \1", text)
    return text


def _second_person(content: str) -> str:
    """Turn "User loves sailing" into "You love sailing" for replies; other text stays."""
    if content.startswith("User's "):
        return "Your " + content[len("User's ") :]
    irregular = {"is": "are", "has": "have", "was": "were"}
    match = re.match(r"^User (\w+)\b(.*)$", content, re.S)
    if not match:
        return content
    verb, rest = match.groups()
    verb = irregular.get(
        verb, verb[:-1] if verb.endswith("s") and not verb.endswith("ss") else verb
    )
    return f"You {verb}{rest}"


def _join(items: list[str]) -> str:
    lowered = [item[:1].lower() + item[1:] for item in items]
    return lowered[0] if len(lowered) == 1 else ", ".join(lowered[:-1]) + " and " + lowered[-1]


def _sign(text: str) -> str:
    return f"{text}\n\n{SIGNATURE}"
