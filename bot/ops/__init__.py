"""Running the campaign: backup and restore, export, monitoring (/healthz, /metrics), the
retention purge, printable posters.

May import ``bot.services``, ``bot.campaign``, ``bot.photos``, ``bot.site``, ``models`` and
the shared modules; never ``handlers`` or ``bot.app``.
"""
