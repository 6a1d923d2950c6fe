"""Everything that touches SQL: connection, migrations, repositories."""

from storage.db import Database, Room
from storage.engine import is_full
from storage.models import (
    Activity,
    ActivityPost,
    Broadcast,
    Call,
    Card,
    Dialog,
    Event,
    Honour,
    IssuedRecord,
    Job,
    MonthTheme,
    OutboxRow,
    Outgoing,
    Problem,
    ProblemPost,
    Ranked,
    Request,
    Signup,
    Thread,
    ThreadMessage,
    Timer,
    User,
    Volunteer,
)
from storage.repo import Repo
from storage.repos.outbox import EDITED_CARD
from storage.snapshot import SnapshotReader

__all__ = [
    "EDITED_CARD", "Activity", "ActivityPost", "Broadcast", "Call", "Card", "Database",
    "Dialog", "Event",
    "Honour", "IssuedRecord", "Job", "MonthTheme", "OutboxRow", "Outgoing", "Problem",
    "ProblemPost", "Ranked", "Repo",
    "Request", "Room", "Signup", "SnapshotReader",
    "Thread", "ThreadMessage", "Timer", "User", "Volunteer", "is_full",
]
