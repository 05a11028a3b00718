"""The public site (``bot/site``) built and kept in step from the database."""
