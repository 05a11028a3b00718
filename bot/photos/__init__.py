"""Photos: the image pipeline, stage by stage, the worker processes that run it, and the
store of files on disk.

Imports nothing of the product but ``bot.metrics``: no Telegram, no database.
"""
