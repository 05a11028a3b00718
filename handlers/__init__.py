"""Telegram handlers, one module per audience or flow; ``register_handlers`` wires them.

Order matters within a group: the conversation comes first, then the commands that work
outside it, then the catch-alls for stray messages and stale buttons.
"""

from __future__ import annotations

from telegram.ext import Application

from handlers import (
    account,
    apprentice,
    digest,
    erasure,
    errors,
    guard,
    interest,
    moderation,
    mydata,
    publishing,
    retention,
)


def register_handlers(application: Application) -> None:
    guard.register_first(application)
    interest.register(application)
    apprentice.register(application)
    erasure.register(application)
    account.register(application)
    mydata.register(application)
    moderation.register(application)
    publishing.register(application)
    retention.register(application)
    digest.register(application)
    account.register_last(application)
    guard.register_last(application)
    application.add_error_handler(errors.on_error)
