"""Memory Agent: a LangGraph agent that remembers its users across conversations."""
