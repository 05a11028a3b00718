"""What talks to Telegram: the publisher, moderation cards, removals, erasure, notices to
apprentices, delivery verdicts on errors, command menus, the catch-up job, per-user update
processing and the callback data of every button (``callbacks``).

May import ``bot.services``, ``bot.campaign``, ``bot.photos``, ``bot.site``, ``models``
and the shared modules; never ``handlers`` or ``bot.app``.
"""
