"""Telegram handlers, one module per audience or flow; ``register_handlers`` wires them."""

from __future__ import annotations

from telegram.ext import Application

from handlers import apprentice, errors, moderation


def register_handlers(application: Application) -> None:  # type: ignore[type-arg]
    apprentice.register(application)
    moderation.register(application)
    application.add_error_handler(errors.on_error)
