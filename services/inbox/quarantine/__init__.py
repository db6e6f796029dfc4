"""Emails that could not be parsed: kept raw, listed and downloadable for review."""
