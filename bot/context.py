"""What every service needs: database, config, catalogs, clock, and a way to wake the sender."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.config import Config
from bot.i18n import Catalogs
from storage import Database, Repo, User


class Clock:
    """Wall-clock time; tests inject their own subclass to move time."""

    def now(self) -> float:
        """Return the current time as a Unix timestamp."""
        return time.time()


class ShiftedClock(Clock):
    """A clock that starts at a chosen moment and runs on at real speed.

    For demos, rehearsals and tests of the whole process: `python -m bot --clock <ISO time>`
    lets the bot live through 23:30 or New Year's Eve whatever the machine's clock says."""

    def __init__(self, start: float) -> None:
        self._began = time.monotonic()
        self._start = start

    def now(self) -> float:
        """Return the chosen moment plus the time since the clock was made."""
        return self._start + (time.monotonic() - self._began)


def days_between(earlier: float, later: float, zone: ZoneInfo) -> int:
    """Local calendar days from one moment to another, as a reader counts "N days ago"."""
    # 23:30 on the 1st seen at 00:10 on the 9th is eight days for the reader, not 7 x 24 h
    return (datetime.fromtimestamp(later, zone).date()
            - datetime.fromtimestamp(earlier, zone).date()).days


@dataclass(frozen=True)
class Topic:
    """A topic of a forum supergroup: where a command was typed, so where its answers go."""

    chat_id: int
    thread_id: int
    name: str = ""  # as its first message says, when the update quotes it


# Telegram's own accounts, named as the sender of what nobody is named for: 1087968824
# GroupAnonymousBot (an anonymous admin writing as the group), 136817688 Channel_Bot (a post
# as a channel), 777000 Telegram (a channel's post forwarded to its discussion group). None
# is a person: never recorded as one (bot/unit.py).
SERVICE_ACCOUNTS = frozenset({1087968824, 136817688, 777000})


@dataclass(frozen=True)
class Who:
    """The person behind an update, as the services need them."""

    user_id: int
    first_name: str
    username: str | None = None
    telegram_language: str | None = None
    private: bool = True  # spoke in their private chat with the bot (so we may write to them)
    topic: Topic | None = None  # spoke in a forum's topic (None: elsewhere, or General)


@dataclass(frozen=True)
class Answer:
    """What to show on a pressed button: a short toast, or an alert, maybe with a link."""

    text: str = ""
    alert: bool = False
    url: str | None = None


@dataclass
class Env:
    """The shared objects a service works with."""

    db: Database
    config: Config
    t: Catalogs
    clock: Clock = field(default_factory=Clock)
    wake_sender: Callable[[], None] = lambda: None
    bot_username: str = ""
    # Groups that became supergroups: old id → new id, as committed (bot/moves.py)
    moved_chats: dict[int, int] = field(default_factory=dict)

    def now(self) -> float:
        """Return the clock's current time."""
        return self.clock.now()

    def local_year(self) -> int:
        """Return the current year in the configured time zone."""
        return datetime.fromtimestamp(self.now(), self.config.timezone).year

    async def see(self, repo: Repo, who: Who) -> tuple[User, str]:
        """Record the user and return them with the language to answer in."""
        guess = self.t.language_for(None, who.telegram_language)
        user = await repo.people.see_user(
            who.user_id, who.first_name, who.username, guess, self.now(), private=who.private
        )
        return user, self.t.language_for(user.language, who.telegram_language)


@dataclass(frozen=True)
class Said:
    """One private message, reduced to what the conversation cares about."""

    kind: str  # text, photo, voice, location, contact, command, sticker, document, other
    text: str = ""
    file_id: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    phone: str | None = None
    contact_user_id: int | None = None
    media_group_id: str | None = None
    message_id: int | None = None  # in the sender's chat (a masked chat copies it from there)
    reply_thread: int | None = None  # the masked chat of the bot message it replies to
