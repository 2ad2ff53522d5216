"""The chat page (app.py) driven in-process with Streamlit's AppTest, against a real data dir."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import ui
from memory_agent.conversations import chat, threads
from memory_agent.runtime import open_runtime
from tests.live_app import ROOT, free_port
from tests.openai_stub import OpenAIStub, Reply

APP = str(Path(__file__).resolve().parent.parent / "app.py")


@pytest.fixture(autouse=True)
def app_data_dir(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Each test gets its own data dir; the process-wide cached runtime is closed and dropped."""
    monkeypatch.setenv("MEMORY_AGENT_DATA_DIR", str(data_dir))
    ui.get_runtime.clear()
    yield data_dir
    ui.get_runtime().close()
    ui.get_runtime.clear()


@pytest.fixture
def stub_model(openai_stub: OpenAIStub, monkeypatch: pytest.MonkeyPatch) -> OpenAIStub:
    """The page's model is ChatOpenAI talking to the local stub server."""
    monkeypatch.setenv("MEMORY_AGENT_BASE_URL", openai_stub.url)
    monkeypatch.setenv("MEMORY_AGENT_MODEL", "stub-model")
    return openai_stub


def open_page(**query: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=20)
    for name, value in query.items():
        at.query_params[name] = value
    return at.run()


def say(at: AppTest, text: str) -> AppTest:
    return at.chat_input[0].set_value(text).run()


def bubbles(at: AppTest) -> list[tuple[str, str]]:
    """(role, text) per chat bubble: user text from st.text, the agent's from its Markdown."""
    result = []
    for message in at.chat_message:
        body = [t.value for t in message.text] or [m.value for m in message.markdown[:1]]
        result.append((message.name, body[0] if body else ""))
    return result


def shown(markdown: str) -> str:
    """Markdown source as it reads on the page (the page escapes text that came from users)."""
    return re.sub(r"\\(.)", r"\1", markdown)


def captions(at: AppTest) -> str:
    return " ".join(shown(c.value) for c in at.caption)


def thread_titles(at: AppTest) -> list[str]:
    """The sidebar's conversation list, top to bottom."""
    return [shown(b.label) for b in at.sidebar.button if str(b.key).startswith("open-")]


def no_traceback(at: AppTest) -> None:
    assert not at.exception, at.exception
    for element in [*at.error, *at.warning, *at.markdown, *at.caption]:
        assert "Traceback" not in element.value


def stored_user_messages(data_dir: Path, user: str, thread: str) -> list[str]:
    runtime = open_runtime(data_dir)
    try:
        return [m.content for m in threads.messages(runtime, user, thread) if m.type == "human"]
    finally:
        runtime.close()


# ---- opening the page ---------------------------------------------------------------------------


def test_opens_offline_on_a_new_chat_labelled_with_the_demo_model() -> None:
    at = open_page()
    no_traceback(at)
    assert at.subheader[0].value == "New chat"
    assert at.query_params["user"] == "default-user"
    assert at.sidebar.text[0].value.startswith("Offline demo model")
    assert any("OPENAI_API_KEY" in c.value for c in at.sidebar.caption)
    assert not at.chat_input[0].disabled


def test_an_invalid_user_id_in_the_link_is_explained_not_used() -> None:
    at = open_page(user="no spaces!")
    no_traceback(at)
    assert "cannot be used" in at.error[0].value
    assert "letters, digits" in at.error[0].value
    assert not at.chat_input


def test_a_thread_the_user_does_not_have_opens_a_new_chat_with_a_notice() -> None:
    at = say(open_page(user="zed"), "I love sailing")
    zeds_thread = at.query_params["thread"]

    at = open_page(user="ann", thread=zeds_thread)
    no_traceback(at)
    assert "has no conversation" in at.warning[0].value
    assert at.subheader[0].value == "New chat"
    assert "thread" not in at.query_params
    assert bubbles(at) == []


# ---- chatting -----------------------------------------------------------------------------------


def test_a_reply_streams_with_its_memory_notes_and_the_thread_goes_into_the_url() -> None:
    at = say(open_page(user="zed"), "My name is Zed and I love sailing")
    no_traceback(at)
    (_, user_text), (_, reply) = bubbles(at)
    assert user_text == "My name is Zed and I love sailing"
    assert "Zed" in reply and "offline demo model" in reply
    assert "Saved to memory: User's name is Zed" in captions(at)
    assert "Saved to memory: User loves sailing" in captions(at)
    thread_id = at.query_params["thread"]
    assert at.subheader[0].value == "My name is Zed and I love sailing"
    assert thread_titles(at) == ["My name is Zed and I love sailing"]
    assert at.sidebar.button(key=f"open-{thread_id}")


def test_a_reload_shows_the_same_conversation_notes_and_recall_from_storage() -> None:
    at = say(open_page(user="zed"), "My name is Zed and I love sailing")
    at = say(at, "What do you know about me?")
    query = {name: at.query_params[name] for name in ("user", "thread")}

    reloaded = open_page(**query)
    no_traceback(reloaded)
    assert bubbles(reloaded) == bubbles(at)
    assert "Saved to memory: User loves sailing" in captions(reloaded)
    [recall] = reloaded.main.expander
    assert recall.label == "Recalled 2 memories for this message"
    scored = [m.value for m in recall.markdown]
    assert any(line.startswith("`0.") and "User loves sailing" in line for line in scored)


def test_a_new_chat_answers_from_what_an_earlier_chat_saved() -> None:
    at = say(open_page(user="zed"), "My name is Zed and I love sailing")
    at.sidebar.button[0].click().run()  # New chat
    assert at.subheader[0].value == "New chat"
    assert "thread" not in at.query_params

    at = say(at, "What do you know about me?")
    _, reply = bubbles(at)[-1]
    assert "Zed" in reply and "sailing" in reply
    assert thread_titles(at) == ["What do you know about me?", "My name is Zed and I love sailing"]


def test_user_text_is_shown_verbatim_never_as_markdown_or_html() -> None:
    text = "**bold** <script>alert(1)</script> [link](http://x) $x$"
    at = say(open_page(user="zed"), text)
    assert at.chat_message[0].text[0].value == text
    assert not at.chat_message[0].markdown
    assert at.subheader[0].value.startswith("\\*\\*bold\\*\\* \\<script\\>")


def test_empty_input_is_ignored() -> None:
    at = say(open_page(user="zed"), "   ")
    no_traceback(at)
    assert bubbles(at) == [] and not at.error
    assert "thread" not in at.query_params


def test_an_over_long_message_is_refused_with_its_text_kept() -> None:
    text = "x" * (chat.MAX_MESSAGE_LENGTH + 1)
    at = say(open_page(user="zed"), text)
    no_traceback(at)
    assert "Not sent" in at.error[0].value and "8,000" in at.error[0].value
    assert at.code[0].value == text
    assert bubbles(at) == []


# ---- users and conversations --------------------------------------------------------------------


def test_switching_user_switches_threads_and_memories() -> None:
    at = say(open_page(user="zed"), "My name is Zed and I love sailing")
    at.sidebar.text_input(key="user_field").set_value("ann").run()
    no_traceback(at)
    assert at.query_params["user"] == "ann" and "thread" not in at.query_params
    assert thread_titles(at) == []

    at = say(at, "What do you know about me?")
    _, reply = bubbles(at)[-1]
    assert "Zed" not in reply


def test_an_invalid_user_id_is_refused_and_the_current_user_stays() -> None:
    at = open_page(user="zed")
    at.sidebar.text_input(key="user_field").set_value("bad id!").run()
    assert "Not switched" in at.sidebar.error[0].value
    assert at.query_params["user"] == "zed"


def test_rename_then_delete_after_confirmation(app_data_dir: Path) -> None:
    at = say(open_page(user="zed"), "I love sailing")
    thread_id = at.query_params["thread"]

    at.text_input(key="rename_title").set_value("Boats")
    next(b for b in at.button if b.label == "Rename").click().run()
    assert at.subheader[0].value == "Boats"
    assert at.sidebar.button(key=f"open-{thread_id}").label == "Boats"

    next(b for b in at.button if b.label == "Delete conversation").click().run()
    assert "Delete “Boats”?" in at.warning[0].value
    next(b for b in at.button if b.label == "Cancel").click().run()
    assert not at.warning and at.sidebar.button(key=f"open-{thread_id}")

    next(b for b in at.button if b.label == "Delete conversation").click().run()
    at.button(key="del").click().run()
    no_traceback(at)
    assert at.subheader[0].value == "New chat"
    assert thread_titles(at) == []
    assert "thread" not in at.query_params


def test_the_inspector_link_carries_user_and_thread_when_the_inspector_exists() -> None:
    at = say(open_page(user="zed"), "I love sailing")
    links = at.get("page_link")
    if not ui.inspector_available():
        assert links == []  # the page works without the inspector installed
        return
    assert links and all("user=zed" in str(link.proto) for link in links)


# ---- settings and model failures ----------------------------------------------------------------


def test_session_settings_reach_the_model_through_the_run_config(stub_model: OpenAIStub) -> None:
    at = open_page(user="zed")
    assert at.sidebar.text[0].value.startswith("stub-model via http://127.0.0.1")
    at.sidebar.text_input(key="setting_model").set_value("other-model")
    at.sidebar.slider(key="setting_temperature").set_value(0.7)
    at.sidebar.text_area(key="setting_system_prompt").set_value("Be brief. {user_info}")
    at = say(at.run(), "hello")
    no_traceback(at)
    body = stub_model.chat_requests()[-1]["body"]
    assert body["model"] == "other-model" and body["temperature"] == 0.7
    assert body["messages"][0]["content"].startswith("Be brief. (no memories")


def test_unusable_settings_block_sending_with_the_reason() -> None:
    at = open_page(user="zed")
    at.sidebar.text_area(key="setting_system_prompt").set_value("   ").run()
    assert "system_prompt must be a prompt, not empty" in at.sidebar.error[0].value
    assert at.chat_input[0].disabled


@pytest.mark.parametrize(
    ("replies", "reason"),
    [
        ([Reply(status=401)], "rejected the API key (401)"),
        ([Reply(status=429)] * 2, "rate limiting requests (429)"),  # the client retries once
        ([Reply(status=503)] * 2, "The model server failed (503)"),
        ([Reply(delay=1.0)] * 2, "did not answer in time (timeout)"),
        ([Reply(text="Half of a reply that stops", cut_after_chunks=3)], "cut off half-way"),
    ],
    ids=["401", "429", "503", "timeout", "stream-cut"],
)
def test_a_model_failure_shows_one_line_and_retry_answers_without_a_second_copy(
    stub_model: OpenAIStub,
    app_data_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    replies: list[Reply],
    reason: str,
) -> None:
    monkeypatch.setenv("MEMORY_AGENT_REQUEST_TIMEOUT", "0.4")
    stub_model.replies.extend(replies)
    at = say(open_page(user="zed"), "I love sailing")
    no_traceback(at)
    assert reason in at.error[0].value
    assert bubbles(at)[0] == ("user", "I love sailing")
    thread_id = at.query_params["thread"]

    stub_model.default_reply = Reply(text="Recovered answer.")
    next(b for b in at.button if b.label == "Retry").click().run()
    no_traceback(at)
    assert bubbles(at) == [("user", "I love sailing"), ("assistant", "Recovered answer.")]
    assert not at.error
    assert stored_user_messages(app_data_dir, "zed", thread_id) == ["I love sailing"]


def test_an_unreachable_model_server_is_named_and_the_message_kept(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MEMORY_AGENT_BASE_URL", f"http://127.0.0.1:{free_port()}/v1")
    at = say(open_page(user="zed"), "I love sailing")
    no_traceback(at)
    assert "Could not reach the model server" in at.error[0].value
    assert bubbles(at) == [("user", "I love sailing"), ("assistant", "")]  # the error's bubble
    assert any(b.label == "Retry" for b in at.button)

    reloaded = open_page(user="zed", thread=at.query_params["thread"])
    assert "Could not reach the model server" in reloaded.error[0].value


def test_no_page_has_a_bare_string_streamlit_would_draw() -> None:
    """Streamlit's magic draws a module-level string that is not the docstring (a constant's)."""
    for path in [ROOT / "app.py", *sorted((ROOT / "pages").glob("*.py"))]:
        body = ast.parse(path.read_text()).body
        drawn = [
            node.lineno
            for node in body[1:]
            if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
        ]
        assert drawn == [], f"{path.name}: a bare string at line(s) {drawn} shows on the page"
