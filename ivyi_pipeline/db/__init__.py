"""Persistence: the schema, engines and migrations."""
