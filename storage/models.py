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

# Requests filed through the public API (bot/web/open311.py) belong to one pseudo user per
# client, with an id no Telegram chat can have (Telegram's ids fit in 52 bits, groups' too):
# the outbox never queues a call to one (storage/repos/outbox.py).
API_CLIENT_IDS_BELOW = -(2**53)


def is_api_client(chat_id: int) -> bool:
    """Say whether an id is an API client's pseudo user, whom no message can reach."""
    return chat_id <= API_CLIENT_IDS_BELOW


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
    followers: int = 0  # neighbours who joined it at intake (the duplicate check)
    on_behalf: int = 0  # filed by a helper for a neighbour (migration 021)
    for_name: str | None = None  # the neighbour's name, for the helper's messages and the claimer
    for_address: str | None = None  # the neighbour's address, for the claimer only
    helper_phone: str | None = None  # the helper's own number, if they chose to give it
    confirmed_via: str | None = None  # how the helper got the neighbour's word: phone, in_person
    share_phone: int = 1  # 0: the citizen chose to talk through the bot only (migration 022)

    @classmethod
    def from_row(cls, row: Any) -> Request:
        """Build a Request from a `requests` row."""
        data = {name: row[name] for name in cls.__dataclass_fields__ if name != "photos"}
        return cls(photos=json.loads(row["photos"]), **data)


@dataclass(frozen=True)
class Thread:
    """The masked chat of one claim of a request: its citizen and its claimer."""

    id: int
    request_id: int
    citizen_id: int
    volunteer_id: int
    claimed_at: float
    opened_at: float
    ended_at: float | None = None
    ended_by: int | None = None
    reported_at: float | None = None
    reported_by: int | None = None

    @classmethod
    def from_row(cls, row: Any) -> Thread:
        """Build a Thread from a `threads` row."""
        return cls(**{name: row[name] for name in cls.__dataclass_fields__})


@dataclass(frozen=True)
class ThreadMessage:
    """One message relayed in a thread, as kept for an admin reading a reported thread."""

    id: int
    thread_id: int
    sender_id: int
    kind: str  # text | photo | voice
    text: str
    file_id: str | None
    sent_at: float


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
    post_id: int | None = None  # an activity's recruitment card (storage/repos/activities.py)
    problem_post_id: int | None = None  # a supervision problem's card (repos/supervision.py)
    honour_post_id: int | None = None  # an honour's announcement (storage/repos/honours.py)


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
    # 'post' records the sent message on an activity's recruitment card; 'editPost' edits it.
    post_id: int | None = None
    # 'problem_post' records it on a supervision problem's card; 'editProblemPost' edits it.
    problem_post_id: int | None = None
    # 'honour_post' records it on an honour's announcement (revoking the honour edits it).
    honour_post_id: int | None = None


@dataclass(frozen=True)
class Timer:
    """Something the schedule must do at `due_at` unless it is cancelled first."""

    id: int
    kind: str
    request_id: int | None
    user_id: int | None
    due_at: float
    activity_id: int | None = None
    problem_id: int | None = None


@dataclass(frozen=True)
class Card:
    """A message showing a request in a chat, with a Claim button while it waits."""

    id: int
    request_id: int
    chat_id: int
    message_id: int | None
    kind: str
    role: str
    # Its message stayed in a group that became a supergroup: message_id is not the card's in
    # chat_id (the supergroup numbers its own), so nothing there is edited for it.
    left_behind: bool = False
    # The forum topic it was posted in (None: General, or a chat without topics); what is
    # said about the card goes there, wherever its binding points now.
    thread_id: int | None = None


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


# An activity takes sign-ups while open; closed: the organiser closed sign-up; cancelled.
ACTIVITY_OPEN = "open"
ACTIVITY_CLOSED = "closed"
ACTIVITY_CANCELLED = "cancelled"
# A sign-up holds a place, waits for one, or was cancelled.
SIGNED = "signed"
WAITING = "waiting"
SIGNUP_CANCELLED = "cancelled"


@dataclass(frozen=True)
class Activity:
    """A volunteer activity published for a team (loop 2)."""

    id: int
    draft: str
    organiser_id: int
    team_id: str
    area_id: str | None
    title: str
    theme_year: int | None
    theme_month: int | None
    place: str
    latitude: float | None
    longitude: float | None
    starts_at: float
    ends_at: float
    capacity: int
    leader_id: int
    poster: str | None
    description: str
    language: str
    status: str
    created_at: float
    cancel_reason: str | None = None
    confirmed_at: float | None = None  # the attendance list confirmed
    kind: str = "activity"  # or "call": a recruitment call (bot/activities/calls.py)
    signed: int = 0  # volunteers holding a place (when read with the counts)
    waiting: int = 0  # volunteers on the waitlist

    @property
    def is_call(self) -> bool:
        """Whether this is a recruitment call rather than a published activity."""
        return self.kind == "call"

    @property
    def places_left(self) -> int:
        """Places still free (never below 0: a capacity lowered under the sign-ups)."""
        return max(0, self.capacity - self.signed)

    @classmethod
    def from_row(cls, row: Any) -> Activity:
        keys = row.keys()
        return cls(
            id=row["id"], draft=row["draft"], organiser_id=row["organiser_id"],
            team_id=row["team_id"], area_id=row["area_id"], title=row["title"],
            theme_year=row["theme_year"], theme_month=row["theme_month"], place=row["place"],
            latitude=row["latitude"], longitude=row["longitude"], starts_at=row["starts_at"],
            ends_at=row["ends_at"], capacity=row["capacity"], leader_id=row["leader_id"],
            poster=row["poster"], description=row["description"], language=row["language"],
            status=row["status"], created_at=row["created_at"],
            cancel_reason=row["cancel_reason"],
            confirmed_at=row["confirmed_at"] if "confirmed_at" in keys else None,
            kind=row["kind"] if "kind" in keys else "activity",
            signed=row["signed"] if "signed" in keys else 0,
            waiting=row["waiting"] if "waiting" in keys else 0,
        )


@dataclass(frozen=True)
class Signup:
    """A volunteer's sign-up for an activity, with their check-in and check-out."""

    id: int
    activity_id: int
    user_id: int
    status: str
    joined_at: float
    checked_in_at: float | None = None
    checked_in_how: str | None = None
    checked_out_at: float | None = None
    checked_out_how: str | None = None
    no_show: bool = False


@dataclass(frozen=True)
class ActivityHours:
    """Hours credited for an activity (from check-in, or added by hand with a reason)."""

    id: int
    activity_id: int
    user_id: int
    hours: float
    source: str
    reason: str | None
    year: int
    status: str


@dataclass(frozen=True)
class ActivityPost:
    """A recruitment card of an activity in a group."""

    id: int
    activity_id: int
    chat_id: int
    message_id: int | None
    kind: str
    left_behind: bool = False  # as a request's card's (Card.left_behind)
    thread_id: int | None = None  # as a request's card's (Card.thread_id)


@dataclass(frozen=True)
class Call:
    """What only a recruitment call has (its activity row holds the rest): to whom it went,
    the admin's live roster, and how it ended."""

    activity_id: int
    district: bool
    areas: tuple[str, ...]
    teams: tuple[str, ...]
    roster_post: int | None
    groups: int
    people: int
    silent: bool
    filled_at: float | None
    outcome: str | None  # None: open; 'closed', 'expired' or 'cancelled'

    @classmethod
    def from_row(cls, row: Any) -> Call:
        return cls(
            activity_id=row["activity_id"], district=bool(row["district"]),
            areas=tuple(json.loads(row["areas"])), teams=tuple(json.loads(row["teams"])),
            roster_post=row["roster_post"], groups=row["groups"], people=row["people"],
            silent=bool(row["silent"]), filled_at=row["filled_at"], outcome=row["outcome"])


@dataclass(frozen=True)
class Honour:
    """An honour recorded on a volunteer's record (最美志愿者 and the like); never deleted."""

    id: int
    user_id: int
    title: str
    year: int
    citation: str
    awarded_by: int
    awarded_at: float
    announced_at: float | None = None
    revoked_by: int | None = None
    revoked_at: float | None = None


@dataclass(frozen=True)
class Ranked:
    """One row of a ranking: a volunteer (or a team) with their place and hours."""

    place: int  # 1 for the most hours; equal hours share a place
    key: str  # the volunteer's user id, or the team's id
    hours: float
    name: str = ""  # the volunteer's name ('' if none is known); '' for a team
    hidden: bool = False  # the volunteer asked to hide their name (/ranking hide)


@dataclass(frozen=True)
class IssuedRecord:
    """A service record the bot issued: its verification code, whose, when, what it said."""

    code: str
    user_id: int
    issued_at: float
    content_hash: str


# A supervision problem's life (loop 3): sent to the unit, received by it, rectified (waiting
# for the re-check), passed; or returned by a unit that says it is not theirs.
PROBLEM_DISPATCHED = "dispatched"
PROBLEM_RECEIVED = "received"
PROBLEM_RECTIFIED = "rectified"
PROBLEM_PASSED = "passed"
PROBLEM_RETURNED = "returned"


@dataclass(frozen=True)
class Problem:
    """A problem an inspector found at a point, and where it stands with its unit."""

    id: int
    ref: str
    visit_id: int
    point_id: str
    unit_id: str
    area_id: str | None
    group_id: int | None
    type: str
    severity: str
    note: str
    before_photos: tuple[str, ...]
    after_photos: tuple[str, ...]
    rectify_note: str | None
    status: str
    reported_by: int
    reported_at: float
    receive_due: float
    received_at: float | None
    due_at: float | None
    rectified_at: float | None
    passed_at: float | None
    rejections: int
    extensions: int
    received_by: int | None = None
    passed_by: int | None = None
    request_id: int | None = None  # made from a citizen's request (/toproblem, issue 16.8)

    @classmethod
    def from_row(cls, row: Any) -> Problem:
        return cls(
            id=row["id"], ref=row["ref"], visit_id=row["visit_id"], point_id=row["point_id"],
            unit_id=row["unit_id"], area_id=row["area_id"], group_id=row["group_id"],
            type=row["type"], severity=row["severity"], note=row["note"],
            before_photos=tuple(json.loads(row["before_photos"])),
            after_photos=tuple(json.loads(row["after_photos"])),
            rectify_note=row["rectify_note"], status=row["status"],
            reported_by=row["reported_by"], reported_at=row["reported_at"],
            receive_due=row["receive_due"], received_at=row["received_at"],
            due_at=row["due_at"], rectified_at=row["rectified_at"], passed_at=row["passed_at"],
            rejections=row["rejections"], extensions=row["extensions"],
            received_by=row["received_by"], passed_by=row["passed_by"],
            request_id=row["request_id"])


@dataclass(frozen=True)
class ProblemPost:
    """A problem's card in a chat: the unit's (its chat, or a member's private copy), or an
    inspector's re-check; its message id once sent, and when it stopped being redrawn."""

    id: int
    problem_id: int
    chat_id: int
    message_id: int | None
    role: str  # unit, admins, recheck
    ended_at: float | None
    left_behind: bool = False  # as a request's card's (Card.left_behind)
    thread_id: int | None = None  # as a request's card's (Card.thread_id)


@dataclass(frozen=True)
class Visit:
    """An inspector's visit to a point: the problems found there, or all clear."""

    id: int
    point_id: str
    inspector_id: int
    group_id: int | None
    started_at: float
    ended_at: float | None
    all_clear: bool
    problems: int
