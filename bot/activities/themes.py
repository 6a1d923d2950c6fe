"""The month's theme (一月一主题): /theme for everyone, and the centre admins' short dialog that
sets a month's theme in the bot (where it wins over the themes file) or clears it.

The month is the configured time zone's, on the injected clock: it turns at local midnight.
A theme set in the bot is a row of `month_themes`, kept for good: setting another one ends it
as replaced, /theme clear as cleared. The dialog is a `dialogs` row like every other flow, so a
restart in the middle of it loses nothing.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot import buttons, ui
from bot.activities.themes_file import limit_of, text_problem
from bot.context import Answer, Env, Said
from bot.dialogs import Flow
from bot.people.roles import Roles
from bot.requests.loop import RequestLoop
from bot.unit import ActorUnit, Unit
from storage import Dialog, Outgoing, Repo

# The questions of the dialog, in order; each is the key its answer is kept under.
STEPS = ("title_zh", "title_en", "description_zh", "description_en")
PREVIEW = "preview"
# A theme may be set from this month up to two years ahead: the district plans a year at a
# time, and a typo such as 2207-03 should not quietly become a theme nobody will see.
MONTHS_AHEAD = 24
# In a group, the same /theme answer is posted at most once per 10 minutes: a group takes 20
# messages a minute and they are for cards (the answer before is still there to read).
GROUP_REPEAT = 600.0
GROUP_ANSWERS_KEPT = 10_000
_MONTH = re.compile(r"^([0-9]{4})-([0-9]{1,2})$")

Month = tuple[int, int]  # (year, month)


@dataclass(frozen=True)
class ShownTheme:
    """A month's theme in one language, as /theme shows it and activities default to it."""

    year: int
    month: int
    title: str
    description: str
    set_in_bot: bool  # set by a centre admin for this month, rather than the file's


def shifted(month: Month, by: int) -> Month:
    """The month `by` months after (or before) `month`."""
    index = month[0] * 12 + month[1] - 1 + by
    return index // 12, index % 12 + 1


class MonthThemes:
    """The themes of the months: shown, set and cleared; theme_of for the other services."""

    def __init__(self, env: Env, loop: RequestLoop, roles: Roles) -> None:
        self.env = env
        self.loop = loop  # its dialog helpers keep a request form under the theme's dialog
        self.roles = roles
        # Group chat → when /theme was last answered there, and with what.
        self._posted: dict[int, tuple[float, str]] = {}

    # -- what other services call ----------------------------------------------------------

    async def theme_of(self, unit: Unit, year: int, month: int, lang: str) -> ShownTheme | None:
        """The theme of a month in `lang`: the one a centre admin set in the bot, else the
        file's; None if there is neither."""
        return (await self._themes(unit.repo, [(year, month)], lang)).get((year, month))

    async def in_months(self, repo: Repo, months: list[Month], lang: str
                        ) -> dict[Month, ShownTheme]:
        """The themes of several months in `lang` (a job's read, outside a unit of work)."""
        return await self._themes(repo, months, lang)

    def this_month(self) -> Month:
        """The current month in the configured time zone, by the injected clock."""
        moment = datetime.fromtimestamp(self.env.now(), self.env.config.timezone)
        return moment.year, moment.month

    # -- /theme ----------------------------------------------------------------------------

    async def command(self, unit: ActorUnit, chat_id: int, private: bool,
                      args: list[str]) -> None:
        """/theme shows this month's theme and next month's; /theme set YYYY-MM and /theme
        clear YYYY-MM are the centre admins'."""
        action = args[0].lower() if args else ""
        if action not in ("set", "clear"):
            if args and private:
                unit.send(ui.message(chat_id, unit.t("themes.usage")))
            else:  # in a group, no usage lecture (its messages are for cards): just the theme
                await self._show(unit, chat_id, private)
            return
        if not self.roles.is_centre(unit.user_id):
            self._refuse(unit, chat_id, private)
            return
        month, problem = self._month_arg(unit, args[1:], action)
        if month is None:
            unit.send(ui.message(chat_id, problem))
            return
        if action == "clear":
            await self._clear(unit, chat_id, month)
        elif not private:
            unit.send(ui.message(chat_id, unit.t("themes.set_in_private",
                                                 month=_iso(month))))
        else:
            await self._start(unit, month)

    async def _show(self, unit: ActorUnit, chat_id: int, private: bool) -> None:
        """This month's theme in the person's language, and next month's as a preview."""
        now = self.this_month()
        following = shifted(now, 1)
        themes = await self._themes(unit.repo, [now, following], unit.language)
        current, upcoming = themes.get(now), themes.get(following)
        if current is None:
            lines = [unit.t("themes.none", month=self._label(unit.language, now))]
        else:
            lines = [unit.t("themes.this_month", month=self._label(unit.language, now),
                            title=current.title, description=current.description)]
        if upcoming is None:
            lines.append(unit.t("themes.next_none",
                                month=self._label(unit.language, following)))
        else:
            lines.append(unit.t("themes.next_month", month=self._label(unit.language, following),
                                title=upcoming.title))
        text = "\n\n".join(lines)
        if not private:
            if self._said_lately(chat_id, text):
                return
            posted_at = self.env.now()  # noted once queued for sure: a rerun answers again
            unit.after_commit(lambda: self._posted.__setitem__(chat_id, (posted_at, text)))
        unit.send(ui.message(chat_id, text))

    def _said_lately(self, chat_id: int, text: str) -> bool:
        """Whether this very answer was posted in this group less than GROUP_REPEAT ago."""
        now = self.env.now()
        last = self._posted.get(chat_id)
        if last is not None and last[1] == text and now - last[0] < GROUP_REPEAT:
            return True
        if len(self._posted) > GROUP_ANSWERS_KEPT:  # forget the old ones: memory stays bounded
            self._posted = {c: seen for c, seen in self._posted.items()
                            if now - seen[0] < GROUP_REPEAT}
        return False

    def _refuse(self, unit: ActorUnit, chat_id: int, private: bool) -> None:
        """Someone who is no centre admin asked to set or clear a theme: told in private
        (a group hears nothing: its messages are for cards), if they have opened the bot."""
        if private:
            unit.send(ui.message(chat_id, unit.t("themes.centre_only")))
        elif unit.user is not None and unit.user.started and not unit.user.blocked:
            unit.send(ui.message(unit.user_id, unit.t("themes.centre_only")))

    def _month_arg(self, unit: ActorUnit, args: list[str], action: str
                   ) -> tuple[Month | None, str]:
        """The YYYY-MM a set or clear names, or the one line that says what is wrong."""
        match = _MONTH.match(args[0]) if len(args) == 1 else None
        if match is None or not 1 <= int(match.group(2)) <= 12:
            return None, unit.t("themes.bad_month", action=action,
                                example=_iso(shifted(self.this_month(), 1)))
        month = int(match.group(1)), int(match.group(2))
        now = self.this_month()
        if month < now:
            return None, unit.t("themes.past", month=self._label(unit.language, month),
                                first=_iso(now))
        if month > shifted(now, MONTHS_AHEAD):
            return None, unit.t("themes.too_far", month=self._label(unit.language, month),
                                last=_iso(shifted(now, MONTHS_AHEAD)))
        return month, ""

    async def _clear(self, unit: ActorUnit, chat_id: int, month: Month) -> None:
        """/theme clear: the month goes back to the file's theme; the row stays, cleared."""
        label = self._label(unit.language, month)
        if not await unit.repo.themes.clear(*month, unit.user_id, unit.now()):
            unit.send(ui.message(chat_id, unit.t("themes.nothing_to_clear", month=label)))
            return
        fallback = self.env.config.activities.theme(month[1])
        text = (unit.t("themes.cleared", month=label, title=fallback.title(unit.language))
                if fallback is not None else unit.t("themes.cleared_none", month=label))
        unit.send(ui.message(chat_id, text))

    # -- the dialog that sets a month's theme ------------------------------------------------

    async def _start(self, unit: ActorUnit, month: Month) -> None:
        """Begin the dialog (a request form in progress is kept under it), or bring up the
        theme already begun: typed words are never dropped by typing the command again."""
        if await self._kept_again(unit, month):
            return
        data = {"id": secrets.token_hex(3), "year": month[0], "month": month[1]}
        await self.loop.push_dialog(unit, Flow.THEME, STEPS[0], data)
        shown = (await self._themes(unit.repo, [month], unit.language)).get(month)
        label = self._label(unit.language, month)
        lines = [unit.t("themes.setting", month=label)]
        if shown is not None:
            lines.append(unit.t("themes.replacing_bot" if shown.set_in_bot
                                else "themes.replacing_file", title=shown.title))
        lines.append(self._question(unit, STEPS[0]))
        unit.send(ui.message(unit.user_id, "\n".join(lines)))

    async def _kept_again(self, unit: ActorUnit, month: Month) -> bool:
        """A theme begun before, on top or kept under other dialogs, brought up with its
        answers and a line saying how to start afresh; False if none is (or only one of a
        month gone by, which could never be saved: it gives way to the new one)."""
        kept = await self.loop.kept(unit.repo, unit.user_id, Flow.THEME, None)
        if kept is None:
            return False
        begun = int(kept["year"]), int(kept["month"])
        if begun < self.this_month():
            return False
        command = f"/theme set {_iso(month)}"
        if begun == month:
            return await self.loop.form_again(unit, Flow.THEME, command)
        await self.loop.long_on_top(unit, Flow.THEME)
        unit.send(ui.message(unit.user_id, unit.t(
            "themes.kept_other", kept=self._label(unit.language, begun),
            month=self._label(unit.language, month), command=command)))
        await self.loop.back_to_draft(unit)
        return True

    async def on_message(self, unit: ActorUnit, dialog: Dialog, said: Said) -> list[Outgoing]:
        """A typed answer of the dialog: checked, kept, and the next question (or the
        preview) asked."""
        user_id, step = unit.user_id, dialog.step
        if step == PREVIEW:
            return [ui.message(user_id, unit.t("themes.use_buttons"))]
        if step not in STEPS:  # a step no version of this dialog has: start again cleanly
            await self.loop.pop_dialog(unit.repo, user_id, Flow.THEME)
            return [ui.message(user_id, unit.t("themes.dialog_lost"))]
        what = unit.t(f"themes.what.{step}")
        if said.kind == "command":
            return [ui.message(user_id, unit.t("themes.command_mid_dialog", what=what))]
        if not self.roles.is_centre(user_id):
            # No longer a centre admin: the dialog ends at the next answer, as Save would end
            # it, rather than take answers it can never save.
            await self.loop.pop_dialog(unit.repo, user_id, Flow.THEME)
            return [ui.message(user_id, unit.t("themes.ended_not_centre"))]
        problem = text_problem(said.text, limit_of(step)) if said.kind == "text" else "empty"
        if problem == "empty":
            return [ui.message(user_id, unit.t("themes.want_text", what=what))]
        if problem == "lines":
            return [ui.message(user_id, unit.t("themes.one_line", what=what))]
        if problem == "long":
            return [ui.message(user_id, unit.t("themes.too_long", what=what,
                                               count=ui.units(said.text.strip()),
                                               max=limit_of(step)))]
        data = {**dialog.data, step: said.text.strip()}
        following = STEPS[STEPS.index(step) + 1] if step != STEPS[-1] else PREVIEW
        await self.loop.move_dialog(unit.repo, dialog, following, data)
        return [self._ask(unit, following, data)]

    async def resumed(self, unit: ActorUnit, dialog: Dialog) -> list[Outgoing]:
        """The dialog back on top after one that came in its middle (Nearest to me, a
        check-in …) ended: which month's theme, and its question (or preview) again."""
        if dialog.step != PREVIEW and dialog.step not in STEPS:
            return []
        month = int(dialog.data["year"]), int(dialog.data["month"])
        return [ui.message(unit.user_id, unit.t("themes.back", month=self._label(
                    unit.language, month))),
                self._ask(unit, dialog.step, dialog.data)]

    def _ask(self, unit: ActorUnit, step: str, data: dict[str, Any]) -> Outgoing:
        """The question of a step, or the preview with Save and Cancel."""
        if step != PREVIEW:
            return ui.message(unit.user_id, self._question(unit, step))
        keyboard = ui.inline([[
            (unit.t("themes.save"), buttons.THEME.data(data["id"], "save")),
            (unit.t("themes.cancel"), buttons.THEME.data(data["id"], "cancel")),
        ]])
        return ui.message(unit.user_id, self._preview(unit, data), keyboard)

    async def decide(self, unit: ActorUnit, draft: str, save: bool, chat_id: int,
                     message_id: int) -> Answer:
        """Save or Cancel under the preview. A press is never trusted: the person, the dialog
        it belongs to and the month are checked again."""
        repo = unit.repo
        kept = await self.loop.pressed_form(unit, Flow.THEME, draft)
        if isinstance(kept, str):  # kept under another: it waits, unchanged
            return Answer(kept, alert=True)
        dialog = await repo.people.dialog(unit.user_id)
        ours = (dialog is not None and dialog.flow == Flow.THEME and dialog.step == PREVIEW
                and dialog.data.get("id") == draft)
        if not self.roles.is_centre(unit.user_id):
            if ours:  # no longer a centre admin: the dialog ends, and its preview says why
                draft_back = await self.loop.pop_dialog(repo, unit.user_id, Flow.THEME)
                unit.send(ui.edit_text(chat_id, message_id, unit.t("themes.ended_not_centre")))
                if draft_back:
                    await self.loop.back_to_draft(unit)
            return Answer(unit.t("themes.centre_only"), alert=True)
        if dialog is None or not ours:
            saved = await repo.themes.saved_by(draft, unit.user_id)
            if saved is not None:  # a second press of the same Save
                return Answer(unit.t("themes.already_saved", month=self._label(
                    unit.language, (saved.year, saved.month))), alert=True)
            return Answer(unit.t("themes.preview_closed"), alert=True)
        data = dialog.data
        month = int(data["year"]), int(data["month"])
        label = self._label(unit.language, month)
        draft_back = await self.loop.pop_dialog(repo, unit.user_id, Flow.THEME)
        if not save:
            unit.send(ui.edit_text(chat_id, message_id, unit.t("themes.cancelled",
                                                               month=label)))
            if draft_back:
                await self.loop.back_to_draft(unit)
            return Answer(unit.t("themes.cancelled_toast"))
        if month < self.this_month():  # the dialog outlived its month (restart-safe as it is)
            unit.send(ui.edit_text(chat_id, message_id, unit.t(
                "themes.past", month=label, first=_iso(self.this_month()))))
            if draft_back:
                await self.loop.back_to_draft(unit)
            return Answer(unit.t("themes.not_saved"), alert=True)
        repo.themes.set_theme(
            *month, {lang: data[f"title_{lang}"] for lang in ("zh", "en")},
            {lang: data[f"description_{lang}"] for lang in ("zh", "en")},
            draft, unit.user_id, unit.now())
        preview = self._preview(unit, data)
        unit.send(ui.edit_text(chat_id, message_id,
                               f"{preview}\n\n{unit.t('themes.saved', month=label)}"))
        if draft_back:
            await self.loop.back_to_draft(unit)
        return Answer(unit.t("themes.saved_toast", month=label))

    def _question(self, unit: ActorUnit, step: str) -> str:
        """The question of one step, with its number and the longest answer allowed."""
        return unit.t(f"themes.ask.{step}", step=STEPS.index(step) + 1, steps=len(STEPS),
                      max=limit_of(step))

    def _preview(self, unit: ActorUnit, data: dict[str, Any]) -> str:
        """The theme as typed, both languages, for the admin to check before saving."""
        month = int(data["year"]), int(data["month"])
        return unit.t("themes.preview", month=self._label(unit.language, month),
                      title_zh=data["title_zh"], description_zh=data["description_zh"],
                      title_en=data["title_en"], description_en=data["description_en"])

    # -- reading ---------------------------------------------------------------------------

    async def _themes(self, repo: Repo, months: list[Month], lang: str
                      ) -> dict[Month, ShownTheme]:
        """The theme of each month that has one: set in the bot, else from the file."""
        in_force = await repo.themes.in_force(months)
        found: dict[Month, ShownTheme] = {}
        for month in months:
            stored = in_force.get(month)
            if stored is not None:
                # Stored in zh and en; any other language is answered in the first.
                found[month] = ShownTheme(
                    *month, stored.titles.get(lang) or stored.titles["zh"],
                    stored.descriptions.get(lang) or stored.descriptions["zh"], set_in_bot=True)
                continue
            theme = self.env.config.activities.theme(month[1])
            if theme is not None:
                found[month] = ShownTheme(*month, theme.title(lang), theme.description(lang),
                                          set_in_bot=False)
        return found

    def _label(self, lang: str, month: Month) -> str:
        """"March 2027", "2027年3月"."""
        return self.env.t(lang, "themes.month_label", year=month[0],
                          month=self.env.t(lang, f"months.{month[1]}"))


def _iso(month: Month) -> str:
    """2027-03: how a month is typed after /theme set."""
    return f"{month[0]:04d}-{month[1]:02d}"
