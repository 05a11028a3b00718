"""The message catalogs (``bot/locales``): complete in both languages, valid Telegram HTML."""
