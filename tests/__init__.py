"""The test suite, grouped like the code (tests/README.md says how to run it and what each
folder holds): ``unit/`` (one part at a time, in this process), ``emulator/`` (the Bot API
emulator itself), ``flows/`` (the real bot against the emulator, by audience), ``e2e/`` (real
subprocesses), ``browser/`` (Chromium), and ``support/`` (what they share)."""
