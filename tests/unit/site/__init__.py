"""The public site (``bot/gallery``) built and kept in step from the database."""
