"""Alembic migrations, shipped inside the package; run them with :func:`models.db.upgrade`."""
