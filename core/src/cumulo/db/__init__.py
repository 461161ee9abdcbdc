"""Persistence: one DeclarativeBase, the engines, sessions and Alembic migrations."""
