"""The conversations a private chat can be in: one enum, the only place a flow is named.

A private message goes to the flow of the user's `dialogs` row (bot/requests/intake.py routes
it). The values are what the table stores, so they never change once shipped.

Imports: the standard library only.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class Flow(StrEnum):
    """A conversation held in the `dialogs` table."""

    INTAKE = "intake"  # a citizen's request form
    DONE_NOTE = "done"  # a volunteer's note (and hours) after Done
    COMMENT = "comment"  # a citizen's comment after rating
    JOIN = "join"  # a volunteer registration
    REJECT_REASON = "reject"  # an approver's reason for rejecting a registration
    THEME = "theme"  # a centre admin setting a month's theme (bot/activities/themes.py)
    PUBLISH = "publish"  # an organiser publishing an activity (bot/activities/publishing.py)
    CHECK_IN = "checkin"  # waiting for the location a volunteer checks in with (attendance.py)
    DISPUTE = "dispute"  # a volunteer's hours and reason disputing an activity's hours
    EDIT_ACTIVITY = "aedit"  # an organiser changing one detail of a published activity
    INSPECT = "inspect"  # an inspector's visit to a point (bot/supervision/reporting.py)
    PATROL = "patrol"  # /due waiting for the location that sorts the patrol list
    RECTIFY = "rectify"  # a unit's after photos and note (bot/supervision/dispatch.py)
    NOT_OURS = "notours"  # a unit's reason for returning a problem as not theirs
    EXTEND = "extend"  # a unit's reason and new date asking for more time
    REJECT_RECHECK = "recheck"  # an inspector's reason for rejecting a rectification
    EVENTS = "events"  # waiting for the location /events lists the nearest activities to
    CALL = "call"  # an admin writing a recruitment call (bot/activities/calls.py)
    HONOUR = "honour"  # an admin recording an honour on a volunteer's record (honours.py)
    RELAY = "relay"  # writing in a masked chat: each message goes to the other side (relay.py)


# Every dialog another comes in the middle of is kept under it and comes back after it, its
# question asked again ("Back to …"): a long one (a request form, a visit, an activity being
# published …) and a short one alike (a Done note, after photos half sent, a reason half
# given, writing in a masked chat): each holds something begun, which a press of another
# button must not lose. The one exception lives here: a lookup only waits for a location to
# sort a list (Nearest to me, /due's patrol list); nothing in it is the person's, so whatever
# comes next replaces it.
LOOKUPS = frozenset({Flow.EVENTS, Flow.PATROL})

# The dialogs that take each photo of an album as one of several (a request's, a problem's
# before or after photos, a masked chat's messages). In the others a photo is the whole
# answer (a closing note, a poster) or no answer at all: an album's first photo gets the
# reply, and the rest of the album none (requests/intake.py, Intake._answered_album).
ALBUMS = frozenset({Flow.INTAKE, Flow.INSPECT, Flow.RECTIFY, Flow.RELAY})

# What a short dialog is about, by the key of its data that names it: the same dialog about
# the same thing begun again starts afresh, one about another thing (the note of a second
# request, the after photos of a second problem) goes on top of it. A long dialog has no
# subject: begun again, it starts afresh wherever the old one lay.
SUBJECT: dict[str, str] = {
    Flow.DONE_NOTE: "request_id", Flow.COMMENT: "request_id", Flow.REJECT_REASON: "applicant",
    Flow.CHECK_IN: "activity", Flow.DISPUTE: "activity", Flow.EDIT_ACTIVITY: "activity",
    Flow.RECTIFY: "problem", Flow.NOT_OURS: "problem", Flow.EXTEND: "problem",
    Flow.REJECT_RECHECK: "problem", Flow.RELAY: "thread_id"}


def subject(flow: str, data: dict[str, Any]) -> tuple[str, Any]:
    """A dialog's flow and what it is about (a long dialog: its flow alone)."""
    return flow, data.get(SUBJECT[flow]) if flow in SUBJECT else None
