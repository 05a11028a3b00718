"""selfie-bot: a Telegram bot for apprenticeship selfie campaigns."""

__version__ = "0.1.0"
