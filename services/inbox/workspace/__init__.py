"""The agents' workspace: notes, tags, dispositions, status, transfer, escalation, callbacks."""
