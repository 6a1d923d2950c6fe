"""Everything that touches SQL: connection, migrations, repositories."""

from storage.db import Database
from storage.models import (
    Broadcast,
    Card,
    Dialog,
    Event,
    Job,
    MonthTheme,
    OutboxRow,
    Outgoing,
    Request,
    Timer,
    User,
    Volunteer,
)
from storage.repo import Repo
from storage.snapshot import SnapshotReader

__all__ = [
    "Broadcast", "Card", "Database", "Dialog", "Event", "Job", "MonthTheme", "OutboxRow",
    "Outgoing", "Repo", "Request", "SnapshotReader", "Timer", "User", "Volunteer",
]
