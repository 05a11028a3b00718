"""A Telegram Bot API emulator for tests, benchmarks and the sandbox (see ../README.md).

Imports nothing of the product: it is Telegram, seen from outside.
"""

from .driver import Emulator
from .errors import ApiError
from .faults import Fault
from .limits import FloodLimits
from .server import Call
from .state import Chat, User

__all__ = ["ApiError", "Call", "Chat", "Emulator", "Fault", "FloodLimits", "User"]
