"""Queues, their routing rules and business hours."""
