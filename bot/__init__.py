"""selfie-bot: a Telegram bot for apprenticeship selfie campaigns."""

__version__ = "0.1.0"


def main() -> int:
    """The ``selfie-bot`` command.

    Its script imports this package only: image worker processes (``bot.photos.workers``)
    re-import the script that started the bot, and would otherwise load the whole bot
    (Telegram, SQLAlchemy, pydantic: ~28 MB more per worker) to process a photo.
    """
    from bot.app.cli import main as run

    return run()
