"""Recruitment calls (招募令), end to end: an admin writes an urgent call in a short dialog
(what, where and a map point, how many, until when, to whom), previews and sends it; its card
reaches the volunteer groups with I'm in and how many have answered of how many needed, and
the approved volunteers get it in private; responders answer with one tap and get the details
and the map point; the admin's roster updates itself; answers past the number needed are
reserves, one moves up when someone can't come after all; the admin closes or cancels the
call (everyone who answered told of a cancelling), its deadline closes it otherwise; those who
came are checked in by hand and credited hours that /hours counts. Every bad answer gets one
polite line.

The example area tree and a teams file are used; Admin is a centre admin; Li and Zhang are
approved volunteers of Guangminglu Community 1. The clock starts on Wednesday 10 June 2026,
10:00 in Shanghai (tests/conftest.py).
"""

from __future__ import annotations

import sqlite3
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from sandbox import SimChat, SimMessage, SimUser
from tests.conftest import SHANGHAI, Town
from tests.flows import open_bot

ROOT = Path(__file__).resolve().parent.parent
TEAMS = """id,area_id,name_zh,name_en,leader_id
guangming-red,guangminglu,光明路红马甲服务队,Guangminglu Red Vest Team,
jinhui,zhongxinjie,金晖助老服务队,Golden Glow Elderly Care Team,
"""
WHAT = "Fill sandbags at the Xiaohe dike"
PLACE = "Xiaohe dike, north sluice"
STATION = "guangminglu-01"


@pytest.fixture
def town_settings(tmp_path: Path) -> dict[str, Any]:
    """The example area tree and a teams file of two teams."""
    (tmp_path / "teams.csv").write_text(TEAMS, encoding="utf-8")
    return {"areas": {"file": str(ROOT / "areas.example.csv")},
            "volunteers": {"teams_file": str(tmp_path / "teams.csv")}}


# -- the cast and the steps ----------------------------------------------------------------


async def approved(town: Town, *people: SimUser, area: str | None = STATION,
                   team: str | None = None) -> None:
    """Volunteers whose registrations an admin approved (as /join would leave them), who
    have opened the bot."""
    assert town.bot.services is not None
    env = town.bot.services.env
    await open_bot(*people)
    async with env.db.transaction() as repo:
        for person in people:
            await repo.volunteers.apply(person.id, person.first_name, None, area, team,
                                        env.now())
            assert await repo.volunteers.decide(person.id, True, town.admin.id, None,
                                                env.now())


async def area_admin(town: Town, person: SimUser, area: str) -> None:
    """An area admin of `area`, granted as /grant would."""
    assert town.bot.services is not None
    env = town.bot.services.env
    async with env.db.transaction() as repo:
        assert await repo.people.grant(person.id, area, town.admin.id, env.now())


async def write_call(town: Town, admin: SimUser, *, needed: str = "2", until: str = "18:00",
                     point: bool = True, audience: tuple[str, ...] = ()) -> SimMessage:
    """The admin walks through /call up to the preview, which is returned; `audience`:
    buttons pressed at the last question (the admin's own areas are chosen already)."""
    await admin.send("/call")
    await admin.wait_for(text="1/6")
    await admin.send(WHAT)
    await admin.wait_for(text="2/6")
    await admin.send(PLACE)
    await admin.wait_for(text="3/6")
    if point:
        await admin.send_location(34.853, 117.572)
    else:
        await admin.press("Skip ⏭")
    await admin.wait_for(text="4/6")
    await admin.send(needed)
    await admin.wait_for(text="5/6")
    await admin.send(until)
    question = await admin.wait_for(text="6/6")
    for label in audience:
        question = await toggle(town, admin, question, label)
    await admin.press("✔️ Done", message=question)
    return await admin.wait_for(text="Preview of the recruitment call")


async def toggle(town: Town, admin: SimUser, question: SimMessage, label: str) -> SimMessage:
    """Press an area or team at the To whom question; the question once redrawn."""
    chat = question.chat
    before = question.text
    await (await admin.press(label, message=question)).answer()
    await town.sb.wait_until(
        lambda: (chat.get(question.message_id) or question).text != before, timeout=5)
    current = chat.get(question.message_id)
    assert current is not None
    return current


async def sent_call(town: Town, **options: Any) -> SimMessage:
    """The centre admin sends a call to the whole district; the card the volunteer group
    receives."""
    await open_bot(town.admin)
    preview = await write_call(town, town.admin, **options)
    await town.admin.press("🚨 Send", message=preview)
    await town.admin.wait_for(text="Nobody has answered yet")
    return await town.volunteers.wait_for(text="Recruitment call #1")


async def now_says(town: Town, message: SimMessage, words: str) -> SimMessage:
    """Wait until a message has been edited to say `words`; the message as it stands."""
    chat: SimChat = message.chat

    def shows() -> bool:
        current = chat.get(message.message_id)
        return current is not None and words in (current.text or "")

    await town.sb.wait_until(shows, timeout=5)
    current = chat.get(message.message_id)
    assert current is not None
    return current


def buttons_of(message: SimMessage) -> list[str]:
    """The labels of a message's inline buttons."""
    rows = (message.reply_markup or {}).get("inline_keyboard", [])
    return [button["text"] for row in rows for button in row]


def data_of(message: SimMessage, label: str) -> str:
    """The callback data of a message's button (to press it again later, stale)."""
    rows = (message.reply_markup or {}).get("inline_keyboard", [])
    return next(b["callback_data"] for row in rows for b in row if label in b["text"])


def answers(town: Town) -> list[tuple[int, str]]:
    """Every answer to a call (user, status), oldest first, read beside the bot."""
    with sqlite3.connect(f"file:{town.bot.config.database}?mode=ro", uri=True) as db:
        return db.execute("SELECT s.user_id, s.status FROM activity_signups s JOIN "
                          "activities a ON a.id = s.activity_id WHERE a.kind = 'call' "
                          "ORDER BY s.id").fetchall()


def roster_of(town: Town) -> SimMessage:
    """The admin's roster message (the one that updates itself)."""
    return next(m for m in town.admin.private.bot_messages()
                if "answered · sent to" in (m.text or ""))


# -- sending and answering -------------------------------------------------------------------


async def test_an_admin_sends_a_call_and_volunteers_answer_with_one_tap(town: Town) -> None:
    """The preview shows what goes where; Send posts the card with I'm in (0/2) and sends
    the call to the approved volunteers in private; answers update the card and the admin's
    roster; the third is a reserve, and the admin hears once that the call is filled."""
    li, zhang, alice = town.vol1, town.vol2, town.citizen
    await approved(town, li, zhang)
    town.volunteers.add_member(alice)
    await open_bot(town.admin, alice)
    preview = await write_call(town, town.admin)
    text = preview.text or ""
    for words in (WHAT, PLACE, "Until 18:00", "2 people needed", "Map point: shared",
                  "To: 🏙 The whole district", "1 groups and to 2 volunteers in private"):
        assert words in text, (words, text)
    assert not town.volunteers.bot_messages()  # nothing goes out before Send

    await town.admin.press("🚨 Send", message=preview)
    card = await town.volunteers.wait_for(text="Recruitment call #1")
    assert buttons_of(card) == ["🙋 I'm in (0/2)"]
    assert "0 of 2 have answered" in (card.text or "")
    copy = await zhang.wait_for(text="Recruitment call #1")
    assert WHAT in (copy.text or "") and buttons_of(copy) == ["🙋 I'm in"]
    await li.wait_for(text="Recruitment call #1")
    assert not [m for m in alice.private.bot_messages() if "Recruitment call" in (m.text or "")]
    await now_says(town, preview, "Recruitment call #1 sent: to 1 groups and 2 volunteers")
    roster = await town.admin.wait_for(text="Nobody has answered yet")

    answer = await (await li.press("🙋 I'm in", message=card)).answer()
    assert answer.text == "You're in ✅"
    mine = await li.wait_for(text="You're in for call #1: number 1 of the 2 needed")
    assert PLACE in (mine.text or "")
    assert buttons_of(mine) == ["Can't come after all", "📍 Check in here"]
    point = await li.private.wait_for(predicate=lambda m: m.location is not None)
    assert point.location is not None
    card = await now_says(town, card, "1 of 2 have answered")
    assert buttons_of(card) == ["🙋 I'm in (1/2)"]
    await now_says(town, roster, "1. Li")

    await (await zhang.press("🙋 I'm in", message=copy)).answer()
    await zhang.wait_for(text="number 2 of the 2 needed")
    card = await now_says(town, card, "Enough people now")
    await town.admin.wait_for(text="has the 2 people it needed")

    await (await alice.press("🙋 I'm in", message=card)).answer()
    await alice.wait_for(text="as reserve number 1")
    roster = await now_says(town, roster, "3. Alice")
    assert "Reserves:" in (roster.text or "") and "2. Zhang" in (roster.text or "")
    await now_says(town, card, "3 of 2 have answered")
    assert answers(town) == [(li.id, "signed"), (zhang.id, "signed"), (alice.id, "signed")]
    assert town.sb.count_429 == 0
