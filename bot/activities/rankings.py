"""Leaderboards (issue 15.8): the month's and the year's ranking of volunteers by verified
hours, and of teams by their members' hours; /ranking hide and /ranking show.

Verified hours are those /hours counts: a request's credited service hours, in the local
month (or year) they were credited, and an activity's confirmed hours, in the local month (or
year) the activity started; summed. Equal hours share a place. Names only, never a phone: the
name a volunteer registered with, else their Telegram first name; a volunteer who hid theirs
is "a volunteer", still counted. A team's members are its approved volunteers.

In private the asker also sees their own place (and their team's) when outside the top. In a
group the ranking is posted at most once per GROUP_REPEAT (its messages are for cards), with
no one's own place; a second ask within it is told so in private.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from bot import ui
from bot.activities.render import team_name
from bot.context import Env
from bot.people.roles import Roles
from bot.unit import ActorUnit
from storage import Ranked

TOP = 10
GROUP_REPEAT = 600.0  # seconds between two rankings posted in one group
GROUPS_KEPT = 10_000
FIRST_YEAR = 2000  # a year before this is taken for a typo
_MONTH = re.compile(r"^([0-9]{4})-([0-9]{1,2})$")
_YEAR = re.compile(r"^[0-9]{4}$")


@dataclass(frozen=True)
class Period:
    """A calendar month (month set) or year of the district's time zone."""

    year: int
    month: int | None  # None: the whole year
    start: float
    end: float


HIDE_WORDS = {"隐藏": "hide", "显示": "show"}


class Rankings:
    """/ranking: volunteers and teams by verified hours, a month or a year; hide and show."""

    def __init__(self, env: Env, roles: Roles) -> None:
        self.env = env
        self.roles = roles
        self._posted: dict[int, float] = {}  # group chat → when a ranking was last posted

    async def command(self, unit: ActorUnit, chat_id: int, private: bool,
                      args: list[str]) -> None:
        """/ranking [month|year] [YYYY-MM|YYYY], /ranking hide, /ranking show."""
        # A Chinese reader is told to send "/ranking 隐藏": no English word to type.
        words = [HIDE_WORDS.get(word.lower(), word.lower()) for word in args]
        if words in (["hide"], ["show"]):
            await self._hide(unit, chat_id, private, words[0] == "hide")
            return
        if private and not await self._may_see(unit):
            unit.send(ui.message(chat_id, unit.t("ranking.volunteers_only")))
            return
        period = self.period(words)
        if isinstance(period, str):
            self._tell(unit, chat_id, private, unit.t(f"ranking.{period}",
                                                      this_year=self._now().year))
            return
        if not private and self._posted_lately(unit, chat_id):
            return
        lines = await self._lines(unit, period, private)
        if not private:
            posted_at = unit.now()  # noted once queued for sure: a rerun answers again
            unit.after_commit(lambda: self._posted.__setitem__(chat_id, posted_at))
        unit.send([ui.message(chat_id, part) for part in ui.chunks(lines)])

    # -- which period --------------------------------------------------------------------------

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self.env.now(), self.env.config.timezone)

    def period(self, words: list[str]) -> Period | str:
        """The period the words name (default: this month), or the catalog key (under
        ranking.) of what is wrong with them."""
        now = self._now()
        kind = words[0] if words and words[0] in ("month", "year") else None
        rest = words[1:] if kind else words
        if len(rest) > 1:
            return "usage"
        if not rest:
            return self._period(now.year, now.month if kind != "year" else None)
        word = rest[0]
        month = _MONTH.match(word)
        if month is not None and kind != "year" and 1 <= int(month.group(2)) <= 12:
            year, number = int(month.group(1)), int(month.group(2))
            if year < FIRST_YEAR or (year, number) > (now.year, now.month):
                return "out_of_range"
            return self._period(year, number)
        if _YEAR.match(word) and kind != "month":
            if not FIRST_YEAR <= int(word) <= now.year:
                return "out_of_range"
            return self._period(int(word), None)
        return "usage"

    def _period(self, year: int, month: int | None) -> Period:
        zone = self.env.config.timezone
        if month is None:
            first, after = datetime(year, 1, 1, tzinfo=zone), datetime(year + 1, 1, 1,
                                                                       tzinfo=zone)
        else:
            first = datetime(year, month, 1, tzinfo=zone)
            after = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=zone)
        return Period(year, month, first.timestamp(), after.timestamp())

    def label(self, lang: str, period: Period) -> str:
        """"June 2026", "2026年6月"; "2026", "2026年"."""
        t = self.env.t
        if period.month is None:
            return t(lang, "ranking.year_label", year=period.year)
        return t(lang, "themes.month_label", year=period.year,
                 month=t(lang, f"months.{period.month}"))

    # -- the ranking ---------------------------------------------------------------------------

    async def _lines(self, unit: ActorUnit, period: Period, private: bool) -> list[str]:
        """The volunteers' top places and the teams', with the asker's own in private."""
        repo, user_id = unit.repo, unit.user_id
        label = self.label(unit.language, period)
        with repo.on_thread():  # ranks every volunteer: not on the event loop
            people, mine, counted = await repo.honours.volunteer_ranking(
                period.start, period.end, TOP, user_id)
        if not people:
            return [unit.t("ranking.empty", period=label)]
        lines = [unit.t("ranking.title", period=label)]
        for row in people:
            you = private and row.key == str(user_id)
            lines.append(unit.t("ranking.line", place=row.place, name=self._name(unit, row),
                                hours=_hours(row.hours))
                         + (unit.t("ranking.you") if you else ""))
        if private:
            if mine is None:
                lines.append(unit.t("ranking.you_none"))
            elif mine.place > TOP:
                lines.append(unit.t("ranking.your_place", place=mine.place, count=counted,
                                    hours=_hours(mine.hours)))
            if await repo.honours.hidden(user_id):
                lines.append(unit.t("ranking.you_hidden"))
        volunteer = await repo.volunteers.volunteer(user_id)
        team_id = volunteer.team_id if volunteer is not None else None
        with repo.on_thread():
            teams, my_team, _ = await repo.honours.team_ranking(period.start, period.end, TOP,
                                                                team_id)
        if teams:
            lines.append(unit.t("ranking.teams_title"))
            for row in teams:
                lines.append(unit.t("ranking.line", place=row.place,
                                    name=team_name(self.env, row.key, unit.language),
                                    hours=_hours(row.hours)))
            if private and my_team is not None and my_team.place > TOP:
                lines.append(unit.t("ranking.your_team", place=my_team.place,
                                    name=team_name(self.env, my_team.key, unit.language),
                                    hours=_hours(my_team.hours)))
        lines.append(unit.t("ranking.footer"))
        return lines

    def _name(self, unit: ActorUnit, row: Ranked) -> str:
        """A volunteer's name, or "a volunteer" if they hid it (or none is known)."""
        return unit.t("ranking.hidden_name") if row.hidden or not row.name else row.name

    async def _may_see(self, unit: ActorUnit) -> bool:
        """Volunteers and admins see the rankings in private."""
        volunteer = await unit.repo.volunteers.volunteer(unit.user_id)
        if volunteer is not None and volunteer.status == "approved":
            return True
        return await self.roles.of(unit.repo, unit.user_id) is not None

    def _posted_lately(self, unit: ActorUnit, chat_id: int) -> bool:
        """Whether a ranking was posted in this group less than GROUP_REPEAT ago (the asker
        is then told in private, if they have opened the bot; the group hears nothing)."""
        now = unit.now()
        last = self._posted.get(chat_id)
        if len(self._posted) > GROUPS_KEPT:  # forget the old ones: memory stays bounded
            self._posted = {c: at for c, at in self._posted.items() if now - at < GROUP_REPEAT}
        if last is None or now - last >= GROUP_REPEAT:
            return False
        zone = self.env.config.timezone
        self._tell(unit, chat_id, False, unit.t(
            "ranking.posted_lately", at=f"{datetime.fromtimestamp(last, zone):%H:%M}",
            next=f"{datetime.fromtimestamp(last + GROUP_REPEAT, zone):%H:%M}"))
        return True

    def _tell(self, unit: ActorUnit, chat_id: int, private: bool, text: str) -> None:
        """One line to the asker: in private, or from a group to their private chat (if they
        have opened the bot); a group hears nothing (its messages are for cards)."""
        if private:
            unit.send(ui.message(chat_id, text))
        elif unit.user is not None and unit.user.started and not unit.user.blocked:
            unit.send(ui.message(unit.user_id, text))

    # -- hiding one's name ---------------------------------------------------------------------

    async def _hide(self, unit: ActorUnit, chat_id: int, private: bool, hide: bool) -> None:
        """/ranking hide (or show): the name in rankings; the hours count either way."""
        repo = unit.repo
        if await repo.honours.hidden(unit.user_id) == hide:
            key = "ranking.already_hidden" if hide else "ranking.already_shown"
        else:
            await repo.honours.set_hidden(unit.user_id, hide, unit.now())
            key = "ranking.hidden" if hide else "ranking.shown"
        self._tell(unit, chat_id, private, unit.t(key))


def _hours(hours: float) -> str:
    """12.5 → "12.5", 3.0 → "3" (sums of quarter hours, rounded for the odd float)."""
    return f"{round(hours, 2):g}"
