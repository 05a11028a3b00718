"""Webhook mode: Telegram posts each update to PTB's own webhook server (``run_webhook``).

PTB's request handler answers 403 to a request without the secret token, with a wrong one
or not in JSON, and reports each refusal through :meth:`tornado.web.RequestHandler.
log_exception`, which PTB routes to its ``telegram.ext.Updater`` logger at DEBUG with the
``HTTPError`` attached. :class:`RefusalCounter` counts those records on that logger: no PTB
class is replaced. The logger is opened at DEBUG for the filter to see them, and the filter
lets nothing below INFO through: PTB's DEBUG lines there quote whole updates (names, texts).
"""

from __future__ import annotations

import logging
from http import HTTPStatus

from prometheus_client import Counter

REFUSED = Counter(
    "selfie_webhook_refused",
    "Requests to the webhook refused (403): no secret token, a wrong one, or not JSON.",
)
"""On prometheus-client's default registry, so ``/metrics`` shows it."""

UPDATER_LOGGER = "telegram.ext.Updater"


def is_refusal(record: logging.LogRecord) -> bool:
    """A record of PTB's webhook handler for a request it answered 403."""
    error = record.exc_info[1] if record.exc_info else None
    return getattr(error, "status_code", None) == HTTPStatus.FORBIDDEN


class RefusalCounter(logging.Filter):
    """Counts the webhook's refusals; passes only INFO and above."""

    def filter(self, record: logging.LogRecord) -> bool:
        if is_refusal(record):
            REFUSED.inc()
        return record.levelno >= logging.INFO


def count_refusals() -> None:
    """Install the counter on PTB's updater logger (once, whatever the number of calls)."""
    logger = logging.getLogger(UPDATER_LOGGER)
    if not any(isinstance(f, RefusalCounter) for f in logger.filters):
        logger.addFilter(RefusalCounter())
    logger.setLevel(logging.DEBUG)
