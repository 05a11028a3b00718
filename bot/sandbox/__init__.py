"""Try the bot without Telegram: the Bot API emulator (``emulator``, importing nothing of
the product) and the demo campaign served beside it with its page (``demo``, ``web``,
``samples``), started by ``python -m bot.sandbox`` or ``selfie-bot`` with no token.
"""
