"""Unit tests: one part of the product at a time, in this process, with no server but the test
database (SQLite, PostgreSQL) and no subprocess. ``bash scripts/test --quick`` runs these.
"""
