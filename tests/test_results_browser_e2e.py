"""The public results page in a real headless browser (Debian's chromium): the bot serves the
page on its `[web] listen` port, chromium loads it as a visitor would, and the numbers in the
DOM it rendered equal what the admin's /stats says for the same year through the sandbox.
Screenshots of the page in zh and en are kept in tests/artefacts/ (named in the output).

Chromium is not optional: if it is missing the test fails, saying that `make install` (or
`make test`) installs it."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import time
from pathlib import Path
from typing import Any

import pytest

from bot.reports.charts import cjk_font_file
from tests.conftest import Town
from tests.test_results_web_e2e import SEEDED_NAMES, figures, month_cells, seed_district

ARTEFACTS = Path(__file__).resolve().parent / "artefacts"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
BROWSER_SECONDS = 60  # a generous bound on one chromium run (it takes one or two)


@pytest.fixture
def town_settings() -> dict[str, Any]:
    """The town with its public web server on a port of the OS's choice."""
    return {"web": {"listen": "127.0.0.1:0"}}


def chromium() -> str:
    """The browser's command, or a failure naming how to install it."""
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    pytest.fail("chromium is missing: `make install` (or `make test`) installs Debian's "
                "chromium package with apt-get; elsewhere install chromium yourself")


def font_config(folder: Path) -> dict[str, str]:
    """The environment for chromium: the system's fonts plus the CJK font the charts use
    (the pip package's, when the system has none), so the zh screenshot shows Chinese."""
    env = dict(os.environ)
    font = cjk_font_file()
    if font is not None:
        conf = folder / "fonts.conf"
        conf.write_text(
            '<?xml version="1.0"?><!DOCTYPE fontconfig SYSTEM "urn:fontconfig:fonts.dtd">'
            '<fontconfig><include ignore_missing="yes">/etc/fonts/fonts.conf</include>'
            f"<dir>{font.parent}</dir></fontconfig>", encoding="utf-8")
        env["FONTCONFIG_FILE"] = str(conf)
    return env


async def browse(folder: Path, url: str, *args: str) -> bytes:
    """Run headless chromium on `url` (as a child process: the bot's event loop goes on
    serving it meanwhile) and return what it wrote to stdout."""
    process = await asyncio.create_subprocess_exec(
        chromium(), "--headless=new", "--no-sandbox", "--disable-gpu",
        "--disable-dev-shm-usage", "--no-first-run", "--hide-scrollbars",
        f"--user-data-dir={folder / 'profile'}", *args, url,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env=font_config(folder))
    try:
        out, err = await asyncio.wait_for(process.communicate(), BROWSER_SECONDS)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    assert process.returncode == 0, err.decode("utf-8", "replace")[-2000:]
    return out


def stats_figures(text: str) -> dict[str, str]:
    """The /stats lines the page shows, read into the page's figure names."""
    found: dict[str, str] = {}
    patterns = {
        r"^Collected: (\d+)$": ("year.received",),
        r"^Closed: (\d+) \(confirmed by the citizen: (\d+), without confirmation: (\d+)\)$":
            ("year.completed", "year.confirmed", "year.auto_closed"),
        r"^Cancelled by citizens: (\d+) · by admins: (\d+)$":
            ("year.cancelled_citizen", "year.cancelled_admin"),
        r"^Handed to supervision \(a responsible unit\): (\d+)": ("year.handed",),
        r"^Completion rate: ([\d.]+%) \(confirmed share ([\d.]+%)\)$":
            ("year.rate", "year.confirmed_share"),
        r"^Open now: (\d+)$": ("year.open",),
        r"^Median time to claim: (.+) · to done: (.+)$": ("year.claim_wait", "year.done_wait"),
        r"^Satisfaction: ([\d.]+) from (\d+) ratings": ("satisfaction", "ratings"),
        r"^Activities: (\d+) held or planned, (\d+) cancelled": ("activities.held",
                                                                 "activities.cancelled"),
        r"^Verified hours: ([\d.]+) h$": ("activities.hours",),
        r"^Registered formal volunteers of 2026: (\d+)$": ("activities.formal",),
    }
    for line in text.splitlines():
        for pattern, names in patterns.items():
            match = re.match(pattern, line.strip())
            if match:
                found.update(zip(names, match.groups(), strict=True))
    return found


def category_lines(text: str) -> dict[str, tuple[str, str]]:
    """/stats' "By category" rows: name → (collected, closed)."""
    part = text.split("By category", 1)[1].split("By area", 1)[0]
    return {name: (collected, closed) for name, collected, closed
            in re.findall(r"• (.+): (\d+) / (\d+)", part)}


def ink(png: Path) -> float:
    """The share of the screenshot's pixels that are not white (a blank page has none)."""
    from PIL import Image

    with Image.open(png) as image:
        grey = image.convert("L")
        histogram = grey.histogram()
    return 1 - sum(histogram[250:]) / sum(histogram)


async def test_the_page_in_chromium_shows_what_stats_says(town: Town, tmp_path: Path) -> None:
    """A district of 2026 (requests in every outcome, activities with hours, formal
    volunteers) seeded through the storage layer; the admin's /stats 2026 through the
    sandbox; chromium renders /results?year=2026 from the bot's own web server: every figure
    of the year, the categories and the activities equal /stats' lines, the names behind
    the requests are nowhere in the DOM, and screenshots in zh and en are kept."""
    started = time.monotonic()
    services = town.bot.services
    assert services is not None and services.web.port is not None
    await seed_district(services.env.db)

    await town.admin.send("/stats 2026", chat=town.admin_chat)
    answer = await town.admin_chat.wait_for(text="Registered formal volunteers of 2026")
    stats = stats_figures(answer.text)
    assert stats["year.received"] == "18", answer.text

    url = f"http://127.0.0.1:{services.web.port}/results?year=2026"
    dom = (await browse(tmp_path, f"{url}&lang=en", "--dump-dom")).decode("utf-8")
    assert '<html lang="en">' in dom and "What the district did in 2026" in dom
    shown = figures(dom)
    for name, value in stats.items():
        if name in ("satisfaction", "ratings"):
            continue
        assert shown[name] == value, (name, shown[name], value)
    assert shown["year.satisfaction"] == f"{stats['satisfaction']} ({stats['ratings']} ratings)"
    categories = month_cells(dom, "categories")
    assert {name: (cells["received"], cells["completed"])
            for name, cells in categories.items()} == category_lines(answer.text)
    assert dom.count("<svg") == 3
    for secret in SEEDED_NAMES:
        assert secret not in dom

    ARTEFACTS.mkdir(exist_ok=True)
    for lang in ("zh", "en"):
        shot = ARTEFACTS / f"results-page-{lang}.png"
        shot.unlink(missing_ok=True)
        await browse(tmp_path, f"{url}&lang={lang}", f"--screenshot={shot}",
                     "--window-size=1280,3000")
        assert shot.read_bytes()[:8] == PNG_SIGNATURE
        assert ink(shot) > 0.02, "the screenshot is blank"
        print(f"\nscreenshot of the results page ({lang}): {shot}")
    assert time.monotonic() - started < 30
