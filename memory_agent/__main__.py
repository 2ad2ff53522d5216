"""``python -m memory_agent``: the command line (see ``memory_agent.cli``)."""

from memory_agent.cli import main

raise SystemExit(main(program="python -m memory_agent"))
