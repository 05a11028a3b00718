"""getUpdates' own connection, which gets polling past an update PTB cannot read.

PTB confirms a batch of updates only once it has parsed it whole (the next getUpdates'
``offset``); a batch it cannot parse it asks for again at once, forever, and no update
after it is ever handled. So a batch asked for twice at the same offset was not read: the
second time each of its updates is parsed alone, and one that fails is handed on as an
empty update of its id, which PTB confirms and no handler acts on. It is logged by id and
type (:func:`bot.app.logs.describe`), never quoted. Only that second answer is parsed
twice; every other costs a comparison of offsets.
"""

from __future__ import annotations

import json
import logging
from http import HTTPStatus
from typing import Any

from telegram import Update
from telegram.request import RequestData

from bot.app.logs import describe
from bot.ops.monitoring import CountingRequest

log = logging.getLogger(__name__)


class UpdatesRequest(CountingRequest):
    """The connection PTB's updater polls with (``get_updates_request``)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._unread_offset: object = None
        """The offset of the last answer that held updates; None once one held none."""

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        *args: Any,
        **kwargs: Any,
    ) -> tuple[int, bytes]:
        code, payload = await super().do_request(url, method, request_data, *args, **kwargs)
        offset = request_data.parameters.get("offset") if request_data is not None else None
        held = code == HTTPStatus.OK and b'"update_id"' in payload
        asked_again = held and offset is not None and offset == self._unread_offset
        self._unread_offset = offset if held else None
        return code, readable_answer(payload) if asked_again else payload


def readable_answer(payload: bytes) -> bytes:
    """getUpdates' answer with each update PTB cannot parse made an empty one of its id."""
    answer = json.loads(payload)
    answer["result"] = [readable(data) for data in answer.get("result", [])]
    return json.dumps(answer).encode()


def readable(data: Any) -> Any:
    """The update as Telegram sent it when PTB can parse it, else an empty one of its id."""
    try:
        Update.de_json(data, None)
    except Exception as error:
        problem = type(error).__name__
        log.warning("polling: update %s cannot be read (%s): skipped", describe(data), problem)
        return {"update_id": data["update_id"]} if _has_id(data) else data
    return data


def _has_id(data: Any) -> bool:
    return isinstance(data, dict) and type(data.get("update_id")) is int
