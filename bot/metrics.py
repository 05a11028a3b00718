"""The bot's Prometheus metrics, in the default registry, and the small hooks that feed them.

Labels hold statuses, outcomes, reason codes, update types, Bot API methods and error codes
only: never an id, a name or free text (a trade can be typed by an apprentice), so that a
scrape never carries personal data. The database gauges are refreshed by ``/metrics``
itself (:mod:`bot.ops.monitoring`), one GROUP BY per scrape. Only prometheus_client here: the
image worker processes import this module and must stay light.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from prometheus_client import Counter, Gauge, Histogram

UPDATES = Counter("selfie_bot_updates", "Telegram updates handled, by type.", ["type"])
UPDATE_SECONDS = Histogram(
    "selfie_bot_update_seconds",
    "Time to handle one update (its handlers), by type.",
    ["type"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
SUBMISSIONS = Gauge("selfie_bot_submissions", "Entries in the database, by status.", ["status"])
QUEUE_LENGTH = Gauge("selfie_bot_queue_length", "Approved entries waiting for a slot.")
NEXT_SLOT = Gauge(
    "selfie_bot_next_slot_timestamp_seconds", "When the next publication slot fires (unix time)."
)
PUBLISH_ATTEMPTS = Counter(
    "selfie_bot_publish_attempts",
    "Attempts to post an entry to the channel, by outcome.",
    ["outcome"],
)
SETTLED = Counter(
    "selfie_bot_unsure_posts",
    "Sends whose answer was lost, by what the search of the channel found: found and absent "
    "settled by the bot, undecided left to the moderators.",
    ["finding"],
)
DECISION_SECONDS = Histogram(
    "selfie_bot_moderation_decision_seconds",
    "Time from submission to a moderator's approval or refusal.",
    buckets=(60, 300, 900, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600, 86400, 2 * 86400, 7 * 86400),
)
IMAGE_SECONDS = Histogram(
    "selfie_bot_image_processing_seconds",
    "Time to check and process one uploaded photo (refused ones included).",
    buckets=(0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60),
)
IMAGE_REFUSALS = Counter(
    "selfie_bot_image_refusals", "Uploaded photos refused, by reason code.", ["reason"]
)
API_ERRORS = Counter(
    "selfie_bot_bot_api_errors",
    "Bot API calls that failed, by method and HTTP code (timeout, network: no answer).",
    ["method", "code"],
)


@contextmanager
def timed_update(kind: str) -> Iterator[None]:
    """Count an update of this kind and time its handling, whatever the handlers raise."""
    UPDATES.labels(type=kind).inc()
    start = time.perf_counter()
    try:
        yield
    finally:
        UPDATE_SECONDS.labels(type=kind).observe(time.perf_counter() - start)


@contextmanager
def timed_image() -> Iterator[None]:
    """Time one photo's processing."""
    start = time.perf_counter()
    try:
        yield
    finally:
        IMAGE_SECONDS.observe(time.perf_counter() - start)


def count_image_refusal(code: str) -> None:
    IMAGE_REFUSALS.labels(reason=code).inc()


def count_publish(outcome: str) -> None:
    PUBLISH_ATTEMPTS.labels(outcome=outcome).inc()


def count_settled(finding: str) -> None:
    SETTLED.labels(finding=finding).inc()


def observe_decision(seconds: float | None) -> None:
    if seconds is not None:
        DECISION_SECONDS.observe(seconds)
