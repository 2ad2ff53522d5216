"""What ``langgraph.json`` serves: the agent graph and the memory index's embedding.

LangGraph Server supplies the checkpointer and the store itself (with the vector index that
``langgraph.json`` configures), so the graph is compiled without them; its nodes get the server's
store injected exactly as they get ours in process. The embedding is chosen the same way as in
the app (``MEMORY_AGENT_EMBEDDING``), so recall scores match between the two modes.
``langgraph.json`` declares ``dims: 256`` (the offline embeddings' size); the embedding is checked
against ``MEMORY_AGENT_EMBEDDING_DIMS`` at import, which must then equal that file's ``dims``.
"""

from __future__ import annotations

from memory_agent.configuration import Configuration
from memory_agent.graph import build_graph
from memory_agent.models.embeddings import check_embedding_size, make_embeddings

graph = build_graph()
_settings = Configuration.from_runnable_config()
embeddings = make_embeddings(_settings)
check_embedding_size(embeddings, _settings)  # one line at start-up, naming both sizes
