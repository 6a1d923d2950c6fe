"""Monthly themes set in the bot: one row per setting, the newest not ended in force."""

from __future__ import annotations

from typing import Any

from storage.models import MonthTheme
from storage.repos.base import Aggregate

_LANGUAGES = ("zh", "en")  # the columns' languages (title_zh, title_en …)


def _theme(row: Any) -> MonthTheme:
    return MonthTheme(
        row["id"], row["year"], row["month"],
        {lang: row[f"title_{lang}"] for lang in _LANGUAGES},
        {lang: row[f"description_{lang}"] for lang in _LANGUAGES},
        row["set_by"], row["set_at"], row["ended_how"])


class ThemesRepo(Aggregate):
    """Monthly themes set in the bot by year and month, with who set and ended each."""

    async def in_force(self, months: list[tuple[int, int]]) -> dict[tuple[int, int], MonthTheme]:
        """The themes in force for these (year, month) pairs, in one read."""
        if not months:
            return {}
        where = " OR ".join("(year = ? AND month = ?)" for _ in months)
        rows = await self._all(
            f"SELECT * FROM month_themes WHERE ended_at IS NULL AND ({where})",
            tuple(n for pair in months for n in pair))
        return {(row["year"], row["month"]): _theme(row) for row in rows}

    async def saved_by(self, draft: str, user_id: int) -> MonthTheme | None:
        """The theme a dialog (its draft id) of this person saved, if it saved one."""
        row = await self._one(
            "SELECT * FROM month_themes WHERE draft = ? AND set_by = ? ORDER BY id DESC",
            (draft, user_id))
        return _theme(row) if row is not None else None

    def set_theme(self, year: int, month: int, titles: dict[str, str],
                  descriptions: dict[str, str], draft: str, user_id: int, now: float) -> None:
        """Put a theme in force for a month; the one it replaces is kept, marked replaced."""
        self._write(
            "UPDATE month_themes SET ended_how = 'replaced', ended_by = ?, ended_at = ? "
            "WHERE year = ? AND month = ? AND ended_at IS NULL", (user_id, now, year, month))
        self._write(
            "INSERT INTO month_themes (year, month, title_zh, title_en, description_zh, "
            "description_en, draft, set_by, set_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (year, month, titles["zh"], titles["en"], descriptions["zh"], descriptions["en"],
             draft, user_id, now))

    async def clear(self, year: int, month: int, user_id: int, now: float) -> bool:
        """End the theme in force for a month (the file's counts again); False if none was."""
        return await self._changed(
            "UPDATE month_themes SET ended_how = 'cleared', ended_by = ?, ended_at = ? "
            "WHERE year = ? AND month = ? AND ended_at IS NULL", (user_id, now, year, month))
