"""The composition root: what builds and runs the bot.

``application`` builds PTB's Application and registers every handler and every job in one
module, read top to bottom; start-up and shutdown live in its ``post_init`` and
``post_shutdown``. Beside it: the command line (``cli``), the persistence of conversations
(``persistence``) and the webhook server (``webhook``).

May import anything of the product; nothing imports it (``bot.__init__`` aside, for the
``selfie-bot`` entry point).
"""
