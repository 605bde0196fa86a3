"""Alembic migrations for every civicml table (registry, runs, bandits), one history, run
programmatically when a store opens (:func:`civicml.storage.upgrade`)."""
