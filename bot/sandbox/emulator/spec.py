"""The official Bot API specification, loaded at run time, and call validation against it.

The spec file (``shared/telegram-bot-api/api.min.json``) is never copied into the project: it
is found through an explicit path, the ``SELFIE_BOT_API_SPEC`` environment variable, or by
searching upward from this package and from the working directory. Without it the emulator
runs the same (the methods convert their parameters themselves, see params.py) and says once
that it does not validate.
"""

from __future__ import annotations

import functools
import json
import logging
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .errors import bad_request
from .params import Upload, empty_message, to_bool, to_float, to_int, to_str

log = logging.getLogger(__name__)

SPEC_ENV = "SELFIE_BOT_API_SPEC"
_RELATIVE = (
    Path("shared/telegram-bot-api/api.min.json"),
    Path("../shared/telegram-bot-api/api.min.json"),
)
_warned = False


def find_spec(spec_path: str | os.PathLike[str] | None = None) -> Path | None:
    """Where the spec is: the explicit path, else $SELFIE_BOT_API_SPEC, else an upward search."""
    if spec_path is not None:
        return Path(spec_path)
    env = os.environ.get(SPEC_ENV)
    if env:
        return Path(env)
    starts = [Path(__file__).resolve().parent, Path.cwd().resolve()]
    for start in starts:
        for folder in (start, *start.parents):
            for relative in _RELATIVE:
                candidate = folder / relative
                if candidate.is_file():
                    return candidate.resolve()
    return None


# PTB adds the application's Defaults (parse_mode…) to every method built on its shared
# send/edit helper, editMessageReplyMarkup included, which has no such field; Telegram
# ignores them there, so does the emulator. Any other unknown field is refused.
TOLERATED_DEFAULTS = frozenset(
    {"parse_mode", "disable_notification", "protect_content", "link_preview_options"}
)


@functools.lru_cache(maxsize=4)
def _parsed(path: Path, _mtime_ns: int, _size: int) -> dict[str, Any]:
    """The spec file parsed, once per process and version of the file: an emulator starts
    for every test of the suite, and parsing the spec took a tenth of a second each time.
    Read-only: nothing changes the methods and types once loaded."""
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


class ApiSpec:
    """Methods and types of the Bot API; validates and coerces the parameters of one call."""

    def __init__(self, methods: dict[str, Any], types: dict[str, Any], version: str) -> None:
        self.methods = methods
        self.types = types
        self.version = version

    @classmethod
    def load(cls, spec_path: str | os.PathLike[str] | None = None) -> ApiSpec | None:
        """Load the spec, or return None (with one warning per process) when it is absent."""
        global _warned
        path = find_spec(spec_path)
        if path is None or not path.is_file():
            if not _warned:
                log.warning(
                    "Bot API spec %s not found: the sandbox will NOT validate calls against it "
                    "(set %s)",
                    path or "(shared/telegram-bot-api/api.min.json)",
                    SPEC_ENV,
                )
                _warned = True
            return None
        stat = path.stat()
        data = _parsed(path.resolve(), stat.st_mtime_ns, stat.st_size)
        return cls(data["methods"], data["types"], data.get("version", "?"))

    def has_method(self, method: str) -> bool:
        return method in self.methods

    def validate(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        """Check a call against the spec; return the parameters converted to Python values.

        Unknown fields, missing required ones and values of the wrong type give 400, in the
        spirit of Telegram's descriptions (``Bad Request: chat_id is empty``...).
        """
        fields = {f["name"]: f for f in self.methods[method].get("fields", [])}
        for name in list(params):
            if name in fields:
                continue
            if name in TOLERATED_DEFAULTS:
                del params[name]
                continue
            raise bad_request(f'unknown parameter "{name}" for method {method}')
        out: dict[str, Any] = {}
        for name, field in fields.items():
            value = params.get(name)
            if value is None or (value == "" and field["types"] != ["String"]):
                if field["required"]:
                    raise bad_request(empty_message(name))
                continue
            out[name] = self._coerce_top(name, value, field["types"])
        return out

    # -- coercion -------------------------------------------------------------------------

    def _coerce_top(self, name: str, value: Any, types: list[str]) -> Any:
        """Form and query values are strings; objects and arrays arrive JSON-encoded."""
        if isinstance(value, Upload):
            if "InputFile" in types:
                return value
            raise bad_request(f'parameter "{name}" can\'t be a file upload')
        if isinstance(value, str) and _needs_json(types):
            try:
                value = json.loads(value)
            except ValueError:
                raise bad_request(f'can\'t parse "{name}" JSON object') from None
        try:
            return self._coerce(value, types, from_form=True)
        except TypeError:
            raise bad_request(f'field "{name}" must be of type {" or ".join(types)}') from None

    def _coerce(self, value: Any, types: list[str], from_form: bool = False) -> Any:
        for type_name in types:
            try:
                return self._coerce_one(value, type_name, from_form)
            except (TypeError, ValueError):
                continue
        raise TypeError("")

    def _coerce_one(self, value: Any, type_name: str, from_form: bool) -> Any:
        if type_name.startswith("Array of "):
            if not isinstance(value, list):
                raise TypeError
            inner = type_name.removeprefix("Array of ")
            return [self._coerce_one(item, inner, False) for item in value]
        if type_name == "Integer":
            return to_int(value)
        if type_name == "Float":
            return to_float(value)
        if type_name in ("Boolean", "True"):
            return to_bool(value)
        if type_name == "String":
            return to_str(value)
        if type_name == "InputFile":
            if isinstance(value, Upload):
                return value
            raise TypeError
        return self._coerce_object(value, type_name)

    def _coerce_object(self, value: Any, type_name: str) -> Any:
        if not isinstance(value, dict):
            raise TypeError
        spec = self.types.get(type_name)
        if spec is None:
            return value
        if spec.get("subtypes"):
            for sub in spec["subtypes"]:
                try:
                    return self._coerce_object(value, sub)
                except TypeError:
                    continue
            raise TypeError
        out = dict(value)
        for field in spec.get("fields", []):
            name = field["name"]
            if name not in value or value[name] is None:
                if field["required"]:
                    raise TypeError
                continue
            out[name] = self._coerce(value[name], field["types"])
        return out


def _needs_json(types: Iterable[str]) -> bool:
    simple = {"Integer", "Float", "Boolean", "True", "String", "InputFile"}
    return all(t not in simple for t in types)
