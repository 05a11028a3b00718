"""The sandbox page and the public site in Debian's Chromium (Playwright), with axe's
accessibility checks.
"""
