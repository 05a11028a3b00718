"""The database layer (``models/``): tables, migrations, each status change's conditional
UPDATE, the counters, on SQLite and PostgreSQL.
"""
