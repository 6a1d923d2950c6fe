"""/stats end to end: requests filed, claimed and closed through the real flows, then the
admin's figures as text at once and the chart as a PNG photo right after, in the same chat.

The town runs on the full area tree (Guangminglu and Zhongxinjie are two of its institutes);
with no group bound, elderly help goes to the volunteers group of the config."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from sandbox import SimChat, SimMessage, SimUser
from tests.conftest import Town
from tests.flows import card_of, claim, refused_in_private
from tests.test_areas_e2e import AREA_FILE, GUANGMINGLU, GUANGMINGLU_01, ZHONGXINJIE, file_at

SHANGHAI = ZoneInfo("Asia/Shanghai")
ZHONGXINJIE_01 = "Zhongxinjie Community 1 Practice Station"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def town_settings() -> dict[str, Any]:
    """conftest's town on the full area tree."""
    return {"areas": {"file": str(AREA_FILE)}}


# -- steps the stories share -----------------------------------------------------------------


async def open_bot(person: SimUser) -> None:
    """A person opens the bot in private (so it may write to them)."""
    await person.send("/start")
    await person.wait_for(text="Choose below")


async def claim_and_finish(town: Town, ref: str) -> None:
    """Li claims the card, presses Done on the details and skips the note."""
    card = await card_of(town.volunteers, ref)
    assert (await claim(town.vol1, town.volunteers, card)).startswith("It is yours")
    details = await town.vol1.wait_for(text=ref, predicate=lambda m: "✅ Done" in m.buttons)
    await town.vol1.press("✅ Done", message=details)
    prompt = await town.vol1.wait_for(text="Write a short note")
    await town.vol1.press("Skip", message=prompt)
    await town.vol1.wait_for(text=f"{ref} is marked done")


async def confirm_and_rate(citizen: SimUser, ref: str, stars: int) -> None:
    """The citizen says resolved, gives stars and skips the comment."""
    question = await citizen.wait_for(text=f"Is your request {ref} resolved?")
    await citizen.press("👍 Yes, resolved", message=question)
    rating = await citizen.wait_for(text="How would you rate")
    await citizen.press("⭐" * stars, message=rating)
    await citizen.wait_for(text="add a comment")
    await citizen.press("Skip")
    await citizen.wait_for(text="Your request is closed")


async def cancel_from_my_requests(citizen: SimUser, ref: str) -> None:
    """The citizen cancels a request from /my."""
    await citizen.send("/my")
    listing = await citizen.wait_for(text="Your requests")
    await citizen.press(f"✖ Cancel {ref}", message=listing)
    await citizen.wait_for(text=f"Cancel request {ref}?")
    await citizen.press("Yes, cancel it")
    await citizen.wait_for(text=f"Request {ref} is cancelled")


async def chart_after(town: Town, chat: SimChat, text: SimMessage) -> bytes:
    """Wait for the chart photo that follows a /stats text in its chat; return its bytes."""
    photo = await chat.wait_for(predicate=lambda m: m.kind == "photo"
                                and m.message_id > text.message_id, timeout=30)
    assert (photo.text or "").startswith("📊 "), photo.text
    return bytes(town.sb.world.files[photo.file_ids[-1]].data)


def assert_clean(town: Town) -> None:
    """Telegram never had to slow the bot down and refused none of its calls."""
    assert town.sb.count_429 == 0, town.sb.errors
    assert town.sb.errors == []


# -- the stories -----------------------------------------------------------------------------


async def test_stats_today_answers_with_the_figures_then_a_chart(town: Town) -> None:
    """Alice files three requests on 10 March: Guangminglu station 1 (Li does it, she confirms
    with 4 stars), Guangminglu station 1 again (she cancels it) and Zhongxinjie station 1 (Li
    is on it). The admin's /stats today counts each step apart — 3 collected, 1 closed and
    confirmed, 1 cancelled by the citizen, 50.00% — and a PNG chart follows in the admin chat."""
    town.clock.set(datetime(2026, 3, 10, 10, 0, tzinfo=SHANGHAI))
    await open_bot(town.vol1)
    alice = town.citizen
    done = await file_at(alice, GUANGMINGLU, GUANGMINGLU_01, text="The tap drips.")
    await claim_and_finish(town, done)
    await confirm_and_rate(alice, done, 4)
    cancelled = await file_at(alice, GUANGMINGLU, GUANGMINGLU_01, text="Never mind this one.")
    await cancel_from_my_requests(alice, cancelled)
    claimed = await file_at(alice, ZHONGXINJIE, ZHONGXINJIE_01, text="The door is stuck.")
    card = await card_of(town.volunteers, claimed)
    assert (await claim(town.vol1, town.volunteers, card)).startswith("It is yours")

    await town.admin.send("/stats today", chat=town.admin_chat)
    text = await town.admin_chat.wait_for(text="Statistics · the whole district")
    assert text.text.splitlines() == [
        "Statistics · the whole district · 2026-03-10",
        "Requests collected in the period, and where they are now",
        "Collected: 3",
        "Dispatched: 3 · claimed: 2 · done by a volunteer: 1",
        "Closed: 1 (confirmed by the citizen: 1, without confirmation: 0)",
        "Reopened: 0",
        "Cancelled by citizens: 1 · by admins: 0",
        "Completion rate: 50.00% (confirmed share 100.00%)",
        "Open now: 1",
        "  • waiting for a volunteer: 0",
        "  • claimed, in progress: 1",
        "  • done, awaiting the citizen: 0",
        "Median time to claim: under a minute · to done: under a minute",
        "Satisfaction: 4.00 from 1 ratings (5★ 0, 4★ 1, 3★ 0, 2★ 0, 1★ 0)",
        "Overdue now (open requests past their time, whenever filed): 0",
        "By category (collected / closed)",
        "  • Help for the elderly: 3 / 1",
        "By area (collected / closed)",
        f"  • {GUANGMINGLU}: 2 / 1",
        f"  • {ZHONGXINJIE}: 1 / 0",
    ]
    chart = await chart_after(town, town.admin_chat, text)
    assert chart[:8] == PNG_SIGNATURE and len(chart) > 20_000
    assert_clean(town)


async def test_bad_input_and_non_admins_get_one_line(town: Town) -> None:
    """A malformed date and an unknown area get one line with the command's form; Li, no
    admin, is refused; none of them draws a chart."""
    await town.admin.send("/stats 2026-13-01", chat=town.admin_chat)
    bad_date = await town.admin_chat.wait_for(text="There is no period 2026-13-01.")
    await town.admin.send("/stats nowhere", chat=town.admin_chat)
    bad_area = await town.admin_chat.wait_for(text="There is no area nowhere.")
    for answer in (bad_date, bad_area):
        assert "Usage: /stats [period] [area id]" in answer.text
        assert "\n" not in answer.text
    await refused_in_private(town.vol1, town.volunteers, "/stats")
    await town.admin.send("/stats", chat=town.admin_chat)  # nothing collected: no chart either
    empty = await town.admin_chat.wait_for(text="Collected: 0")
    services = town.bot.services
    assert services is not None
    async with services.env.db.reading() as repo:
        assert await repo.timers.pending_jobs() == []
    assert [m for m in town.admin_chat.bot_messages() if m.kind == "photo"] == []
    assert "Statistics · the whole district · all time" in empty.text
    assert_clean(town)


async def test_an_area_admin_sees_only_their_area(town: Town) -> None:
    """Zhang, made an admin of Guangminglu, sees by default only Alice's Guangminglu request
    (not the Zhongxinjie one), by station, with a chart in his private chat; /stats
    zhongxinjie is refused as outside his area."""
    town.clock.set(datetime(2026, 3, 10, 10, 0, tzinfo=SHANGHAI))
    alice = town.citizen
    await file_at(alice, GUANGMINGLU, GUANGMINGLU_01, text="The tap drips.")
    await file_at(alice, ZHONGXINJIE, ZHONGXINJIE_01, text="The door is stuck.")
    zhang = town.vol2
    services = town.bot.services
    assert services is not None
    async with services.env.db.transaction() as repo:
        assert await repo.people.grant(zhang.id, "guangminglu", town.admin.id, services.env.now())

    await zhang.send("/stats")
    text = await zhang.wait_for(text=f"Statistics · {GUANGMINGLU} · all time")
    assert "Collected: 1" in text.text.splitlines()
    assert f"  • {GUANGMINGLU_01}: 1 / 0" in text.text.splitlines()
    assert ZHONGXINJIE not in text.text
    chart = await chart_after(town, zhang.private, text)
    assert chart[:8] == PNG_SIGNATURE

    await zhang.send("/stats today zhongxinjie")
    outside = await zhang.wait_for(text="is outside the areas you administer")
    assert outside.text == (f"{ZHONGXINJIE} is outside the areas you administer "
                            f"({GUANGMINGLU}).")
    await zhang.send("/stats guangminglu-01 today")
    station = await zhang.wait_for(text=f"Statistics · {GUANGMINGLU_01} · 2026-03-10")
    assert "Collected: 1" in station.text.splitlines()
    assert_clean(town)
