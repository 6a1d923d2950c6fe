"""A person's own data (China's Personal Information Protection Law, and the GDPR alike):
/mydata sends them everything held about them, /forget clears it after a confirmation.

/forget clears the profile, the volunteer record's name and phone, and every personal field of
the requests they filed (description, photos, voice, phone, address, point, comment); what is
left (category, area, times, outcome, rating) names nobody, so the statistics stay whole. It
waits while a request of theirs is still open: a volunteer may be on the way.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from bot import buttons, ui
from bot.context import Answer, Env
from bot.i18n import day_and_time
from bot.requests import render
from bot.unit import ActorUnit
from storage import Outgoing

# The privacy notice's version: a person agrees to one before their first request, and again
# when it says something new (raise this when the notice's meaning changes).
NOTICE_VERSION = 2  # 2: the phone as a choice, the duplicate check, the masked chat


def privacy_notice(env: Env, lang: str, chat_id: int) -> Outgoing:
    """What a request collects, who sees it and for how long, with I agree and Not now."""
    days = env.config.retention.contact_days
    keep = (env.t(lang, "privacy.keep_days", days=days) if days
            else env.t(lang, "privacy.keep_forever"))
    keyboard = ui.inline([[(env.t(lang, "privacy.agree"), buttons.CONSENT.data("y"))],
                          [(env.t(lang, "privacy.decline"), buttons.CONSENT.data("n"))]])
    return ui.message(chat_id, env.t(lang, "privacy.notice", keep=keep), keyboard)


class PersonalData:
    """/mydata and /forget."""

    def __init__(self, env: Env) -> None:
        self.env = env

    async def show(self, unit: ActorUnit) -> None:
        """Everything held about the sender: a readable summary and the whole as JSON."""
        env, lang = self.env, unit.language
        data = await unit.repo.people.everything_about(unit.user_id)
        lines = [unit.t("mydata.title")]
        user = data["user"] or {}
        lines.append(unit.t("mydata.profile", name=user.get("first_name") or "—",
                            username=user.get("username") or "—",
                            lang_name=unit.t(f"mydata.language.{lang}")))
        volunteer = data["volunteer"]
        if volunteer:
            lines.append(unit.t("mydata.volunteer", name=volunteer["name"] or "—",
                                phone=volunteer["phone"] or "—",
                                status=unit.t(f"join.status.{volunteer['status']}")))
        for row in data["requests"]:
            lines.append(unit.t(
                "mydata.request", ref=row["ref"],
                category=render.category_name(env, row["category"], lang),
                status=render.status_name(env, row["status"], lang),
                phone=row["phone"] or "—", address=row["address"] or "—"))
        if not data["requests"]:
            lines.append(unit.t("mydata.no_requests"))
        agreed = user.get("consented_at")
        lines.append(unit.t("mydata.consent", date=self._date(agreed, lang)) if agreed
                     else unit.t("mydata.no_consent"))
        lines.append(unit.t("mydata.how_to_forget"))
        unit.send([ui.message(unit.user_id, part) for part in ui.chunks(lines)])
        unit.send(ui.document(unit.user_id, f"mydata-{self._date(env.now())}.json",
                              _as_json(data), unit.t("mydata.file_caption")))

    def _date(self, when: float, language: str = "en") -> str:
        """A day as `language` writes it (ISO in the file's name)."""
        zone = self.env.config.timezone
        return day_and_time(datetime.fromtimestamp(when, zone), language,
                            self.env.local_year(), clock=False)

    async def ask_forget(self, unit: ActorUnit) -> None:
        """Ask to confirm, or say what is still open."""
        still_open = await unit.repo.requests.open_refs(unit.user_id)
        if still_open:
            unit.send(ui.message(unit.user_id, unit.t("forget.open_first",
                                                      refs=", ".join(still_open))))
            return
        keyboard = ui.inline([[(unit.t("forget.yes"), buttons.FORGET.data("y")),
                               (unit.t("forget.no"), buttons.FORGET.data("n"))]])
        unit.send(ui.message(unit.user_id, unit.t("forget.ask"), keyboard))

    async def forget(self, unit: ActorUnit, yes: bool) -> Answer:
        """Clear the sender's data, if they confirmed and nothing of theirs is open."""
        if not yes:
            unit.send(ui.message(unit.user_id, unit.t("forget.kept")))
            return Answer()
        if await unit.repo.requests.open_refs(unit.user_id):
            return Answer(unit.t("common.stale"), alert=True)
        cleared = await unit.repo.people.forget(unit.user_id)
        unit.send(ui.message(unit.user_id, unit.t("forget.done", count=cleared)))
        return Answer()


def _as_json(data: dict[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False, indent=1, default=str)
