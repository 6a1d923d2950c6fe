"""The service record as a PNG (志愿服务记录): drawn by a stored job off the event loop, from
the content /record read and signed (bot/activities/records.py), and sent as a file.

Drawn with Pillow (already here for the check-in QR codes) in the system's Noto Sans CJK, or
the optional font package (bot/reports/charts.py finds either); without a CJK font the
record is drawn in English, and a Chinese name may then show as boxes. What the record says
is the job's content, never read again: the PNG shows what the verification code signs.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from datetime import datetime
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageFont

from bot import ui
from bot.context import Env
from bot.reports import charts
from bot.schedule.jobs import Jobs
from storage import Outgoing
from storage.models import Job

log = logging.getLogger(__name__)

WIDTH = 1240  # A4 at 150 dpi across; the height follows the content
MARGIN = 90
ACTIVITIES_SHOWN = 40  # the newest; the rest are counted in one line
INK, MUTED, ACCENT, RULE = "#1b1b1b", "#5f6368", "#b3261e", "#d0d0d0"
Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


@functools.lru_cache(maxsize=8)
def _font(size: int) -> Font | None:
    """Noto Sans CJK SC at `size` px (regular weight), or None if there is no CJK font."""
    path = charts.cjk_font_file()
    if path is None:
        return None
    for index in range(16):  # a collection: find the simplified Chinese face
        try:
            face = ImageFont.truetype(str(path), size, index=index)
        except OSError:
            break
        if (face.getname()[0] or "").endswith("SC"):
            # A variable font starts at Thin; a static one is the regular weight already.
            with contextlib.suppress(OSError, ValueError):
                face.set_variation_by_name("Regular")
            return face
    log.warning("no simplified Chinese face in %s: records are drawn in English", path)
    return None


def font(size: int) -> Font:
    """The CJK font at `size`, else Pillow's own (Latin only)."""
    return _font(size) or ImageFont.load_default(size)


class RecordImages:
    """Draws issued service records as PNG files (the "record" job)."""

    def __init__(self, env: Env, jobs: Jobs) -> None:
        self.env = env
        self.jobs = jobs
        jobs.register("record", self.record_job)

    async def record_job(self, job: Job) -> list[Outgoing]:
        """Draw the record a /record issued, off the event loop, and send it as a file."""
        code = str(job.params["code"])
        path = self.jobs.file_path(job, "record.png")
        lang = job.language if _font(20) is not None or job.language == "en" else "en"
        await asyncio.to_thread(self.draw, job.params, lang, path)
        caption = self.env.t(job.language, "record.caption", code=code)
        return [ui.upload(job.chat_id, "sendDocument", str(path), f"record-{code}.png", caption)]

    def draw(self, params: dict[str, Any], lang: str, path: Path) -> None:
        """Lay the record out and write the PNG (blocking: runs in a worker thread)."""
        content, code = params["content"], str(params["code"])
        words = self._words(lang, content, code, float(params["issued_at"]))
        lines: list[tuple[str, int, str, int]] = []  # text, size, colour, space before

        def add(text: str, size: int = 26, colour: str = INK, before: int = 10) -> None:
            lines.append((text, size, colour, before))

        add(words["title"], 48, ACCENT, 0)
        add(words["issuer"], 26, MUTED, 14)
        add(words["name"], 36, INK, 40)
        add(words["summary"], 26, INK, 16)
        add(words["years_title"], 30, ACCENT, 40)
        for row in content["years"] or [None]:
            add(self._year_line(lang, row) if row else words["none"])
        add(words["formal"], 26, INK, 16)
        add(words["honours_title"], 30, ACCENT, 40)
        for title, year in content["honours"] or [(None, None)]:
            add(self._t(lang, "record.png.honour", title=title, year=year) if title
                else words["none"])
        add(words["activities_title"], 30, ACCENT, 40)
        shown = content["activities"][-ACTIVITIES_SHOWN:]
        for title, day, hours in shown:
            add(self._t(lang, "record.png.activity", day=day, title=_clip(title, 46),
                        hours=f"{hours:g}"), 24)
        if not shown:
            add(words["none"])
        if len(content["activities"]) > len(shown):
            add(self._t(lang, "record.png.more", count=len(content["activities"]) - len(shown)),
                24, MUTED)
        add(words["issued"], 24, MUTED, 50)
        add(words["code"], 34, INK, 12)
        add(words["verify"], 22, MUTED, 12)

        height = MARGIN * 2 + sum(size + 14 + before for _, size, _, before in lines)
        image = Image.new("RGB", (WIDTH, height), "white")
        pen = ImageDraw.Draw(image)
        pen.rectangle((30, 30, WIDTH - 30, height - 30), outline=ACCENT, width=4)
        y = MARGIN
        for text, size, colour, before in lines:
            y += before
            pen.text((MARGIN, y), text, fill=colour, font=font(size))
            y += size + 14
            if size >= 30 and colour == ACCENT and text != words["title"]:
                pen.line((MARGIN, y - 4, WIDTH - MARGIN, y - 4), fill=RULE, width=2)
        image.save(path, format="PNG", optimize=True)

    def _t(self, lang: str, key: str, **values: Any) -> str:
        """Catalog words as plain text (no HTML escaping: this is a picture)."""
        return self.env.t.raw(lang, key).format(**values)

    def _year_line(self, lang: str, row: list[Any]) -> str:
        year, requests, activities = row
        return self._t(lang, "record.png.year", year=year, total=f"{requests + activities:g}",
                       requests=f"{requests:g}", activities=f"{activities:g}")

    def _words(self, lang: str, content: dict[str, Any], code: str,
               issued_at: float) -> dict[str, str]:
        t = self._t
        issuer = content["issuer"].get(lang) or next(iter(content["issuer"].values()))
        issued = datetime.fromtimestamp(issued_at, self.env.config.timezone)
        formal = content["formal_years"]
        stars = int(content["stars"])
        return {
            "title": t(lang, "record.png.title"),
            "issuer": issuer,
            "name": content["name"] or t(lang, "ranking.hidden_name"),
            "summary": t(lang, "record.png.summary", hours=f"{content['lifetime']:g}",
                         stars="★" * stars if stars else "—"),
            "years_title": t(lang, "record.png.years_title"),
            "formal": (t(lang, "record.png.formal", years=", ".join(map(str, formal)))
                       if formal else t(lang, "record.png.formal_none")),
            "honours_title": t(lang, "record.png.honours_title"),
            "activities_title": t(lang, "record.png.activities_title"),
            "none": t(lang, "record.png.none"),
            "issued": t(lang, "record.png.issued", issuer=issuer, when=f"{issued:%Y-%m-%d %H:%M}"),
            "code": t(lang, "record.png.code", code=code),
            "verify": t(lang, "record.png.verify"),
        }


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
