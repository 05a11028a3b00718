"""The campaign's rules, with no Telegram in them: captions, consent, offers and the
interest links, retention dates, trade and centre matching, the publishing schedule,
links and slugs, and the draft lifecycle (a downloaded photo → pipeline → store → rows).

May import ``bot.photos``, ``models``, ``bot.config``, ``bot.i18n``; never ``telegram``.
"""
