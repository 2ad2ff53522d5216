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
from dataclasses import dataclass, field
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

# ---- what words mean --------------------------------------------------------------------------


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_ENGLISH = _words(  # words other languages seldom use ("me", "no", "a", "in" are left out)
    "i i'm im i've i'd i'll my mine am are was were be the an and or but of at for with from "
    "about what where who when how why does did have has not yes please you your it this that "
    "like love live work hello hi hey thanks thank okay ok remember forget tell know name call "
    "called named"
)
_PROFESSIONS = _words(
    "nurse doctor teacher engineer developer programmer designer lawyer accountant student chef  "
    "cook writer artist musician pilot driver manager scientist researcher architect dentist  "
    "pharmacist farmer firefighter officer journalist photographer consultant analyst carpenter  "
    "electrician plumber mechanic librarian professor translator cashier baker barista waiter  "
    "waitress vet veterinarian therapist psychologist surgeon paramedic"
)
_ANIMALS = (
    r"dogs?|cats?|kittens?|puppy|puppies|hamsters?|rabbits?|bunny|bunnies|parrots?|birds?|"
    r"fish|goldfish|turtles?|tortoises?|snakes?|lizards?|horses?|guinea pigs?|ferrets?|pets?"
)
_RELATIVES = (
    r"wife|husband|partner|boyfriend|girlfriend|fianc[ée]e?|spouse|sister|brother|sisters|"
    r"brothers|siblings?|son|sons|daughter|daughters|kids?|children|child|baby|mother|father|"
    r"mom|mum|dad|parents|grandmother|grandfather|grandma|grandpa|aunt|uncle|cousin|niece|nephew"
)
_NUMBER = r"(?:an?|one|two|three|four|five|six|seven|eight|nine|ten|\d+|some|several|many)"
_NOT_FACTS = _words(
    "fine good ok okay great tired happy sad here back sorry sure ready done busy bored hungry  "
    "well alright"
)
_STOP = _words(
    "i me my mine you your user user's is am are was the a an and or to of in on at for with do  "
    "does did have has what what's whats where who how which when tell know about any anything  "
    "please now actually really also that it its this"
)

# ---- clause rules: (pattern, content template, slot, family) ----------------------------------
# A slot names a fact that holds one value at a time ("where the user lives"): a new value for it
# updates the recalled memory. The family groups facts a question or a correction may be about.

_NAME = r"([A-Z][\w'-]*|[^\W\d_][\w'-]*)"
_RULES: list[tuple[re.Pattern[str], str, str | None, str]] = [
    (re.compile(rf"^my name(?:'s| is) {_NAME}$", re.I), "User's name is {0}", "name", "name"),
    (
        re.compile(rf"^(?:call me|i am called|i'm called|people call me) {_NAME}$", re.I),
        "User's name is {0}",
        "name",
        "name",
    ),
    (
        re.compile(r"^i (?:currently |now )?work (?:at|for) (.+?) as (an? .+)$", re.I),
        "User works at {0}\nUser works as {1}",
        "work\njob",
        "work\njob",
    ),
    (
        re.compile(r"^i(?:'m| am) (an? .+?) (?:at|for) (.+)$", re.I),
        "User works as {0}\nUser works at {1}",
        "job\nwork",
        "job\nwork",
    ),
    (
        re.compile(r"^i (?:currently |now )?(?:work|am working|'m working) (?:at|for) (.+)$", re.I),
        "User works at {0}",
        "work",
        "work",
    ),
    (
        re.compile(r"^i (?:switched|changed) jobs? (?:to|and now work (?:at|for)) (.+)$", re.I),
        "User works at {0}",
        "work",
        "work",
    ),
    (
        re.compile(r"^i (?:currently |now )?work as (.+)$", re.I),
        "User works as {0}",
        "job",
        "job",
    ),
    (
        re.compile(
            r"^i (?:currently |now )?(?:live|am living|'m living|am based|'m based|reside) "
            r"in (.+)$",
            re.I,
        ),
        "User lives in {0}",
        "live",
        "live",
    ),
    (
        re.compile(
            r"^i (?:just |recently )?(?:moved|relocated) (?:to|back to) (.+?)"
            r"(?: (?:last|this) (?:year|month|week)| recently| a while ago)?$",
            re.I,
        ),
        "User lives in {0}",
        "live",
        "live",
    ),
    (
        re.compile(r"^i(?:'m| am) (?:originally )?from (.+)$|^i come from (.+)$", re.I),
        "User is from {0}",
        "from",
        "live",
    ),
    (
        re.compile(r"^i(?:'m| am) (\d{1,3})(?: years old| years| yo)?$", re.I),
        "User is {0} years old",
        "age",
        "age",
    ),
    (
        re.compile(r"^my birthday is (?:on )?(.+)$|^i was born (?:on|in) (.+)$", re.I),
        "User's birthday is {0}",
        "birthday",
        "plans",
    ),
    (
        re.compile(rf"^i have ({_NUMBER} (?:\w+ )?(?:{_ANIMALS})(?: (?:called|named) .+)?)$", re.I),
        "User has {0}",
        None,
        "pets",
    ),
    (
        re.compile(
            rf"^my ((?:\w+ )?(?:{_ANIMALS}))(?:'s name is| is called| is named| is) (.+)$", re.I
        ),
        "User's {0} is called {1}",
        "pet {0}",
        "pets",
    ),
    (
        re.compile(
            rf"^i have ({_NUMBER} (?:\w+ )?(?:{_RELATIVES})(?: (?:called|named) .+)?)$", re.I
        ),
        "User has {0}",
        None,
        "family",
    ),
    (
        re.compile(rf"^my ({_RELATIVES})(?:'s name is| is called| is named) (.+)$", re.I),
        "User's {0} is called {1}",
        "relative {0}",
        "family",
    ),
    (
        re.compile(r"^i(?:'m| am) married(?: to (.+))?$", re.I),
        "User is married to {0}",
        "married",
        "family",
    ),
    (
        re.compile(r"^my favou?rite (\w+(?: \w+)?) is (.+)$", re.I),
        "User's favorite {0} is {1}",
        "favorite {0}",
        "likes",
    ),
    (
        re.compile(r"^(.+?) is my favou?rite (\w+(?: \w+)?)$", re.I),
        "User's favorite {1} is {0}",
        "favorite {1}",
        "likes",
    ),
    (
        re.compile(r"^i (?:now |really |much |still )?(?:prefer|'d rather have) (.+)$", re.I),
        "User prefers {0}",
        "prefer",
        "likes",
    ),
    (
        re.compile(r"^i (?:really )?(?:don't|do not|dont) (?:like|enjoy|love) (.+)$", re.I),
        "User dislikes {0}",
        None,
        "dislikes",
    ),
    (
        re.compile(r"^i (?:really )?(?:hate|dislike|can't stand|cannot stand) (.+)$", re.I),
        "User dislikes {0}",
        None,
        "dislikes",
    ),
    (
        re.compile(r"^i (?:really |absolutely |also )?(love|like|enjoy|adore) (.+)$", re.I),
        "User {0}s {1}",
        None,
        "likes",
    ),
    (
        re.compile(r"^i(?:'m| am) (?:really |a big |a huge )?(?:into|a fan of) (.+)$", re.I),
        "User is into {0}",
        None,
        "likes",
    ),
    (
        re.compile(r"^i (drink|eat|play|speak|study|read|watch|cook|use) (.+)$", re.I),
        "User {0}s {1}",
        None,
        "likes",
    ),
    (
        re.compile(
            r"^i(?:'m| am) (vegetarian|vegan|pescatarian|gluten-free|lactose intolerant)$", re.I
        ),
        "User is {0}",
        "diet",
        "likes",
    ),
    (
        re.compile(r"^(?i:i'm|i am) (?i:going|travell?ing|heading) to ((?:the )?[A-Z].*)$"),
        "User is going to {0}",
        None,
        "plans",
    ),
    (
        re.compile(
            r"^i(?:'m| am) (?:going|planning|hoping) to (.+)$|^i plan to (.+)$|^i want to (.+)$",
            re.I,
        ),
        "User plans to {0}",
        None,
        "plans",
    ),
    (
        re.compile(r"^i(?:'ll| will) (.+)$", re.I),
        "User will {0}",
        None,
        "plans",
    ),
    (
        re.compile(
            r"^i(?:'m| am) (flying|travell?ing|moving|visiting|starting|getting|leaving|"
            r"having|seeing|meeting|running|taking) (.+)$",
            re.I,
        ),
        "User is {0} {1}",
        None,
        "plans",
    ),
    (
        re.compile(r"^i have (an? .+?) (on|next|this|tomorrow|in|at) (.+)$", re.I),
        "User has {0} {1} {2}",
        None,
        "plans",
    ),
    (re.compile(r"^i(?:'m| am) (an? .+)$", re.I), "User is {0}", None, "is"),
    (re.compile(r"^i have (.+)$", re.I), "User has {0}", None, "has"),
    (re.compile(r"^my (\w+(?: \w+)?) is (.+)$", re.I), "User's {0} is {1}", "{0}", "has"),
    (re.compile(r"^(?i:i'm|i am) ([A-Z][\w'-]*)$"), "User's name is {0}", "name", "name"),
]

# The families a memory belongs to, read from its (third-person) text.
_FAMILY_OF_MEMORY = {
    "name": re.compile(r"\bname is\b", re.I),
    "live": re.compile(r"\b(lives?|living|based|moved|resides?) (in|to)\b|\bis from\b", re.I),
    "work": re.compile(r"\bworks? (at|for)\b|\bemployer\b", re.I),
    "job": re.compile(
        rf"\bworks? as\b|\bjob\b|\bis an? (\w+ )?({'|'.join(sorted(_PROFESSIONS))})\b", re.I
    ),
    "pets": re.compile(rf"\b({_ANIMALS})\b", re.I),
    "family": re.compile(rf"\b({_RELATIVES}|married)\b", re.I),
    "likes": re.compile(
        r"\b(loves?|likes?|enjoys?|adores?|prefers?|favou?rite|is into|drinks?|eats?|plays?|"
        r"vegetarian|vegan)\b",
        re.I,
    ),
    "dislikes": re.compile(r"\b(dislikes?|hates?|can't stand|no longer likes?)\b", re.I),
    "plans": re.compile(
        r"\b(plans?|will|is (going|flying|travell?ing|moving|visiting|starting|getting|leaving|"
        r"having|seeing|meeting))\b|\bbirthday\b|\bnext (week|month|year)\b",
        re.I,
    ),
    "age": re.compile(r"\byears old\b", re.I),
}

# What a question about the user is about: the families of memories that answer it.
_QUESTION_TOPICS: list[tuple[re.Pattern[str], tuple[str, ...]]] = [
    (re.compile(r"\bname\b|\bwho am i\b|\bcall me\b", re.I), ("name",)),
    (
        re.compile(r"\bwhere\b.*\b(live|living|based|home|from|stay)\b|\bcity\b|\bcountry\b", re.I),
        ("live",),
    ),
    (
        re.compile(
            r"\b(job|work|working|employer|occupation|profession|for a living|company|career)\b",
            re.I,
        ),
        ("work", "job"),
    ),
    (re.compile(rf"\b({_ANIMALS}|animals?)\b", re.I), ("pets",)),
    (re.compile(rf"\b({_RELATIVES}|family|married)\b", re.I), ("family",)),
    (re.compile(r"\bhow old\b|\bmy age\b", re.I), ("age",)),
    (
        re.compile(r"\b(plans?|planning|going to|trip|travel|schedule|birthday|when)\b", re.I),
        ("plans",),
    ),
    (
        re.compile(
            r"\b(like|love|enjoy|hobby|hobbies|favou?rite|prefer|preferences?|into|fun|drink|"
            r"food|eat|hate|dislike)\b",
            re.I,
        ),
        ("likes", "dislikes"),
    ),
]
_ABOUT_ME = re.compile(
    r"\bwhat (?:else )?(?:do|did) you (?:know|remember)\b|\babout me\b|\babout myself\b|"
    r"\bwhat have i told you\b|\bwho am i\b|\beverything you know\b|\bwhat you know\b",
    re.I,
)
_QUESTION_START = re.compile(
    r"^(what|what's|whats|where|who|when|how|which|why|do|does|did|am|is|are|have|has|can|"
    r"could|would|tell me|remind me)\b",
    re.I,
)
_FORGET = re.compile(
    r"^(?:please |can you |could you |now )*(?:forget|delete|remove|erase|drop)\b"
    r"(?: (?:that|about|the fact that|what i said about|the memory(?: that)?|my memory))*\s*(.*)$",
    re.I,
)
_REMEMBER = re.compile(
    r"^(?:please )?(?:remember|note|keep in mind)(?: that|:)?\s+(.+)$", re.I | re.S
)
_CORRECTION = re.compile(
    r"\b(actually|not anymore|anymore|no longer|instead|now|changed|correction|not .+ but|"
    r"moved|switched|these days)\b",
    re.I,
)
_NO_LONGER = re.compile(
    r"^i (?:don't|do not|dont) (\w+) (.+)$|^i no longer (\w+) (.+)$|"
    r"^i(?:'m| am) (?:not|no longer) (.+)$",
    re.I,
)
_ANYMORE = re.compile(r"\b(any ?more|no longer)\b", re.I)
_SWITCHED = re.compile(r"^i (?:switched|changed|went over) (?:from (.+?) )?to (.+)$", re.I)
_GREETING = re.compile(r"^(hi|hello|hey|good (morning|afternoon|evening)|howdy)\b", re.I)
_THANKS = re.compile(r"^(thanks|thank you|cheers|great|cool|ok|okay|nice|perfect)\b", re.I)
_LEADING_FILLER = re.compile(
    r"^(?:(?:hi|hello|hey|oh|ok|okay|well|also|btw|by the way|and|but|so|actually|"
    r"just so you know|fyi|yes|no|um|also,|in fact|correction)\b[\s,:!-]*)+",
    re.I,
)
_TRAILING_FILLER = re.compile(
    r"(?:[\s,]+(?:now|instead|these days|too|as well|anymore|any more|actually|nowadays))+$", re.I
)
_CLAUSE_SPLIT = re.compile(
    r"[.!;\n]+\s*|,\s*(?:and|but|so)?\s*(?=(?:i|i'm|i've|my|me)\b)|"
    r"\s+(?:and|but|so|also)\s+(?=(?:i|i'm|i've|my)\b)|,\s+(?:and|but)\s+",
    re.I,
)


@dataclass(frozen=True)
class RecalledMemory:
    """A memory as the model sees it: a line of its system prompt, with its relevance."""

    key: str
    content: str
    score: float = 0.0


@dataclass(frozen=True)
class Fact:
    """A fact the user stated, as a memory to write, and the slot it fills (if single-valued)."""

    content: str
    slot: str | None
    family: str | None = None
    correction: bool = False
    """Said as a correction ("actually", "now", "I moved to"): it replaces what it contradicts."""


@dataclass
class Reading:
    """What one user message says, as this model understands it."""

    facts: list[Fact] = field(default_factory=list)
    not_understood: list[str] = field(default_factory=list)
    forget: str | None = None
    question: bool = False
    foreign: bool = False


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
        text = last.text
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


# ---- reading a message ------------------------------------------------------------------------


def read_message(text: str) -> Reading:
    """Split a message into the facts it states, a forget request, or a question."""
    text = " ".join(text.split()) if "\n" not in text else text.strip()
    remember = _REMEMBER.match(_LEADING_FILLER.sub("", text))
    if remember:
        return Reading(facts=_remembered(remember.group(1)))
    if not is_english(text):
        return Reading(foreign=True)
    forget = _FORGET.match(_LEADING_FILLER.sub("", text).rstrip(" .!?"))
    if forget:
        return Reading(forget=forget.group(1).strip())
    if text.rstrip().endswith("?") or _QUESTION_START.match(text) or _ABOUT_ME.search(text):
        return Reading(question=True)
    reading = Reading()
    corrected = bool(_CORRECTION.search(text))
    ended = bool(_ANYMORE.search(text))
    for clause in _clauses(text):
        facts = _clause_facts(clause, corrected, ended)
        if facts:
            reading.facts.extend(facts)
        elif not _is_small_talk(clause):
            reading.not_understood.append(clause)
    return reading


def is_english(text: str) -> bool:
    """Whether the message looks like English: Latin letters and at least one common word."""
    letters = [c for c in text if c.isalpha()]
    if not letters:
        return True
    if sum(c.isascii() or "à" <= c.lower() <= "ÿ" for c in letters) < 0.8 * len(letters):
        return False
    words = re.findall(r"[a-z']+", text.lower())
    return len(words) <= 1 or any(w in _ENGLISH for w in words)


def _remembered(stated: str) -> list[Fact]:
    """What "remember that …" keeps: its facts if it reads as English facts, else the text."""
    stated = stated.strip()
    if is_english(stated):
        facts = [f for clause in _clauses(stated) for f in _clause_facts(clause, False)]
        if facts and len(facts) == len(_clauses(stated)):
            return facts
        content = _third_person(_clean(stated))
    else:
        content = stated.rstrip(" .!")
    return [Fact(content[:1].upper() + content[1:], None, None)] if content else []


def _clauses(text: str) -> list[str]:
    parts = (_LEADING_FILLER.sub("", p.strip(" ,")) for p in _CLAUSE_SPLIT.split(text))
    return [p for p in (_clean(part) for part in parts) if p]


def _clause_facts(clause: str, corrected: bool, ended: bool = False) -> list[Fact]:
    """The facts of one clause, by the first rule that reads it; none if no rule does.

    ``ended`` says the message said "anymore" or "no longer": a negation then ends a fact.
    """
    negated = _NO_LONGER.match(clause)
    if negated and (ended or re.search(r"\bno longer\b", clause, re.I)):
        return [_no_longer(negated, corrected=True)]
    switched = _SWITCHED.match(clause)
    if switched:
        return [Fact(f"User switched to {_clean(switched.group(2))}", "switched", None, True)]
    for pattern, template, slot, family in _RULES:
        match = pattern.match(clause)
        if not match:
            continue
        parts = [_their(_clean(g)) for g in match.groups() if g is not None]
        if template == "User is married to {0}" and not parts:
            return [Fact("User is married", "married", "family", corrected)]
        if not parts or not all(parts) or len(parts) < template.count("{"):
            continue
        if slot == "name" and (parts[0].lower() in _NOT_FACTS or parts[0].lower() in _ENGLISH):
            continue
        if template == "User is {0}" and _last_word(parts[0]) in _PROFESSIONS:
            template, slot, family = "User works as {0}", "job", "job"
        if slot == "name":
            parts = [p[:1].upper() + p[1:] for p in parts]
        contents = template.format(*parts).split("\n")
        slots = (slot.format(*parts).lower() if slot else "").split("\n")
        families = family.split("\n")
        return [
            Fact(
                content,
                slots[i] if i < len(slots) and slots[i] else None,
                families[min(i, len(families) - 1)],
                corrected,
            )
            for i, content in enumerate(contents)
        ]
    return []


def _no_longer(match: re.Match[str], corrected: bool) -> Fact:
    verb, thing, verb2, thing2, state = match.groups()
    if state:
        return Fact(f"User is no longer {_clean(state)}", None, None, corrected)
    verb, thing = (verb, thing) if verb else (verb2, thing2)
    return Fact(f"User no longer {_third(verb.lower())} {_clean(thing)}", None, None, corrected)


def _is_small_talk(clause: str) -> bool:
    words = clause.lower().strip(" !.?").split()
    return (
        not words
        or bool(_GREETING.match(clause) or _THANKS.match(clause))
        and len(words) <= 3
        or clause.lower().strip(" !.") in _NOT_FACTS
    )


# ---- choosing which memory a write replaces ---------------------------------------------------


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
        return _best(m for m in memories if _overlap(m.content, fact.content))
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
    described = _third_person(target)
    sharing = [m for m in memories if _overlap(m.content, described)]
    if sharing:
        return max(sharing, key=lambda m: (len(_overlap(m.content, described)), m.score))
    best = max(memories, key=lambda m: m.score)
    return best if best.score >= 0.45 else None


def _best(memories: Any) -> RecalledMemory | None:
    return max(memories, key=lambda m: m.score, default=None)


def _slots(content: str) -> set[str]:
    return {f.slot for f in _clause_facts(_first_person(content), False) if f.slot}


def _families(content: str) -> set[str]:
    return {name for name, pattern in _FAMILY_OF_MEMORY.items() if pattern.search(content)}


def _replace_object(content: str, new: str) -> str:
    """Swap a memory's object, keeping its verb: "User works at Globex" -> "… at Initech"."""
    match = re.match(
        r"^(User(?:'s [\w ]+? is| \w+s(?: (?:at|for|in|as|to|on|with|called))?| is into)) ", content
    )
    return f"{match.group(1)} {new}" if match else f"User switched to {new}"


def _overlap(a: str, b: str) -> set[str]:
    return _content_words(a) & _content_words(b)


def _content_words(text: str) -> set[str]:
    words = re.findall(r"[^\W_]+", text.lower())
    return {_stem(w) for w in words if w not in _STOP and len(w) > 1}


def _stem(word: str) -> str:
    for suffix in ("ing", "es", "s", "ed"):
        if word.endswith(suffix) and len(word) > len(suffix) + 2:
            return word[: -len(suffix)]
    return word


# ---- answering ----------------------------------------------------------------------------------


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
    if _GREETING.match(text):
        name = _name(memories)
        greeting = f"Hello {name}!" if name else "Hello!"
        return _sign(f"{greeting} Tell me about yourself, or ask me what I remember about you.")
    if _THANKS.match(text) and not reading.not_understood[1:]:
        return _sign("You're welcome!")
    if reading.facts:  # facts, but no tool to save them with
        return _sign("I can't save memories in this reply.")
    parts = reading.not_understood or [text.strip()]
    return _sign(f"I didn't understand {_quoted(parts)}. {HELP}")


def answer_question(
    text: str, memories: list[RecalledMemory], shown_of: tuple[int, int] | None = None
) -> str:
    """The answer to a question about the user, from the recalled memories, by meaning."""
    if _ABOUT_ME.search(text) and not _topics(text) or re.search(r"\bwho am i\b", text, re.I):
        return _everything(memories, shown_of)
    topics = _topics(text)
    if not re.search(r"\b(i|my|me|mine|myself)\b", text, re.I):
        return (
            f'I didn\'t understand "{text.strip()}": offline, I only answer questions about what '
            "you told me."
        )
    candidates = [m for m in memories if _families(m.content) & topics] if topics else []
    words = _content_words(text) - _TOPIC_WORDS
    specific = [m for m in candidates if _content_words(m.content) & words]
    if words and candidates and not specific and max(m.score for m in candidates) < 0.2:
        candidates = []
    if not candidates:
        best = _best(m for m in memories if _overlap(m.content, text) or m.score >= 0.35)
        candidates = [best] if best else []
    if not candidates:
        return "I don't know that yet. Tell me and I'll remember it."
    chosen = sorted(specific or candidates, key=lambda m: -m.score)[: 1 if "name" in topics else 3]
    return _sentence([_second_person(m.content) for m in chosen]) + "."


_TOPIC_WORDS = {
    _stem(w)
    for w in _words(
        "name live where job work pet pets animal family plan plans like love enjoy "
        "favorite favourite prefer hobby hobbies drink food old age employer company kids children"
    )
}


def _topics(text: str) -> set[str]:
    return {
        family
        for pattern, families in _QUESTION_TOPICS
        if pattern.search(text)
        for family in families
    }


def _everything(memories: list[RecalledMemory], shown_of: tuple[int, int] | None) -> str:
    if not memories:
        return "I don't know anything about you yet. Tell me about yourself and I'll remember it."
    facts = "\n".join(f"- {_second_person(m.content)}" for m in memories)
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
            match = _SHOWN_OF.search(message.text)
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


# ---- after the tools ran ------------------------------------------------------------------------


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
            failed.append(plain_tool_error(result.text))
        elif artifact.get("action") == "updated":
            old = artifact.get("before")
            now = _second_person(artifact["content"])
            was = (
                f" (before: {_lower_first(_second_person(old))})"
                if old and old != artifact["content"]
                else ""
            )
            updated.append(now + was)
        elif artifact.get("action") == "deleted":
            forgotten.append(_second_person(artifact["content"]))
        else:
            saved.append(_second_person(artifact["content"]))
    lines = []
    name = next(
        (s.split(" is ", 1)[1] for s in saved + updated if s.startswith("Your name is ")), None
    )
    if name and not updated:
        lines.append(f"Nice to meet you, {name.split(' (before', 1)[0]}!")
    if saved:
        lines.append("I'll remember that " + _join(saved) + ".")
    if updated:
        lines.append("Thanks for the correction: now I remember that " + _join(updated) + ".")
    if forgotten:
        lines.append("I've forgotten that " + _join(forgotten) + ".")
    lines.extend(dict.fromkeys(failed))
    human = next((m for m in reversed(messages) if isinstance(m, HumanMessage)), None)
    unread = read_message(human.text).not_understood if human else []
    if unread:
        lines.append(f"I didn't understand {_quoted(unread)}.")
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


# ---- wording ------------------------------------------------------------------------------------


def recalled_memories(messages: list[BaseMessage]) -> list[RecalledMemory]:
    """Parse the memory lines of the system prompt: the only knowledge this model has."""
    found = []
    for message in messages:
        if not isinstance(message, SystemMessage):
            continue
        for line in message.text.splitlines():
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


def _clean(text: str) -> str:
    text = text.strip().rstrip(".!?,;:").strip()
    return _TRAILING_FILLER.sub("", text).strip(" ,")


def _their(text: str) -> str:
    """The user's words inside a fact: "oat milk in my coffee" -> "oat milk in their coffee"."""
    for mine, theirs in (("my", "their"), ("myself", "themselves"), ("me", "them")):
        text = re.sub(rf"\b{mine}\b", theirs, text, flags=re.I)
    return text


def _last_word(text: str) -> str:
    words = text.lower().split()
    return words[-1] if words else ""


def _third(verb: str) -> str:
    irregular = {"have": "has", "do": "does", "go": "goes", "be": "is", "am": "is"}
    if verb in irregular:
        return irregular[verb]
    if verb.endswith(("s", "sh", "ch", "x", "z", "o")):
        return verb + "es"
    if verb.endswith("y") and verb[-2:-1] not in "aeiou":
        return verb[:-1] + "ies"
    return verb + "s"


def _third_person(text: str) -> str:
    """'my sister is Ann' -> "User's sister is Ann": memories speak of the user."""
    text = re.sub(
        r"\bi (\w+)\b",
        lambda m: "User " + (m.group(1) if m.group(1) in ("am", "was") else _third(m.group(1))),
        text,
        flags=re.I,
    )
    for pattern, replacement in [
        (r"\bmy\b", "User's"),
        (r"\bUser am\b|\bi'm\b", "User is"),
        (r"\bi've\b", "User has"),
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
    text = re.sub(r"^User has\b", "i have", text)
    text = re.sub(r"^User (\w+?)(?:es|s)\b", lambda m: f"i {_base(m.group(0))}", text)
    return text


def _base(third: str) -> str:
    verb = third.split()[-1]
    for ending, base in (("ies", "y"), ("shes", "sh"), ("ches", "ch"), ("oes", "o"), ("s", "")):
        if verb.endswith(ending):
            return verb[: -len(ending)] + base
    return verb


def _second_person(content: str) -> str:
    """Turn "User loves sailing" into "You love sailing" for replies; other text stays."""
    if content.startswith("User's "):
        return "Your " + content[len("User's ") :]
    irregular = {"is": "are", "has": "have", "was": "were", "does": "do", "goes": "go"}
    match = re.match(r"^User (no longer )?(\w+)\b(.*)$", content, re.S)
    if not match:
        return content
    longer, verb, rest = match.groups()
    rest = re.sub(r"\btheir\b", "your", re.sub(r"\bthemselves\b", "yourself", rest))
    if verb in irregular:
        verb = irregular[verb]
    elif verb.endswith("ies"):
        verb = verb[:-3] + "y"
    elif verb.endswith(("shes", "ches", "xes")):
        verb = verb[:-2]
    elif verb.endswith("s") and not verb.endswith("ss"):
        verb = verb[:-1]
    return f"You {longer or ''}{verb}{rest}"


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:] if not text.startswith("I ") else text


def _sentence(items: list[str]) -> str:
    first, *rest = items
    return (
        first
        if not rest
        else first + ", and " + _join(rest)
        if len(rest) > 1
        else f"{first} and {_lower_first(rest[0])}"
    )


def _join(items: list[str]) -> str:
    lowered = [_lower_first(item) for item in items]
    return lowered[0] if len(lowered) == 1 else ", ".join(lowered[:-1]) + " and " + lowered[-1]


def _quoted(parts: list[str]) -> str:
    return _join_plain([f'"{p}"' for p in parts])


def _join_plain(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _sign(text: str) -> str:
    return f"{text}\n\n{SIGNATURE}"
