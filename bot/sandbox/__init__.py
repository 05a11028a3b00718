"""A Telegram Bot API emulator for tests and the try-it-in-the-browser mode (see README.md)."""

from .cli import serve
from .driver import Emulator
from .errors import ApiError
from .faults import Fault
from .limits import FloodLimits
from .server import Call
from .state import Chat, User

__all__ = ["ApiError", "Call", "Chat", "Emulator", "Fault", "FloodLimits", "User", "serve"]
