"""What the chat page reads from the core: stored turns as bubbles, and why a turn is pending."""

from __future__ import annotations

import pytest
from langchain_core.messages import HumanMessage

from memory_agent.conversations import chat
from memory_agent.models.errors import describe_model_error
from memory_agent.runtime import Runtime
from tests.openai_stub import OpenAIStub, Reply


def test_history_groups_each_reply_with_its_memory_notes_and_recall(runtime: Runtime) -> None:
    list(chat.send(runtime, "zed", "t1", "My name is Zed and I love sailing"))
    list(chat.send(runtime, "zed", "t1", "What do you know about me?"))

    first_user, first_reply, second_user, second_reply = chat.history(runtime, "zed", "t1")

    assert (first_user.role, first_user.text) == ("user", "My name is Zed and I love sailing")
    assert first_reply.role == "assistant"
    assert [str(n) for n in first_reply.notes] == [
        "Saved to memory: User's name is Zed",
        "Saved to memory: User loves sailing",
    ]
    assert first_reply.recall is not None and first_reply.recall.memories == ()
    assert second_user.text == "What do you know about me?"
    assert "Zed" in second_reply.text and "sailing" in second_reply.text
    assert second_reply.notes == ()
    recalled = {m["content"] for m in second_reply.recall.memories}
    assert recalled == {"User's name is Zed", "User loves sailing"}


def test_an_unanswered_message_is_its_own_last_bubble() -> None:
    [only] = chat.turns([HumanMessage("hello")])
    assert (only.role, only.text, only.notes, only.recall) == ("user", "hello", (), None)


@pytest.mark.parametrize(
    "replies",
    [
        [Reply(status=401)],
        [Reply(status=429), Reply(status=429)],  # the client retries once by itself
        [Reply(status=503), Reply(status=503)],
        [Reply(text="one two three four", cut_after_chunks=3)],
    ],
    ids=["401", "429", "503", "stream-cut"],
)
def test_a_failed_turn_stays_pending_with_the_same_reason_and_resumes_once(
    online_runtime: Runtime, openai_stub: OpenAIStub, replies: list[Reply]
) -> None:
    openai_stub.replies.extend(replies)
    with pytest.raises(Exception) as failure:
        list(chat.send(online_runtime, "zed", "t1", "hello"))

    reason = chat.pending_error(online_runtime, "zed", "t1")
    assert reason == describe_model_error(failure.value)
    assert "Traceback" not in reason

    openai_stub.default_reply = Reply(text="Hello again.")
    assert "".join(map(str, chat.resume(online_runtime, "zed", "t1"))) == "Hello again."
    assert chat.pending_error(online_runtime, "zed", "t1") is None
    assert [t.role for t in chat.history(online_runtime, "zed", "t1")] == [
        "user",
        "assistant",
    ]
