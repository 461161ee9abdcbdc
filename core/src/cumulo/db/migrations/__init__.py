"""Alembic environment and the core's revisions (branch ``cumulo``), loaded by path."""
