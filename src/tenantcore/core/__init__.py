"""Shared infrastructure with no domain knowledge: database engine and sessions, the ORM base."""
