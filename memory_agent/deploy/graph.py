"""What ``langgraph.json`` serves: the agent graph and the memory index's embedding.

LangGraph Server supplies the checkpointer and the store itself (with the vector index that
``langgraph.json`` configures), so the graph is compiled without them; its nodes get the server's
store injected exactly as they get ours in process. The embedding is chosen the same way as in
the app (``MEMORY_AGENT_EMBEDDING``), so recall scores match between the two modes.
"""

from __future__ import annotations

from memory_agent.configuration import Configuration
from memory_agent.graph import build_graph
from memory_agent.models.embeddings import make_embeddings

graph = build_graph()
embeddings = make_embeddings(Configuration.from_runnable_config())
