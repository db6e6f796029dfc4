"""API tokens: issue, list, revoke and verify."""
