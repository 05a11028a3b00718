"""The Bot API emulator (``bot/sandbox``) against the official spec: what it answers, and the
faults it plays as Telegram does.
"""
