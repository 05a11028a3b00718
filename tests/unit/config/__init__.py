"""The configuration (``bot/config.py``) and the publication schedule
(``bot/campaign/schedule.py``)."""
