"""Measured figures of selfie-bot, each a ratio against a baseline run side by side.

Run ``python -m benchmarks`` (``--quick`` for tiny inputs, ``--only NAME`` for one
figure). Never part of the test command: ``tests/e2e/test_benchmarks_smoke.py`` only checks
that each benchmark still runs, on tiny inputs, and asserts no timings.
"""
