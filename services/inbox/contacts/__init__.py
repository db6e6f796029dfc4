"""Contacts and their identities: email addresses, phone and fax numbers."""
