"""Read-only views for the memory inspector: tables, rows and the graph drawing, no UI."""
