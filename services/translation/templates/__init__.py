"""Bilingual approved scripts and auto-acknowledgements: syntax, rendering, twin rules and seeds."""
