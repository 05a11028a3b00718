"""The parameters of one call, read by the methods through typed accessors.

Query-string and form values arrive as strings, objects and arrays JSON-encoded, files as
:class:`Upload` parts. Each method reads what it uses with an explicit conversion
(``p.integer("offset")``, ``p.json("reply_markup")``, ``p.boolean("show_alert")``...), so
the emulator works the same with or without the official spec; when the spec is present it
has already validated and converted the values, and the accessors pass them through.

An accessor stores the converted value back, so the call log (``emu.calls``) shows Python
values in both modes. A value that does not convert gives 400, a missing required one too.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from dataclasses import field as dc_field
from typing import Any

from .errors import bad_request


@dataclass(frozen=True)
class Upload:
    """A file part of a multipart request (``InputFile``)."""

    filename: str
    content_type: str
    data: bytes = dc_field(repr=False)

    @property
    def size(self) -> int:
        return len(self.data)


class Params(dict[str, Any]):
    """A call's parameters (a dict) with typed, converting accessors.

    ``attachments`` holds the uploaded parts named by ``attach://<name>`` inside a JSON
    parameter (an InputMedia's ``media``): they are not parameters of their own.
    """

    def __init__(
        self,
        values: Mapping[str, Any] | None = None,
        *,
        attachments: Mapping[str, Upload] | None = None,
    ) -> None:
        super().__init__(values or {})
        self.attachments: dict[str, Upload] = dict(attachments or {})

    def attached(self, reference: str, field: str) -> Upload | str:
        """An InputMedia's file: the part ``attach://<name>`` names, else a file_id or URL."""
        if not reference.startswith("attach://"):
            return reference
        part = self.attachments.get(reference.removeprefix("attach://"))
        if part is None:
            raise bad_request(f'file "{reference}" for field "{field}" not found')
        return part

    def integer(self, name: str, default: Any = None, *, required: bool = False) -> Any:
        return self._read(name, default, required, to_int, "Integer")

    def boolean(self, name: str) -> bool:
        """Absent means False (as for every optional Boolean of the Bot API)."""
        return bool(self._read(name, False, False, to_bool, "Boolean"))

    def string(self, name: str, default: Any = None, *, required: bool = False) -> Any:
        return self._read(name, default, required, to_str, "String")

    def json(self, name: str, default: Any = None, *, required: bool = False) -> Any:
        """An object or array (JSON-encoded in forms, already decoded in JSON bodies)."""
        return self._read(name, default, required, from_json, "JSON-serialized object")

    def chat_id(self, name: str = "chat_id", *, required: bool = True) -> Any:
        """An integer id, or ``@username`` as a string."""
        return self._read(name, None, required, to_chat_id, "Integer or String")

    def file(self, name: str) -> Upload | str:
        """A required file: an upload, or a ``file_id``/URL string."""
        return self._read(name, None, True, to_file, "InputFile or String")

    def _read(
        self,
        name: str,
        default: Any,
        required: bool,
        convert: Callable[[Any], Any],
        type_name: str,
    ) -> Any:
        value = self.get(name)
        if value is None or (value == "" and convert is not to_str):
            if required:
                raise bad_request(empty_message(name))
            return default
        if isinstance(value, Upload) and convert is not to_file:
            raise bad_request(f'parameter "{name}" can\'t be a file upload')
        try:
            value = convert(value)
        except (TypeError, ValueError):
            raise bad_request(f'field "{name}" must be of type {type_name}') from None
        self[name] = value
        return value


# -- conversions (shared with spec.py); TypeError or ValueError when impossible -------------


def to_int(value: Any) -> int:
    if isinstance(value, bool):
        raise TypeError
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        return int(value.strip())
    raise TypeError


def to_float(value: Any) -> float:
    if isinstance(value, bool):
        raise TypeError
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        return float(value.strip())
    raise TypeError


def to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false", "1", "0"):
        return value.strip().lower() in ("true", "1")
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    raise TypeError


def to_str(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise TypeError


def from_json(value: Any) -> Any:
    if isinstance(value, str):
        value = json.loads(value)
    if not isinstance(value, dict | list):
        raise TypeError
    return value


def to_chat_id(value: Any) -> int | str:
    try:
        return to_int(value)
    except (TypeError, ValueError):
        return to_str(value)


def to_file(value: Any) -> Upload | str:
    return value if isinstance(value, Upload) else to_str(value)


_EMPTY = {
    "text": "message text is empty",
    "photo": "there is no photo in the request",
    "document": "there is no document in the request",
    "callback_query_id": "query_id is empty",
}


def empty_message(field: str) -> str:
    """Telegram's description for a missing required field (``Bad Request: ...``)."""
    return _EMPTY.get(field) or f"{field} is empty"
