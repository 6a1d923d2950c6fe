"""The conversations a private chat can be in: one enum, the only place a flow is named.

A private message goes to the flow of the user's `dialogs` row (bot/requests/intake.py routes
it). The values are what the table stores, so they never change once shipped.

Imports: the standard library only.
"""

from __future__ import annotations

from enum import StrEnum


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


# Long dialogs another may interrupt: they are stashed under it and come back after it, their
# question asked again (an inspector's visit: /due, or a re-check's Reject, comes in the
# middle of one; an activity being published: Nearest to me, a check-in …). A long dialog
# begun on top of another keeps that one too, so they stack; the rest are short, and one
# short dialog begun on another replaces it.
RESUMABLE = frozenset({Flow.INTAKE, Flow.JOIN, Flow.INSPECT, Flow.THEME, Flow.PUBLISH,
                       Flow.CALL, Flow.HONOUR})
