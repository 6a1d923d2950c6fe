"""Every inline button's callback data: the one table that builds, matches and parses it.

A prefix is written here and nowhere else. `CLAIM.data(42)` builds `claim:42`, refusing at
build time what Telegram would refuse (over 64 bytes) or what no handler would match;
`CLAIM.pattern` is what the Application routes on; `parse(data)` reads a press back into its
kind and arguments. A press is never trusted: it reaches its handler only when the message
it was pressed on carries its very data (handlers/errors.py `on_its_own_message`), and the
services re-check everything it names.

Imports: the standard library and bot.config (the languages) only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from bot.config import LANGUAGES

CALLBACK_DATA_MAX_BYTES = 64  # Telegram's limit for callback_data
ID = r"\d{1,12}"  # a row id
CODE = r"[a-z0-9_-]{1,32}"  # an area, team or category code (config and area file shapes)


@dataclass(frozen=True)
class ButtonKind:
    """One kind of button: its prefix and the shape of each argument after it."""

    prefix: str
    fields: tuple[str, ...]
    _regex: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        groups = "".join(f":({shape})" for shape in self.fields)
        object.__setattr__(self, "_regex", re.compile(f"^{re.escape(self.prefix)}{groups}$"))

    @property
    def pattern(self) -> str:
        """The regular expression a CallbackQueryHandler routes this kind on."""
        return self._regex.pattern

    def data(self, *args: object) -> str:
        """Build the callback data; refuse arguments of the wrong shape or over 64 bytes."""
        if len(args) != len(self.fields):
            raise ValueError(f"{self.prefix}: takes {len(self.fields)} arguments, got {args!r}")
        data = ":".join((self.prefix, *(str(arg) for arg in args)))
        if len(data.encode("utf-8")) > CALLBACK_DATA_MAX_BYTES:
            raise ValueError(f"callback data over {CALLBACK_DATA_MAX_BYTES} bytes: {data!r}")
        if not self._regex.match(data):
            raise ValueError(f"callback data no handler would match: {data!r}")
        return data

    def parse(self, data: str) -> tuple[str, ...] | None:
        """The arguments of a press of this kind, or None if the data is not of it."""
        match = self._regex.match(data)
        return match.groups() if match else None


KINDS: dict[str, ButtonKind] = {}


def kind(prefix: str, *fields: str) -> ButtonKind:
    """Declare a kind of button (each prefix once)."""
    if prefix in KINDS:
        raise ValueError(f"button prefix {prefix!r} is declared twice")
    KINDS[prefix] = ButtonKind(prefix, fields)
    return KINDS[prefix]


def parse(data: str | None) -> tuple[ButtonKind, tuple[str, ...]] | None:
    """Which kind a press is and its arguments; None for data no kind matches (old, forged)."""
    prefix = (data or "").partition(":")[0]
    button = KINDS.get(prefix)
    if button is None or data is None:
        return None
    args = button.parse(data)
    return None if args is None else (button, args)


# -- citizens: the menu, the language, the request form, their requests, rating ------------
MENU = kind("menu", "new|my|help")
LANGUAGE = kind("lang", "|".join(LANGUAGES))
# The form: in:<draft>:<action>:<argument> (a draft id keeps an old form's buttons apart).
FORM = kind("in", "[0-9a-f]{6}", "[a-z]{2,8}", "[a-z0-9_-]{0,32}")
CANCEL = kind("cancel", ID)
CANCEL_YES = kind("cancelok", ID)
CANCEL_NO = kind("cancelno", ID)
RESOLVED = kind("resolved", ID, "[yn]")
STARS = kind("star", ID, "[1-5]")
NO_COMMENT = kind("nocomment", ID)
# A neighbour who joined a request (the duplicate check) rates it, apart from its citizen.
FOLLOW_STARS = kind("fstar", ID, "[1-5]")
FORGET = kind("forget", "[yn]")
CONSENT = kind("consent", "[yn]")
# A helper who filed for a neighbour: resolved, confirmed with the neighbour by phone or in person.
VOUCH = kind("vouch", ID, "phone|in_person")
# The masked chat (issue 18.3): Message the volunteer / the citizen, on the citizen's claimed
# notice and the claimer's task (a request id); then, on a thread's relayed messages and
# prompts, Reply, End chat and Report, each asked twice (a thread id).
CHAT = kind("chat", ID)
THREAD = kind("thread", ID, "reply|end|endok|report|reportok|keep")

# -- volunteers: the card, the task, registration, hours ------------------------------------
CLAIM = kind("claim", ID)
RELEASE = kind("release", ID)
DONE = kind("done", ID)
DONE_WITHOUT_NOTE = kind("donenote", ID)
MORE_TIME = kind("moretime", ID)
DETAILS = kind("details", ID)
JOIN_INSTITUTE = kind("jinst", CODE)
JOIN_AREA = kind("jarea", CODE)
JOIN_TEAM = kind("jteam", CODE)
APPROVE = kind("vapprove", ID)
REJECT = kind("vreject", ID)
HOURS = kind("hours", ID, r"0\.5|1|2|3|other")

# -- admins ---------------------------------------------------------------------------------
BROADCAST = kind("bcast", ID, "send|cancel")
# Save or Cancel under a month theme's preview: theme:<dialog id>:<action>.
THEME = kind("theme", "[0-9a-f]{6}", "save|cancel")

# -- volunteer activities (loop 2) ---------------------------------------------------------
# The publishing dialog: act:<draft>:<action>:<argument>, as the request form.
ACTIVITY_FORM = kind("act", "[0-9a-f]{6}", "[a-z]{2,8}", "[a-z0-9_-]{0,32}")
SIGN_UP = kind("asign", ID)  # on a recruitment card: a place, or the waitlist when full
QUIT = kind("aquit", ID)  # a volunteer cancels their sign-up (or declines a place offered)
QUIT_YES = kind("aquitok", ID)
# An organiser's controls of one activity.
MANAGE = kind("aman", ID, "list|close|open|cancel|qrin|qrout|hand|confirm|edit")
CANCEL_ACTIVITY = kind("acancel", ID, "[yn]")
CHECK_IN_HERE = kind("aloc", ID)  # check in (or out) by sharing one's location
HAND = kind("ahand", ID, ID)  # the organiser checks a volunteer in by hand: activity, user
CONFIRM_HOURS = kind("aconf", ID)  # the organiser confirms the attendance list and its hours
DISPUTE = kind("adisp", ID)  # a volunteer disputes their hours of an activity (once)
DECIDE_DISPUTE = kind("adec", ID, "[yn]")  # the organiser accepts or refuses a dispute
EVENTS = kind("events", "near|all")  # /events: the nearest to me, or all by date
EVENT = kind("event", ID)  # one activity's details (and Sign up) from /events
EDIT_FIELD = kind("aedit", ID, "title|place|time|capacity|description")  # what to change

# -- recruitment calls (招募令) ---------------------------------------------------------------
# The admin's dialog: call:<draft>:<action>:<argument>, as the publishing dialog.
CALL_FORM = kind("call", "[0-9a-f]{6}", "[a-z]{2,8}", "[a-z0-9_-]{0,32}")
CALL_IN = kind("cin", ID)  # I'm in: on a call's card in a group, or its copy in private
CALL_OUT = kind("cout", ID)  # a responder can't come after all
CALL_MANAGE = kind("cman", ID, "close|cancel")  # the admin closes or cancels a call
CALL_CANCEL = kind("ccancel", ID, "[yn]")  # Yes or No under "Cancel this call?"
# -- honours (loop 2): the admins' dialog and revoking -------------------------------------
# hon:<draft>:<action>:<year>: a year, Save, Save and announce, Cancel under an honour's form.
HONOUR_FORM = kind("hon", "[0-9a-f]{6}", "year|save|announce|cancel", "[0-9]{0,4}")
REVOKE_HONOUR = kind("honrev", ID, "ask|y|n")  # revoke an honour: asked, then Yes or No

# -- supervision (loop 3) --------------------------------------------------------------------
# An inspector's visit: insp:<draft>:<action>:<argument> (a point id, a type code, a severity).
INSPECT = kind("insp", "[0-9a-f]{6}", "[a-z]{2,8}", "[a-z0-9_-]{0,32}")
# A problem's card in its unit's chat (or a member's copy): Received, Rectified, Not ours, Need
# more time.
PROBLEM = kind("prob", ID, "recv|fixed|notours|more")
RECHECK = kind("recheck", ID, "pass|reject")  # an inspector's re-check of a rectified problem
REASSIGN = kind("preas", ID, CODE)  # an admin gives a returned problem to this unit
EXTENSION = kind("pext", ID, "[yn]")  # an admin approves or refuses more time (the ask's id)
