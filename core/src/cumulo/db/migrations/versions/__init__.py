"""The core's revision files; Alembic loads them by path."""
