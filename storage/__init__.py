"""Everything that touches SQL: connection, migrations, repositories."""

from storage.db import Database
from storage.models import (
    Card,
    Dialog,
    Event,
    OutboxRow,
    Outgoing,
    Request,
    Timer,
    User,
    Volunteer,
)
from storage.repo import Repo

__all__ = [
    "Card", "Database", "Dialog", "Event", "OutboxRow", "Outgoing", "Repo", "Request", "Timer",
    "User", "Volunteer",
]
