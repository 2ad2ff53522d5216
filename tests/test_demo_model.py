"""The offline demo model: what a presenter types, the memories it must leave, what it must say.

Each row of ``SENTENCES`` runs one real turn of the agent (graph, SQLite store, WordLlama recall)
for a user whose memories are seeded first, then checks the memories left and the reply.
"""

from __future__ import annotations

import itertools

import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

from memory_agent import memories
from memory_agent.conversations import chat
from memory_agent.models.demo import SIGNATURE, OfflineDemoModel
from memory_agent.prompts import render_system_prompt
from memory_agent.runtime import Runtime
from memory_agent.tools import TOOL_SCHEMAS, upsert_memory

ONLY_ENGLISH = "I only understand English in offline mode"
TOO_LONG = "That was too long to remember; keep a memory under 2,000 characters"
LONG = "remember that " + "my notes say " * 170  # ~2,200 characters

# (message, memories before, memories after (None: unchanged), text the reply must contain)
SENTENCES: list[tuple[str, list[str], list[str] | None, str]] = [
    (
        "I'm Priya, I work at Globex as a nurse and I have two cats",
        [],
        [
            "User's name is Priya",
            "User works at Globex",
            "User works as a nurse",
            "User has two cats",
        ],
        "Nice to meet you, Priya!",
    ),
    (
        "My name is Zed and I love sailing",
        [],
        ["User's name is Zed", "User loves sailing"],
        "Nice to meet you, Zed!",
    ),
    ("Call me Sam", [], ["User's name is Sam"], "Nice to meet you, Sam!"),
    ("actually my name is Priya", ["User's name is Zed"], ["User's name is Priya"], "before"),
    ("I live in Porto", [], ["User lives in Porto"], "you live in Porto"),
    (
        "actually I moved to Lisbon",
        ["User lives in Porto", "User has two cats"],
        ["User lives in Lisbon", "User has two cats"],
        "you live in Lisbon (before: you live in Porto)",
    ),
    ("I moved to Berlin last year", [], ["User lives in Berlin"], "you live in Berlin"),
    ("I'm from Kenya", [], ["User is from Kenya"], "you are from Kenya"),
    ("I work at Acme", [], ["User works at Acme"], "you work at Acme"),
    (
        "I switched to Initech",
        ["User works at Globex", "User likes tea"],
        ["User works at Initech", "User likes tea"],
        "you work at Initech",
    ),
    ("I'm a teacher", [], ["User works as a teacher"], "you work as a teacher"),
    (
        "I'm a software engineer at Initech",
        [],
        ["User works as a software engineer", "User works at Initech"],
        "you work as a software engineer",
    ),
    ("I have a sister called Ann", [], ["User has a sister called Ann"], "sister called Ann"),
    ("My wife's name is Maria", [], ["User's wife is called Maria"], "your wife is called Maria"),
    ("I have two kids", [], ["User has two kids"], "you have two kids"),
    ("I have a dog called Rex", [], ["User has a dog called Rex"], "you have a dog called Rex"),
    ("My cat is called Miso", [], ["User's cat is called Miso"], "your cat is called Miso"),
    (
        "I love hiking and I hate mushrooms",
        [],
        ["User loves hiking", "User dislikes mushrooms"],
        "you love hiking and you dislike mushrooms",
    ),
    ("I don't like coffee", [], ["User dislikes coffee"], "you dislike coffee"),
    ("I prefer tea", [], ["User prefers tea"], "you prefer tea"),
    ("actually I prefer coffee now", ["User prefers tea"], ["User prefers coffee"], "correction"),
    (
        "I prefer aisle seats",
        ["User prefers tea"],
        ["User prefers tea", "User prefers aisle seats"],
        "you prefer aisle seats",
    ),
    ("My favorite color is green", [], ["User's favorite color is green"], "color is green"),
    ("I'm vegetarian", [], ["User is vegetarian"], "you are vegetarian"),
    ("I'm 34", [], ["User is 34 years old"], "you are 34 years old"),
    ("I speak Portuguese", [], ["User speaks Portuguese"], "you speak Portuguese"),
    (
        "I'm flying to Tokyo next week",
        [],
        ["User is flying to Tokyo next week"],
        "you are flying to Tokyo next week",
    ),
    ("My birthday is on March 3", [], ["User's birthday is March 3"], "birthday is March 3"),
    (
        "I'm planning to run a marathon in June",
        [],
        ["User plans to run a marathon in June"],
        "you plan to run a marathon in June",
    ),
    (
        "I have a dentist appointment on Friday",
        [],
        ["User has a dentist appointment on Friday"],
        "dentist appointment on Friday",
    ),
    (
        "I don't drink coffee anymore",
        ["User drinks coffee", "User lives in Lisbon"],
        ["User no longer drinks coffee", "User lives in Lisbon"],
        "you no longer drink coffee",
    ),
    (
        "I'm not vegetarian anymore",
        ["User is vegetarian"],
        ["User is no longer vegetarian"],
        "correction",
    ),
    (
        "I don't live in Porto anymore",
        ["User lives in Porto"],
        ["User no longer lives in Porto"],
        "correction",
    ),
    (
        "remember that my locker code is 4512",
        [],
        ["User's locker code is 4512"],
        "your locker code is 4512",
    ),
    ("remember that 我喜欢喝茶", [], ["我喜欢喝茶"], "我喜欢喝茶"),
    ("Je m'appelle Zoé", [], [], ONLY_ENGLISH),
    ("我喜欢喝茶", [], [], ONLY_ENGLISH),
    (
        "please forget that I live in Lisbon",
        ["User lives in Lisbon", "User has two cats"],
        ["User has two cats"],
        "I've forgotten that you live in Lisbon",
    ),
    (
        "forget my name",
        ["User's name is Priya", "User lives in Lisbon"],
        ["User lives in Lisbon"],
        "I've forgotten that your name is Priya",
    ),
    ("forget that I like opera", ["User loves sailing"], None, "couldn't find a memory"),
    ("do I have pets?", ["User has two cats", "User works at Globex"], None, "You have two cats."),
    ("where do I live?", ["User lives in Lisbon", "User works at Globex"], None, "You live in"),
    ("what's my job?", ["User works as a nurse", "User lives in Lisbon"], None, "as a nurse"),
    ("what's my name?", ["User's name is Priya", "User has two cats"], None, "Your name is Priya."),
    (
        "what's my favorite drink?",
        ["User likes green tea", "User lives in Lisbon"],
        None,
        "You like green tea.",
    ),
    ("what do I like?", ["User loves sailing", "User lives in Berlin"], None, "You love sailing."),
    (
        "what are my plans?",
        ["User is flying to Tokyo next week", "User has two cats"],
        None,
        "You are flying to Tokyo next week.",
    ),
    (
        "what's my wife called?",
        ["User's wife is called Maria", "User has two cats"],
        None,
        "Your wife is called Maria.",
    ),
    ("where do I live?", [], None, "I don't know that yet"),
    (
        "What do you know about me?",
        ["User's name is Zed", "User loves sailing"],
        None,
        "Here is what I remember about you (2 memories)",
    ),
    (
        "What do you know about me?",
        [f"User visited city number {i}" for i in range(23)] + ["User's name is Priya"],
        None,
        "the 10 most relevant of the 24 things I remember about you",
    ),
    (
        "I love sailing. Blorp the zibble",
        [],
        ["User loves sailing"],
        'I didn\'t understand "Blorp the zibble"',
    ),
    ("What's the weather like?", [], None, "I only answer questions about what you told me"),
    (LONG, [], [], TOO_LONG),
    ("hi", ["User's name is Priya"], None, "Hello Priya!"),
    (
        "I like oat milk in my coffee",
        [],
        ["User likes oat milk in their coffee"],
        "you like oat milk in your coffee",
    ),
    (
        "I switched to soy milk",
        ["User likes oat milk", "User lives in Porto"],
        ["User likes soy milk", "User lives in Porto"],
        "(before: you like oat milk)",
    ),
    ("I'm going to Paris in May", [], ["User is going to Paris in May"], "going to Paris in May"),
    ("Hola, me llamo Juan", [], [], ONLY_ENGLISH),
    ("do I like sushi?", ["User likes oat milk"], None, "I don't know that yet"),
]
_users = itertools.count()


def _turn(runtime: Runtime, before: list[str], message: str) -> tuple[str, list[str]]:
    user = f"demo-{next(_users)}"
    for content in before:
        memories.upsert_memory(runtime.store, user, content, "", source="inspector")
    events = list(chat.send(runtime, user, "t1", message))
    reply = "".join(e for e in events if isinstance(e, str))
    return reply, sorted(m.content for m in memories.list_memories(runtime.store, user))


@pytest.mark.parametrize(
    ("message", "before", "after", "reply_has"), SENTENCES, ids=[s[0][:40] for s in SENTENCES]
)
def test_a_sentence_leaves_its_memories_and_reply(
    runtime: Runtime, message: str, before: list[str], after: list[str] | None, reply_has: str
) -> None:
    reply, stored = _turn(runtime, before, message)
    assert stored == sorted(before if after is None else after)
    assert reply_has in reply
    assert reply.endswith(SIGNATURE)
    assert "Traceback" not in reply and "Error:" not in reply


def test_the_table_has_forty_cases_or_more() -> None:
    assert len(SENTENCES) >= 40


def test_text_it_quotes_stays_inert_in_the_chat(runtime: Runtime) -> None:
    """Its replies repeat the user's words: a link, colour or formula in them is not rendered."""
    reply, _ = _turn(
        runtime,
        ["remember that I like [x](javascript:go) and :red[red] and $x^2$"],
        "What do you know about me?",
    )
    assert r"\[x\](javascript:go)" in reply and r":red\[red\]" in reply and r"\$x^2\$" in reply
    assert reply.endswith(SIGNATURE)


def test_a_bare_address_it_quotes_does_not_become_a_link(runtime: Runtime) -> None:
    """GFM links http://…, www.… and a@b.c with no brackets; the reply breaks each invisibly."""
    reply, _ = _turn(
        runtime,
        ["remember that I read http://evil.example and www.evil.example and a@evil.example"],
        "What do you know about me?",
    )
    assert "http://" not in reply and "www." not in reply and "a@evil" not in reply
    shown = reply.replace("\u2060", "")
    assert "http://evil.example" in shown and "www.evil.example" in shown


def test_a_too_long_memory_gives_the_model_the_precise_error(runtime: Runtime) -> None:
    user = "long"
    list(chat.send(runtime, user, "t1", LONG))
    tool_results = [m for m in chat.threads.messages(runtime, user, "t1") if m.type == "tool"]
    assert tool_results[0].status == "error"
    assert "characters; the limit is 2,000" in tool_results[0].text


def _system(*memories: tuple[str, str]) -> SystemMessage:
    rows = [{"key": k, "content": c, "context": "", "score": 0.5} for k, c in memories]
    return SystemMessage(render_system_prompt("Memories:\n{user_info}\nTime: {time}", rows, "now"))


def test_stated_facts_become_one_tool_call_each_with_distinct_ids() -> None:
    model = OfflineDemoModel().bind_tools([upsert_memory])
    reply = model.invoke([_system(), HumanMessage("My name is Zed and I love sailing")])
    assert [c["name"] for c in reply.tool_calls] == ["upsert_memory", "upsert_memory"]
    assert all("memory_id" not in c["args"] for c in reply.tool_calls)
    assert len({c["id"] for c in reply.tool_calls}) == 2


def test_answers_come_only_from_recalled_memories() -> None:
    model = OfflineDemoModel().bind(tools=TOOL_SCHEMAS)
    history = [HumanMessage("My name is Bob"), AIMessage("ok")]
    # The conversation says Bob, but nothing was recalled: the model must not use the chat.
    reply = model.invoke([_system(), *history, HumanMessage("What's my name?")])
    assert "Bob" not in reply.content
    assert "don't know" in reply.content


def test_streaming_yields_the_reply_in_pieces_with_fresh_ids() -> None:
    model = OfflineDemoModel()
    chunks = list(
        model.stream(
            [_system(("m1", "User loves sailing")), HumanMessage("what do you know about me?")]
        )
    )
    assert len(chunks) > 3
    assert "You love sailing" in "".join(c.content for c in chunks)
    first, second = model.invoke([HumanMessage("hi")]), model.invoke([HumanMessage("hi")])
    assert first.id != second.id


def test_without_the_tools_bound_it_does_not_call_them() -> None:
    reply = OfflineDemoModel().invoke([HumanMessage("My name is Zed")])
    assert reply.tool_calls == []
    assert "offline demo model" in reply.content


def test_the_demo_model_reads_a_message_in_several_text_blocks_as_one_text() -> None:
    """agent-chat-ui sends content blocks; words at a block boundary must not fuse."""
    human = HumanMessage(content=[{"type": "text", "text": "I work at Acme"}, "and I love sailing"])
    reply = OfflineDemoModel().bind_tools([upsert_memory]).invoke([_system(), human])
    saved = sorted(call["args"]["content"] for call in reply.tool_calls)
    assert saved == ["User loves sailing", "User works at Acme"]


@pytest.mark.parametrize(
    "nonsense",
    [
        "purple monkey dishwasher",
        "banana phone",
        "colorless green ideas sleep furiously",
        "xyzzy plugh",
        "asdf qwer zxcv",
        "purple café",
    ],
)
def test_english_it_cannot_read_is_not_understood_not_called_foreign(nonsense: str) -> None:
    reply = (
        OfflineDemoModel().bind_tools([upsert_memory]).invoke([_system(), HumanMessage(nonsense)])
    )
    assert reply.content.startswith(f'I didn\'t understand "{nonsense}". Offline, I understand')
    assert ONLY_ENGLISH not in reply.content and reply.tool_calls == []


@pytest.mark.parametrize(
    "foreign",
    [
        "Ich wohne in Berlin",
        "Mi chiamo Luca",
        "Eu moro em Lisboa",
        "Ik woon in Amsterdam",
        "Zażółć gęślą jaźń",
        "Привет, как дела",
    ],
)
def test_another_language_is_still_told_it_is_not_english(foreign: str) -> None:
    reply = (
        OfflineDemoModel().bind_tools([upsert_memory]).invoke([_system(), HumanMessage(foreign)])
    )
    assert reply.content.startswith(ONLY_ENGLISH) and reply.tool_calls == []
