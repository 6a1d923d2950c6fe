"""A local fake Telegram Bot API server for tests, the demo and benchmarks."""

from .actors import CallbackAnswer, Press, SimChat, SimUser
from .limits import Limits
from .messages import SimMessage
from .server import Sandbox, SandboxBug
from .spec import ApiError

__all__ = [
    "ApiError",
    "CallbackAnswer",
    "Limits",
    "Press",
    "Sandbox",
    "SandboxBug",
    "SimChat",
    "SimMessage",
    "SimUser",
]
