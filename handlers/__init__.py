"""Telegram callbacks, one module per audience or flow: each reads the update, calls one
service and replies. Nothing here registers itself: :mod:`bot.app.application` wires every
handler and job, in the order PTB tries them.

May import ``bot.telegram``, ``bot.campaign``, ``bot.reports``, ``bot.ops``, ``bot.site``,
``bot.photos``, ``bot.services``, ``models`` and the shared modules; never ``bot.app``.
"""
