"""Before the first request asks for a phone or a place, the citizen reads what is collected,
who sees it and for how long, and agrees with a button; nothing is asked or kept before."""

from __future__ import annotations

from typing import Any

import pytest

from sandbox import SimUser
from tests.conftest import Town
from tests.flows import file_request, open_bot

NOTICE = "Before you start"
AGREE, DECLINE = "✅ I agree, continue", "Not now"


@pytest.fixture
def town_settings() -> dict[str, Any]:
    return {"retention": {"contact_days": 90}}


async def draft_of(town: Town, person: SimUser) -> Any:
    """The conversation the bot keeps for a person (None: none)."""
    services = town.bot.services
    assert services is not None
    async with services.env.db.reading() as repo:
        return await repo.people.dialog(person.id)


async def test_alice_reads_the_notice_first_and_nothing_is_kept_until_she_agrees(
        town: Town) -> None:
    alice = town.citizen
    await open_bot(alice)
    await alice.press("📝 New request")
    notice = await alice.wait_for(text=NOTICE)
    text = notice.text or ""
    # What, who and how long, with the configured period and the ways out.
    assert "phone number" in text and "location" in text
    assert "Only the volunteer who takes your request" in text
    assert "90 days after it is closed" in text
    assert "/mydata" in text and "/forget" in text
    assert notice.buttons == [AGREE, DECLINE]
    assert await draft_of(town, alice) is None  # no form before she agrees

    await alice.press(DECLINE, message=notice)
    await alice.wait_for(text="Nothing was saved")
    assert await draft_of(town, alice) is None
    await alice.send("/new")
    again = await alice.wait_for(text=NOTICE)  # still not agreed: the notice again

    await alice.press(AGREE, message=again)
    question = await alice.wait_for(text="What kind of help")
    assert "Step 1 of 4" in (question.text or "")
    assert (await draft_of(town, alice)) is not None

    await alice.send("/mydata")
    summary = await alice.wait_for(text="What we hold about you")
    assert "Privacy notice agreed on 2026-06-10" in (summary.text or "")


async def test_once_agreed_the_next_request_starts_at_once(town: Town) -> None:
    alice = town.citizen
    await file_request(alice)  # agrees on the way
    notices = [m for m in alice.private.bot_messages() if NOTICE in (m.text or "")]
    assert len(notices) == 1
    await alice.send("/new")
    await alice.wait_for(text="What kind of help")
    assert [m for m in alice.private.bot_messages() if NOTICE in (m.text or "")] == notices


async def test_an_old_notice_pressed_again_resumes_the_form_instead_of_a_second_one(
        town: Town) -> None:
    alice = town.citizen
    await open_bot(alice)
    await alice.press("📝 New request")
    notice = await alice.wait_for(text=NOTICE)
    await alice.press(AGREE, message=notice)
    first = await alice.wait_for(text="What kind of help")
    await alice.press("Help for the elderly", message=first)
    await alice.wait_for(text="describe the problem")
    draft = await draft_of(town, alice)

    await alice.press(AGREE, message=notice)
    await alice.wait_for(text="describe the problem")  # the question she was at, again
    assert (await draft_of(town, alice)).data["id"] == draft.data["id"]


async def test_after_forget_the_notice_comes_first_again(town: Town) -> None:
    alice = town.citizen
    await open_bot(alice)
    await alice.press("📝 New request")
    await alice.press(AGREE, message=await alice.wait_for(text=NOTICE))
    await alice.wait_for(text="What kind of help")
    await alice.send("/cancel")
    await alice.wait_for(text="cancelled")
    await alice.send("/forget")
    await alice.wait_for(text="Delete your data?")
    await alice.press("🗑 Yes, delete")
    await alice.wait_for(text="your data is deleted")

    await alice.send("/new")
    await alice.wait_for(text=NOTICE)
    await alice.send("/mydata")
    summary = await alice.wait_for(text="What we hold about you")
    assert "Privacy notice: not agreed yet." in (summary.text or "")


async def test_grandma_reads_it_in_chinese(town: Town) -> None:
    grandma = town.grandma
    await grandma.send("/start")
    await grandma.wait_for(text="请在下面选择")
    await grandma.press("📝 新建诉求")
    notice = await grandma.wait_for(text="关于您的个人信息")
    assert "诉求办结 90 天后" in (notice.text or "")
    assert notice.buttons == ["✅ 同意并继续", "暂不同意"]
    await grandma.press("暂不同意", message=notice)
    await grandma.wait_for(text="没有保存任何信息")


class TestKeptUntilForgotten:
    """With contact_days = 0 nothing is deleted on a schedule: the notice says so."""

    @pytest.fixture
    def town_settings(self) -> dict[str, Any]:
        return {"retention": {"contact_days": 0}}

    async def test_the_notice_says_until_forget(self, town: Town) -> None:
        alice = town.citizen
        await open_bot(alice)
        await alice.press("📝 New request")
        notice = await alice.wait_for(text=NOTICE)
        assert "until you delete them with /forget" in (notice.text or "")
        assert "days after" not in (notice.text or "")
