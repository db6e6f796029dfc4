"""Conversations: the agents' conversation API and the pure threading rules behind it."""
