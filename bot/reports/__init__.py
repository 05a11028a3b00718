"""What the staff reads: the texts of /queue and /stats, their chart, the weekly digest.

May import ``bot.services``, ``bot.campaign``, ``models`` and the shared modules; never
``telegram``: handlers send what is written here.
"""
