"""``python -m bot.sandbox``: see cli.py."""

from .cli import main

main()
