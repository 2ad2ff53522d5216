"""Every command-line command, and its error exits (one line on stderr, exit 1, nothing written)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from memory_agent.cli import main
from tests.live_app import ROOT, cli_command


@pytest.fixture
def cli(data_dir: Path, capsys: pytest.CaptureFixture):
    def run(*args: str) -> tuple[int, str, str]:
        code = main(["--data-dir", str(data_dir), *args])
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run


def test_chat_one_turn_prints_the_reply_and_memory_writes(cli) -> None:
    code, out, err = cli(
        "chat", "--user", "zed", "--thread", "t1", "My name is Zed and I love sailing"
    )
    assert (code, err) == (0, "")
    assert "Nice to meet you, Zed!" in out
    assert "[Saved to memory: User's name is Zed]" in out
    assert "[Saved to memory: User loves sailing]" in out


def test_interactive_chat_reads_lines_until_exit(cli, monkeypatch: pytest.MonkeyPatch) -> None:
    lines = iter(["I work at Acme", "", "where do I work?", "exit", "never read"])
    monkeypatch.setattr("builtins.input", lambda prompt="": next(lines))
    code, out, _ = cli("chat", "--user", "zed", "--thread", "t1")
    assert code == 0
    assert "Chatting as zed in conversation t1" in out
    assert "[Saved to memory: User works at Acme]" in out
    assert "You work at Acme" in out
    assert next(lines) == "never read"


def test_memories_list_search_export_delete_and_history(cli) -> None:
    cli("chat", "--user", "zed", "--thread", "t1", "I love sailing and I work at Acme")
    code, out, _ = cli("memories", "list", "--user", "zed", "--format", "json")
    rows = json.loads(out)
    assert code == 0 and sorted(r["content"] for r in rows) == [
        "User loves sailing",
        "User works at Acme",
    ]
    code, out, _ = cli("memories", "list", "--user", "zed")
    assert out.splitlines()[0].split() == ["key", "updated_at", "source", "content"]
    code, out, _ = cli("memories", "search", "sailing", "--user", "zed", "--format", "json")
    found = json.loads(out)
    assert found[0]["content"] == "User loves sailing" and found[0]["score"] > found[1]["score"]
    code, out, _ = cli("memories", "export", "--user", "zed", "--format", "csv")
    assert out.splitlines()[0] == "key,content,context,created_at,updated_at,thread_id,source"
    sailing = next(r["key"] for r in rows if r["content"] == "User loves sailing")
    code, out, _ = cli("memories", "delete", sailing, "--user", "zed")
    assert code == 0 and "Deleted memory" in out
    code, out, _ = cli("memories", "history", "--user", "zed", "--format", "json")
    assert [e["action"] for e in json.loads(out)] == ["delete", "create", "create"]


def test_import_merges_or_replaces(cli, tmp_path: Path) -> None:
    cli("chat", "--user", "zed", "--thread", "t1", "I love sailing")
    source = tmp_path / "in.json"
    source.write_text(json.dumps([{"content": "User likes tea", "context": "imported"}]))
    code, out, _ = cli("memories", "import", str(source), "--user", "zed")
    assert (code, out.strip()) == (0, "Imported 1 rows for zed: 1 created, 0 updated, 0 deleted.")
    code, out, _ = cli("memories", "import", str(source), "--user", "zed", "--mode", "replace")
    assert "1 created, 0 updated, 2 deleted" in out
    _, out, _ = cli("memories", "list", "--user", "zed", "--format", "json")
    assert [r["content"] for r in json.loads(out)] == ["User likes tea"]


def test_threads_list_and_state_json(cli) -> None:
    cli("chat", "--user", "zed", "--thread", "t1", "My name is Zed")
    code, out, _ = cli("threads", "list", "--user", "zed", "--format", "json")
    assert [(t["thread_id"], t["title"]) for t in json.loads(out)] == [("t1", "My name is Zed")]
    code, out, _ = cli("state", "--user", "zed", "--thread", "t1", "--format", "json")
    state = json.loads(out)
    assert code == 0
    assert state["next"] == []
    assert [m["type"] for m in state["values"]["messages"]] == ["human", "ai", "tool", "ai"]
    assert state["metadata"]["step"] >= 3 and state["config"]["configurable"]["thread_id"] == "t1"
    assert {"created_at", "parent_config", "tasks", "interrupts"} <= set(state)


def test_threads_transcript_prints_every_message_where_the_state_holds_recent_turns(cli) -> None:
    said = [f"hello number {n}" for n in range(25)]
    for text in said:
        cli("chat", "--user", "zed", "--thread", "long", text)
    code, out, _ = cli("threads", "transcript", "--user", "zed", "--thread", "long")
    every = [m["data"]["content"] for m in json.loads(out)["messages"] if m["type"] == "human"]
    _, state, _ = cli("state", "--user", "zed", "--thread", "long")
    recent = [m for m in json.loads(state)["values"]["messages"] if m["type"] == "human"]
    assert code == 0 and every == said and len(recent) < len(said)
    code, _, err = cli("threads", "transcript", "--user", "ann", "--thread", "long")
    assert code == 1 and "No conversation 'long' for user 'ann'" in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["state", "--user", "zed", "--thread", "nope"], "No conversation 'nope' for user 'zed'"),
        (["chat", "--user", "bad.user", "hi"], "user_id 'bad.user' may only contain"),
        (["chat", "--user", "zed", "--thread", "t1", "   "], "The message is empty"),
        (
            ["memories", "import", "/no/such/file.json", "--user", "zed"],
            "Cannot read /no/such/file.json",
        ),
        (
            ["memories", "delete", "missing-key", "--user", "zed"],
            "No memory with key 'missing-key'",
        ),
        (["chat", "--user", "zed", "--retry"], "--retry needs the --thread"),
    ],
)
def test_errors_print_one_line_and_exit_1(cli, args: list[str], message: str) -> None:
    code, out, err = cli(*args)
    assert code == 1
    assert err.startswith("error: ") and message in err
    assert err.count("\n") == 1


def test_a_bad_import_file_changes_nothing(cli, tmp_path: Path) -> None:
    cli("chat", "--user", "zed", "--thread", "t1", "I love sailing")
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([{"content": "fine"}, {"content": ""}]))
    code, _, err = cli("memories", "import", str(bad), "--user", "zed")
    assert code == 1 and "Row 2: content must not be empty" in err
    _, out, _ = cli("memories", "list", "--user", "zed", "--format", "json")
    assert [r["content"] for r in json.loads(out)] == ["User loves sailing"]


def test_an_unreachable_model_is_one_clear_line(data_dir: Path) -> None:
    env = {
        "PATH": "/usr/bin:/bin",
        "MEMORY_AGENT_BASE_URL": "http://127.0.0.1:9/v1",
        "MEMORY_AGENT_REQUEST_TIMEOUT": "5",
        "HOME": str(data_dir.parent),
    }
    result = subprocess.run(
        [
            *cli_command(data_dir, "chat", "--user", "zed", "--thread", "t1"),
            "hello",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == (
        "error: Could not reach the model server (connection failed): check the base URL."
    )
    assert "Traceback" not in result.stderr


def test_bad_flags_exit_with_usage() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "memory_agent", "memories", "list", "--format", "xml"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert "invalid choice: 'xml'" in result.stderr


def test_help_names_the_command_the_user_typed(tmp_path: Path) -> None:
    # The installed command is the script pip writes for ``[project.scripts]``: the same here.
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    module, function = scripts["memory-agent"].split(":")
    command = tmp_path / "memory-agent"
    command.write_text(f"import sys\nfrom {module} import {function}\nsys.exit({function}())\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}  # as if installed: the checkout is importable
    for argv, usage in [
        ([sys.executable, str(command), "--help"], "usage: memory-agent [-h]"),
        ([sys.executable, "-m", "memory_agent", "--help"], "usage: python -m memory_agent [-h]"),
        ([sys.executable, str(command), "memories"], "usage: memory-agent memories [-h]"),
    ]:
        result = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=120)
        assert result.stdout.startswith(usage) or result.stderr.startswith(usage), argv


def test_pip_install_of_a_checkout_writes_nothing_in_it_and_installs_the_command(
    tmp_path: Path,
) -> None:
    """``langgraph dev`` restarts on any ``*.py`` written below the project, e.g. a build/ copy."""
    checkout, target = tmp_path / "checkout", tmp_path / "installed"
    skip = shutil.ignore_patterns(".git", "data", "__pycache__", ".*_cache", ".lang*", "test-*")
    shutil.copytree(ROOT, checkout, ignore=skip)
    before = sorted(p.relative_to(checkout) for p in checkout.rglob("*"))
    pip = [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation"]
    subprocess.run([*pip, "--target", str(target), str(checkout)], check=True, timeout=300)
    assert sorted(p.relative_to(checkout) for p in checkout.rglob("*")) == before
    env = {**os.environ, "PYTHONPATH": str(target)}
    command = [sys.executable, str(target / "bin" / "memory-agent"), "--help"]
    result = subprocess.run(command, capture_output=True, text=True, env=env, cwd=tmp_path)
    assert result.stdout.startswith("usage: memory-agent [-h]"), result.stderr


def test_where_the_data_is_may_also_follow_the_command(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """``chat --data-dir DIR`` is how people type it; given both ways, the later one counts."""
    data, other = tmp_path / "data", tmp_path / "other"
    assert main(["chat", "--data-dir", str(data), "I love sailing"]) == 0
    assert main(["--data-dir", str(other), "memories", "list", "--data-dir", str(data)]) == 0
    assert "User loves sailing" in capsys.readouterr().out
    assert not other.exists()  # nothing was opened where the earlier flag pointed
    assert main(["--data-dir", str(data), "memories", "list", "--format", "json"]) == 0
    assert "User loves sailing" in capsys.readouterr().out


def test_piped_lines_read_as_a_transcript(tmp_path: Path) -> None:
    """With input from a pipe nothing echoes what was read: the line is shown after its prompt."""
    done = subprocess.run(
        cli_command(tmp_path / "data", "chat"),
        input="hi\nI love tea\n",
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "you> hi\nHello!" in done.stdout
    assert "you> I love tea\nI'll remember that you love tea." in done.stdout
