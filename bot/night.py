"""Quiet hours: what a message nobody in its chat asked for just now does at night.

One table, `AT_NIGHT`, names every message the clock (a timer, the sweep, a report, the
sender) or another person's action sends someone in private, by its catalog key (or a name
of its own), and gives each one of three answers for quiet hours (docs/decisions.md has the
table with the reasons):

- URGENT: at once, with its sound (none of the clock's messages is; the class is kept so
  that a new message has to be put in one on purpose);
- SILENT: at once, without a sound (Telegram's `disable_notification`);
- MORNING: when quiet hours end, and then only if still true. A message whose words stay
  true is held in the outbox (`at_night`); one whose words may stop being true overnight is
  not written at all: its service asks `waits` and sets a timer that checks again then.

Messages to groups, and answers to what someone just did, are not this module's business,
but for the keys of `IN_GROUPS_TOO` (a call goes to groups and people alike, equally quiet).

Imports: the kernel (context), storage.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from bot.context import Env
from storage import Outgoing


class AtNight(StrEnum):
    """What a message does in quiet hours."""

    URGENT = "urgent"
    SILENT = "silent"
    MORNING = "morning"


URGENT, SILENT, MORNING = AtNight.URGENT, AtNight.SILENT, AtNight.MORNING

AT_NIGHT: dict[str, AtNight] = {
    # -- loop 1, requests: the sweep's timers -------------------------------------------------
    "schedule.escalated_citizen": MORNING,  # held: it stays true
    "schedule.escalated_area_admin": MORNING,  # re-checked: still nobody has claimed it
    "schedule.volunteer_due": MORNING,  # re-checked: the same claimer still holds it
    # ... unless the admins' alert would come first (a short due period): then at once
    "schedule.volunteer_due_before_the_admins": SILENT,
    "schedule.overdue_admin": MORNING,  # re-checked: still overdue with the same claimer
    # Without an admin chat, the centre's admins in private hold what it would have:
    "loop.admin_card": SILENT,  # a request's card (filed, climbed, released): theirs to act on
    "join.review": SILENT,  # a volunteer's registration, to its leader and area admins: theirs
    # The applicant's registration approved or rejected: news of their own ask, as a
    # request's news is (they may be up waiting for it).
    "join.decided": SILENT,
    "schedule.escalated_admin": MORNING,  # re-checked: their card still waits for a claim
    "schedule.claim_reminder": MORNING,  # re-checked: it still waits and has not climbed
    "admin.card_failed": SILENT,  # a card its group refused, with it: theirs to act on
    # A forum's topic gone or closed: its cards go to General meanwhile, /bind is theirs
    "admin.topic_gone": SILENT,
    "admin.topic_closed": SILENT,
    "schedule.rating_reminder": MORNING,  # its timer moves to the morning and re-checks
    "schedule.draft_nudge": MORNING,  # likewise
    "schedule.draft_expired": MORNING,  # held: it stays true (so does the form brought back)
    "schedule.auto_closed": MORNING,  # held, to the citizen
    "loop.follower_closed": MORNING,  # held, to the neighbours who joined the request
    "loop.formal_volunteer": MORNING,  # held: "you are a formal volunteer now"
    "report.digest": MORNING,  # held: the daily digest (and monthly) caught up at night
    # A request's news that someone's press (or an admin's command) sends another person: to
    # the citizen (claimed, released, done with "resolved?"), the claimer (not resolved,
    # cancelled; released on leaving a group), a neighbour who joined (each step): the other
    # side may be awake and waiting, as in the masked chat, and nobody is woken.
    "loop.news": SILENT,
    "casework.news": SILENT,  # an admin's /assign, /cancel, /reopen, /move, /toproblem: likewise
    # The centre's notices of loop 1, to its admins in private without an admin chat:
    "admin.reopened": MORNING,  # held: a citizen said "not resolved"; its new card goes as any
    "admin.group_added": SILENT,  # someone just added the bot, and may be binding it now
    "admin.group_lost": SILENT,  # the bot was removed: its requests moved, a group to bind
    "admin.group_lost_roles": SILENT,  # ... and the teams or units it served: likewise
    # A masked chat reported, to the centre's admins without an admin chat and to the
    # request's area admins: to read, and to act on with the claimer if need be; the chat is
    # ended already, so nobody is woken for it.
    "relay.reported_admin": SILENT,
    # The masked chat between citizen and claimer: a message passed on, and "the chat has
    # ended" to the side that did not end it; the other side may be awake and waiting.
    "relay.message": SILENT,
    "relay.ended": SILENT,
    # -- loop 2, activities ---------------------------------------------------------------------
    "signup.remind_day": MORNING,  # its timer moves to the morning and re-checks
    "signup.remind_hour": MORNING,  # likewise
    "calls.expired_notice": MORNING,  # held: how the call went stays true
    # An admin's call for volunteers now (the dike leaks at 23:00): its cards in the groups
    # and its copies in private go at once, for whoever is awake, but wake nobody; the
    # admin phones whom they must wake. (One of the few rules that reaches groups too.)
    "calls.sent": SILENT,
    # What an organiser's (or an admin's) press tells a volunteer of their hours, held: facts
    # (the Dispute button under credited hours keeps till the morning); "formal volunteer now"
    # that such hours earn is `loop.formal_volunteer`, held likewise.
    "attendance.credited": MORNING,  # hours credited, or too short to count, with Dispute
    "attendance.added_to_you": MORNING,  # /addhours
    "attendance.dispute_decided": MORNING,  # a dispute accepted or refused
    "attendance.dispute_for_you": SILENT,  # a dispute with Accept/Refuse: theirs to decide
    "attendance.checked_in_by_hand": SILENT,  # at an evening activity, where they are
    "calls.filled_notice": SILENT,  # a volunteer's answer filled the admin's call
    "calls.moved_up": SILENT,  # someone withdrew: a reserve is now needed
    "calls.cancelled_notice": SILENT,  # the admin called it off: do not come
    # What an organiser's (or another volunteer's) press tells those signed up: at once, so
    # that nobody comes to the wrong place or time, or misses a place; nobody is woken.
    "signup.promoted": SILENT,  # someone gave up a place (or places were added): it is yours
    "manage.cancelled_notice": SILENT,  # the activity is cancelled: do not come
    "edit.changed_notice": SILENT,  # its time, place or places changed
    "honours.told": MORNING,  # held: an honour recorded for the volunteer
    "honours.revoked_told": MORNING,  # held: an honour revoked
    # -- loop 3, supervision ------------------------------------------------------------------
    "dispatch.card": SILENT,  # a problem's card to the unit's people: theirs to act on
    "recheck.card": SILENT,  # a rectified problem's re-check to its inspector, likewise
    "dispatch.extension_granted_unit": MORNING,  # held, to the unit's people: a decision
    "dispatch.extension_refused_unit": MORNING,  # likewise
    "recheck.passed_unit": MORNING,  # likewise
    "recheck.rejected_unit": MORNING,  # likewise (its new deadline's clock runs on time)
    "bridge.passed": MORNING,  # held: to the citizen whose request it was, with the stars
    "dispatch.receive_late": MORNING,  # re-checked: still not received (no admin chat)
    "dispatch.no_chat": SILENT,  # an inspector's report: a unit without a chat, for an admin
    "dispatch.no_inspector": SILENT,  # a rectified problem nobody can re-check, likewise
    "dispatch.returned_admins": SILENT,  # "not ours", with a button per unit: to decide
    "dispatch.extension_admins": SILENT,  # more time asked, with Approve and Refuse: likewise
    "dispatch.card_failed": SILENT,  # the unit's chat refused its card: for an admin to fix
    "dispatch.recheck_failed": SILENT,  # the inspector could not be reached, likewise
    "clock.remind_unit": MORNING,  # re-checked: still being put right, the deadline ahead
    "clock.overdue_unit": MORNING,  # re-checked: still being put right, the same deadline
    "clock.overdue_admins": MORNING,  # likewise, to the admins without an admin chat
    "clock.escalated_area_admin": MORNING,  # likewise
    "clock.patrol": MORNING,  # held: the inspector's daily list
    "roster.told": MORNING,  # held: an admin made someone an inspector or a unit's member, or
    # ended it (their command menu changes at once)
    "sstats.weekly": MORNING,  # held: the weekly report caught up at night
    # -- the console: an admin's command to people in private ---------------------------------
    "roles.told": MORNING,  # held: made an area admin, or no longer (the menu changes at once)
    # A broadcast to an area's volunteers: at once, so that whoever is awake reads it, but it
    # wakes nobody, as a call does not (a call is the way to ask for people tonight).
    "broadcast.message": SILENT,
    # -- the sender, a group's move: to the centre's admins in private, with no admin chat -----
    "delivery.outage_over": MORNING,  # held: how long Telegram was away stays true
    "moves.category_group": MORNING,  # held: "put the group's new id in the file"
    # A card in a private chat (a request's with a centre admin, a problem's with a unit's
    # member or its inspector, a call's roster with its admin) posted again after its message
    # was deleted, as someone else's act redrew it: still theirs to act on.
    "sender.card_again": SILENT,
}

# Keys whose answer holds for a group's message too, not only for a person's in private.
IN_GROUPS_TOO = frozenset({"calls.sent"})


def quiet_until(at: float, start: time, end: time, tz: ZoneInfo) -> float | None:
    """If `at` falls in the quiet hours start-end (local, may span midnight), return when
    they end; else None. start == end means no quiet hours."""
    local = datetime.fromtimestamp(at, tz)
    now = local.time()
    if start == end:
        return None
    in_quiet = (start <= now or now < end) if start > end else (start <= now < end)
    if not in_quiet:
        return None
    day = local.date() if now < end else local.date() + timedelta(days=1)
    # The night the clocks go back, an `end` in the repeated hour comes twice: in the second
    # pass of that hour (fold 1) the quiet hours end at its second coming, not in the past.
    fold = local.fold if day == local.date() else 0
    return datetime.combine(day, end.replace(fold=fold), tz).timestamp()


def morning(env: Env, at: float | None = None) -> float | None:
    """When the quiet hours `at` (now) falls in end; None outside them."""
    schedule = env.config.schedule
    return quiet_until(env.now() if at is None else at, schedule.quiet_start,
                       schedule.quiet_end, env.config.timezone)


def waits(env: Env, key: str) -> float | None:
    """The morning, if a private message `key` sent now must wait for it; else None."""
    return morning(env) if AT_NIGHT[key] is MORNING else None


def at_night(env: Env, key: str, message: Outgoing) -> Outgoing:
    """The message as the table says for `key` now: unchanged by day, to a group, or when
    urgent; without a sound; or held in the outbox until the morning (without holding up
    what else goes to that chat)."""
    kind = AT_NIGHT[key]
    if (message.chat_id < 0 and key not in IN_GROUPS_TOO) or kind is URGENT:
        return message
    until = morning(env)
    if until is None:
        return message
    if kind is SILENT:
        return replace(message, payload={**message.payload, "disable_notification": True})
    if message.purpose != "notice" or message.not_before is not None:
        return message  # a card, or held already: not held twice
    return replace(message, purpose="quiet", not_before=until)


def all_at_night(env: Env, key: str, messages: Iterable[Outgoing]) -> list[Outgoing]:
    """`at_night` for each message."""
    return [at_night(env, key, message) for message in messages]
