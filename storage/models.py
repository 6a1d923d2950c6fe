"""Plain records read from the database."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

# The request lifecycle. 'dispatched' waits for a claim (new or reopened), 'claimed' has a
# volunteer, 'done' waits for the citizen's answer, 'closed' and 'cancelled' are final.
DISPATCHED = "dispatched"
CLAIMED = "claimed"
DONE = "done"
CLOSED = "closed"
CANCELLED = "cancelled"
OPEN_STATUSES = (DISPATCHED, CLAIMED, DONE)
ALL_STATUSES = (DISPATCHED, CLAIMED, DONE, CLOSED, CANCELLED)


@dataclass(frozen=True)
class User:
    """A Telegram user the bot has seen."""

    user_id: int
    first_name: str
    username: str | None
    language: str | None
    started: bool
    blocked: bool
    consent: int = 0  # the version of the privacy notice they agreed to; 0: none yet


@dataclass(frozen=True)
class Request:
    """A citizen request and where it stands."""

    id: int
    ref: str
    citizen_id: int
    language: str
    category: str
    description: str
    photos: list[str]
    voice_file_id: str | None
    latitude: float | None
    longitude: float | None
    address: str | None
    phone: str | None
    status: str
    dispatch_chat_id: int | None
    card_chat_id: int | None
    card_message_id: int | None
    card_kind: str | None
    volunteer_id: int | None
    volunteer_name: str | None
    done_note: str | None
    done_photo: str | None
    rating: int | None
    comment: str | None
    closed_how: str | None
    cancelled_by: str | None
    reopen_count: int
    created_at: float
    updated_at: float
    claimed_at: float | None = None
    done_at: float | None = None
    closed_at: float | None = None
    escalation_level: int = 0
    extended: int = 0
    overdue_since: float | None = None
    area_id: str | None = None
    dispatch_area_id: str | None = None
    dispatched_at: float | None = None
    first_claimed_at: float | None = None
    first_done_at: float | None = None
    confirmed_at: float | None = None
    cancelled_at: float | None = None

    @classmethod
    def from_row(cls, row: Any) -> Request:
        """Build a Request from a `requests` row."""
        data = {name: row[name] for name in cls.__dataclass_fields__ if name != "photos"}
        return cls(photos=json.loads(row["photos"]), **data)


@dataclass(frozen=True)
class Dialog:
    """Where a user stands in a multi-step conversation, and what they have entered so far."""

    user_id: int
    flow: str
    step: str
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class OutboxRow:
    """One Bot API call waiting to be made."""

    id: int
    chat_id: int
    method: str
    payload: dict[str, Any]
    request_id: int | None
    purpose: str
    attempts: int
    not_before: float
    card_id: int | None
    queued: int = 1  # calls its chat had pending when it was read, itself included


@dataclass(frozen=True)
class Outgoing:
    """A Bot API call a unit of work wants made once it commits."""

    chat_id: int
    method: str
    payload: dict[str, Any]
    purpose: str = "notice"  # 'card' records the sent message on its card; 'card_edit' edits it
    request_id: int | None = None
    card_id: int | None = None
    not_before: float | None = None  # hold until then (quiet hours); None = at once


@dataclass(frozen=True)
class Timer:
    """Something the schedule must do at `due_at` unless it is cancelled first."""

    id: int
    kind: str
    request_id: int | None
    user_id: int | None
    due_at: float


@dataclass(frozen=True)
class Card:
    """A message showing a request in a chat, with a Claim button while it waits."""

    id: int
    request_id: int
    chat_id: int
    message_id: int | None
    kind: str
    role: str


@dataclass(frozen=True)
class Event:
    """One entry of a request's timeline."""

    request_id: int
    at: float
    kind: str
    actor_id: int | None
    detail: dict[str, Any] | None


@dataclass(frozen=True)
class Volunteer:
    """A registration: who, where, which team, and whether it was approved."""

    user_id: int
    name: str
    phone: str | None
    area_id: str | None
    team_id: str | None
    status: str
    reason: str | None


@dataclass(frozen=True)
class Job:
    """A piece of background work (a chart, an export) asked for by someone in a chat."""

    id: int
    kind: str
    chat_id: int
    user_id: int
    language: str
    params: dict[str, Any]
    attempts: int = 0


@dataclass(frozen=True)
class Broadcast:
    """A message to an area's volunteers, waiting for its author's Send."""

    id: int
    author_id: int
    area_id: str
    text: str
    status: str
    recipients: int | None


@dataclass(frozen=True)
class MonthTheme:
    """A month's theme set in the bot by a centre admin, and whether it is still in force."""

    id: int
    year: int
    month: int
    titles: dict[str, str]
    descriptions: dict[str, str]
    set_by: int
    set_at: float
    ended_how: str | None = None  # None: in force; 'replaced' or 'cleared'
