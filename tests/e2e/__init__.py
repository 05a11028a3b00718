"""End-to-end: ``selfie-bot`` and the sandbox as real subprocesses (CLI, run, kill -9, SIGTERM,
webhook, backup, systemd unit), the benchmarks and the chaos run on tiny inputs.
"""
