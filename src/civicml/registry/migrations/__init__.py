"""Alembic migrations for the registry tables, run programmatically when a registry opens."""
