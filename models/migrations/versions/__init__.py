"""Revision files (Alembic ignores this ``__init__``; it only makes the folder a package)."""
