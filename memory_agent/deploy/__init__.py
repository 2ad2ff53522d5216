"""What `langgraph.json` loads when LangGraph Server serves the agent."""
