"""What the organiser runs beside the bot: the consent register export, the posters, the pinned
install.
"""
