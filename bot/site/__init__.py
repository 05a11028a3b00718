"""The public site: pages planned from the published entries (``pages``), rendered with
Jinja2 (``render``), written to disk atomically (``files``), kept in step with the channel
(``gallery``) with its live walls (``wall``), and previewed locally (``preview``).

May import ``bot.campaign``, ``bot.photos``, ``models`` and the shared modules; never
``telegram``.
"""
