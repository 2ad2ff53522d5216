"""Conversations: their threads (list, rename, delete, fork), turns, and state snapshots."""
