"""One unit of work per update: the whole loop, every update in one transaction, and a
service that fails keeps nothing it wrote or queued."""

from __future__ import annotations

from typing import Any

import pytest

from bot.context import Who
from tests.conftest import Town
from tests.flows import card_of, claim, count_transactions, file_request, open_bot, open_form


async def test_every_update_of_the_whole_loop_is_one_transaction(
    town: Town, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Alice files (taps, text, her phone), Li claims, finishes with a note,
    Alice confirms, rates and comments: no update opened a second transaction."""
    opened = count_transactions(town, monkeypatch)
    await open_bot(town.vol1)
    ref = await file_request(town.citizen)
    card = await card_of(town.volunteers, ref)
    assert ref in await claim(town.vol1, town.volunteers, card)
    await town.vol1.wait_for(text="+8613800000001")
    await town.vol1.press("✅ Done")
    await town.vol1.wait_for(text="Write a short note")
    await town.vol1.send("Fixed the washer.")
    await town.vol1.wait_for(text="marked done")
    await town.citizen.wait_for(text="resolved?")
    await town.citizen.press("👍 Yes, resolved")
    await town.citizen.wait_for(text="How would you rate")
    await town.citizen.press("⭐⭐⭐⭐⭐")
    await town.citizen.wait_for(text="add a comment")
    await town.citizen.send("Thank you!")
    await town.citizen.wait_for(text="Your request is closed")
    by_update = {update: n for update, n in opened.items() if update is not None}
    assert len(by_update) >= 12  # the counter did see the updates
    assert max(by_update.values()) == 1, by_update


async def test_a_citizens_cancel_with_words_leaves_the_form_in_one_transaction(
    town: Town, monkeypatch: pytest.MonkeyPatch
) -> None:
    """"/cancel now" is not a reference: Alice leaves her form, and the command that could
    have been an admin's cancel is still one transaction."""
    await open_form(town.citizen, command=True)
    opened = count_transactions(town, monkeypatch)
    await town.citizen.send("/cancel now")
    await town.citizen.wait_for(text="The request form was cancelled")
    by_update = {update: n for update, n in opened.items() if update is not None}
    assert list(by_update.values()) == [1], by_update


async def test_a_service_that_fails_keeps_nothing_and_sends_nothing(
    town: Town, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Li's Claim press hits a bug after the claim was written and its messages queued: the
    unit rolls back, so the request is still open, nobody is told anything, and the next
    press (the bug gone) claims it properly."""
    await open_bot(town.vol1)
    ref = await file_request(town.citizen)
    card = await card_of(town.volunteers, ref)
    services = town.bot.services
    assert services is not None
    loop = services.loop
    real = loop.card_updates
    failing = True

    async def broken(*args: Any, **kwargs: Any) -> Any:
        if failing:
            raise RuntimeError("a bug after the claim's UPDATE")
        return await real(*args, **kwargs)

    monkeypatch.setattr(loop, "card_updates", broken)
    press = await town.vol1.press("🙋 Claim", chat=town.volunteers, message=card)
    await press.answer()  # the error handler answers the press politely
    async with services.env.db.reading() as repo:
        request = await repo.requests.request_by_ref(ref)
    assert request is not None and request.status == "dispatched" and request.volunteer_id is None
    assert [m for m in town.vol1.private.bot_messages() if ref in (m.text or "")] == []
    assert "waiting for a volunteer" in (card.text or "")

    failing = False
    assert ref in await claim(town.vol1, town.volunteers, card)
    await town.vol1.wait_for(text="+8613800000001")


async def test_what_a_service_remembers_in_memory_holds_only_once_its_unit_commits(
        town: Town) -> None:
    """An update whose transaction fails is run again; what the service noted in memory on the
    failed run (who was answered when) must not make the second run stay silent."""
    services = town.bot.services
    assert services is not None
    remembered: list[str] = []
    with pytest.raises(RuntimeError):
        async with services.units.for_update(Who(town.citizen.id, "Alice")) as unit:
            unit.after_commit(lambda: remembered.append("failed run"))
            raise RuntimeError("the commit is refused")
    assert remembered == []
    async with services.units.for_update(Who(town.citizen.id, "Alice")) as unit:
        unit.after_commit(lambda: remembered.append("second run"))
    assert remembered == ["second run"]
