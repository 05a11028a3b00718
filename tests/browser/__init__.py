"""The sandbox page, the public site and its live walls in Debian's Chromium (Playwright),
with axe's accessibility checks.
"""
