"""Outbound email: replies and automatic messages, queued in the outbox and sent once."""
