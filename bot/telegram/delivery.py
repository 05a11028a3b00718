"""What a failed Bot API call says about its message: sent or not, or nobody knows.

Telegram can carry a request out and lose the answer (a time-out, a dropped connection, a
5xx after sending): such a failure proves nothing. Only a refusal (4xx, 429) or a
connection that never reached Telegram proves the message was not sent.
"""

from __future__ import annotations

import httpx
from telegram.error import BadRequest, NetworkError, TelegramError


def never_left(error: TelegramError) -> bool:
    """The request never reached Telegram (refused connection, connect or pool time-out)."""
    cause = error.__cause__
    return isinstance(cause, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout)


def maybe_delivered(error: TelegramError) -> bool:
    """Telegram may have carried the request out although the call failed."""
    # BadRequest derives from NetworkError in PTB: a refusal, checked first.
    if isinstance(error, BadRequest) or not isinstance(error, NetworkError):
        return False
    return not never_left(error)
