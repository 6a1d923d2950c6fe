"""A storm end to end: when a group's message budget is short, its new cards share a message.

The group here may take 3 messages (and 3 edits) a "minute", and a minute lasts 3 seconds in
both the sandbox and the bot's sender, so a few requests filed at once already outrun the
budget. Every story runs the real bot against the sandbox Telegram over HTTP.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import pytest

from bot.delivery import sender as delivery
from sandbox import Sandbox, SimChat, SimMessage, SimUser
from tests.conftest import TOKEN, Town, sandbox_limits
from tests.flows import REF, card_of, eventually, file_request, open_bot, open_form

GROUP_BUDGET = 3  # messages a minute to a group, and as many edits
MINUTE = 3.0  # seconds the sandbox counts as a minute
CLAIM = "🙋 Claim"
WAIT = 30.0  # a few short "minutes" of the group's budget


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    """A sandbox whose groups take 3 messages and 3 edits per 3-second minute."""
    limits = replace(sandbox_limits(), group_per_minute=GROUP_BUDGET,
                     group_edits_per_minute=GROUP_BUDGET, group_window=MINUTE)
    async with Sandbox(token=TOKEN, limits=limits) as sb:
        yield sb


@pytest.fixture
def town_settings(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The bot keeps to the same budget, with its usual margin on the minute (61 of 60)."""
    monkeypatch.setattr(delivery, "GROUP_WINDOW", MINUTE * 61 / 60)
    return {"delivery": {"group_per_minute": GROUP_BUDGET}}


# -- small steps the stories share -----------------------------------------------------------


async def fill_form(citizen: SimUser, text: str) -> None:
    """A citizen goes through the form up to the summary, without sending it yet."""
    await open_form(citizen, command=True)
    await citizen.press("Help for the elderly")
    await citizen.wait_for(text="describe the problem")
    await citizen.send(text)
    await citizen.wait_for(text="Where is it")
    await citizen.send("12 Jianshe Road")
    await citizen.wait_for(text="How can the volunteer reach you")
    await citizen.tap("Skip")
    await citizen.wait_for(text="Is everything correct?")


async def storm(town: Town, count: int) -> list[str]:
    """`count` citizens fill in the form, then all press Send at the same moment; returns
    the references from their receipts."""
    citizens = [town.sb.add_user(f"Neighbour {n}", language_code="en") for n in range(count)]
    await asyncio.gather(*(fill_form(c, f"Storm damage number {n}.")
                           for n, c in enumerate(citizens)))
    await asyncio.gather(*(c.press("✅ Confirm and send") for c in citizens))
    receipts = await asyncio.gather(*(c.wait_for(text="Reference number", timeout=WAIT)
                                      for c in citizens))
    refs = []
    for receipt in receipts:
        match = REF.search(receipt.text or "")
        assert match, receipt.text
        refs.append(match.group(0))
    return refs


async def all_shown(town: Town, group: SimChat, refs: list[str]) -> None:
    """Wait until every reference is on some message of the group."""
    await town.sb.wait_until(
        lambda: all(any(ref in (m.text or "") for m in group.bot_messages()) for ref in refs),
        timeout=WAIT)


def combined_messages(group: SimChat) -> list[SimMessage]:
    """The group's messages that list several requests (several Claim buttons)."""
    return [m for m in group.bot_messages() if len(m.buttons) > 1]


def section(message: SimMessage, ref: str) -> str:
    """The part of a combined message about one request."""
    parts = [part for part in (message.text or "").split("\n\n") if ref in part]
    assert len(parts) == 1, message.text
    return parts[0]


def refs_on(message: SimMessage) -> list[str]:
    """The references a message lists, in order."""
    return REF.findall(message.text or "")


async def biggest_combined(town: Town, count: int = 8) -> tuple[SimMessage, list[str]]:
    """A storm into the volunteers group; returns its biggest combined message and refs."""
    refs = await storm(town, count)
    await all_shown(town, town.volunteers, refs)
    combined = max(combined_messages(town.volunteers), key=lambda m: len(m.buttons))
    return combined, refs_on(combined)


def assert_clean(town: Town) -> None:
    """Telegram never had to slow the bot down and refused none of its calls."""
    assert town.sb.count_429 == 0, town.sb.errors
    assert town.sb.errors == []


# -- the stories -----------------------------------------------------------------------------


async def test_a_storm_reaches_the_group_in_fewer_messages_each_request_with_its_button(
    town: Town,
) -> None:
    """Eight neighbours send requests at the same moment to a group that may take three
    messages a minute. Each gets a receipt at once; every request reaches the group exactly
    once, in fewer messages than requests; a message listing several has one "Claim <ref>"
    button per request it lists, claiming that request; its cards all point at that message;
    and Telegram never had to slow the bot down."""
    refs = await storm(town, 8)
    group = town.volunteers
    await all_shown(town, group, refs)

    messages = group.bot_messages()
    assert len(messages) < len(refs)
    listed = [ref for m in messages for ref in refs_on(m)]
    assert sorted(listed) == sorted(refs)  # each request once, none lost
    combined = combined_messages(group)
    assert combined, [m.text for m in messages]
    services = town.bot.services
    assert services is not None

    async def cards_recorded() -> bool:
        # The group shows a message before the bot has read Telegram's answer and noted its id.
        async with services.env.db.reading() as repo:
            for ref in listed:
                request = await repo.requests.request_by_ref(ref)
                cards = await repo.cards.active_cards(request.id) if request else []
                if not cards or any(card.message_id is None for card in cards):
                    return False
        return True

    await eventually(cards_recorded)
    for message in combined:
        shown = refs_on(message)
        assert message.buttons == [f"{CLAIM} {ref}" for ref in shown]
        async with services.env.db.reading() as repo:
            for ref in shown:
                request = await repo.requests.request_by_ref(ref)
                assert request is not None
                assert message.button_data[f"{CLAIM} {ref}"] == f"claim:{request.id}"
                cards = await repo.cards.active_cards(request.id)
                assert [card.message_id for card in cards] == [message.message_id]
        assert "waiting for a volunteer" in section(message, shown[0])
    assert_clean(town)


async def test_two_volunteers_claim_two_requests_of_one_combined_message(town: Town) -> None:
    """Li presses "Claim" for the first request of a combined message: it is his, the message
    now shows it claimed by Li without its button while the others keep theirs. Zhang then
    claims the second request from the same message and gets it; Li's stays his."""
    await open_bot(town.vol1, town.vol2)
    message, refs = await biggest_combined(town)
    first, second, *rest = refs

    press = await town.vol1.press(f"{CLAIM} {first}", chat=town.volunteers, message=message)
    assert ((await press.answer()).text or "").startswith(f"It is yours: {first}")
    await town.vol1.wait_for(text=f"You took {first}")
    await town.sb.wait_until(lambda: "claimed by Li" in section(message, first), timeout=WAIT)
    assert message.buttons == [f"{CLAIM} {ref}" for ref in [second, *rest]]
    assert all("waiting for a volunteer" in section(message, ref) for ref in [second, *rest])

    press = await town.vol2.press(f"{CLAIM} {second}", chat=town.volunteers, message=message)
    assert ((await press.answer()).text or "").startswith(f"It is yours: {second}")
    await town.vol2.wait_for(text=f"You took {second}")
    await town.sb.wait_until(lambda: "claimed by Zhang" in section(message, second),
                             timeout=WAIT)
    assert "claimed by Li" in section(message, first)
    assert message.buttons == [f"{CLAIM} {ref}" for ref in rest]
    assert_clean(town)


async def test_edits_queued_for_one_combined_message_go_as_one_edit(town: Town) -> None:
    """Li and Zhang each claim a request of the same combined message while the bot's sender
    is held up: when it resumes, one edit shows both claims (the group's edit budget is as
    short as its message budget), and nothing is left queued."""
    await open_bot(town.vol1, town.vol2)
    message, refs = await biggest_combined(town)
    first, second, *rest = refs
    services = town.bot.services
    assert services is not None
    edits_before = message.edits

    await services.sender.stop()
    for volunteer, ref in ((town.vol1, first), (town.vol2, second)):
        press = await volunteer.press(f"{CLAIM} {ref}", chat=town.volunteers, message=message)
        assert ((await press.answer()).text or "").startswith(f"It is yours: {ref}")
    services.sender.start()

    await town.sb.wait_until(lambda: "claimed by Zhang" in section(message, second)
                             and "claimed by Li" in section(message, first), timeout=WAIT)
    for volunteer, ref in ((town.vol1, first), (town.vol2, second)):
        await volunteer.wait_for(text=f"You took {ref}", timeout=WAIT)
        async with services.env.db.reading() as repo:
            request = await repo.requests.request_by_ref(ref)
        assert request is not None
        citizen = town.sb.users[request.citizen_id]
        await citizen.wait_for(text=f"a volunteer has taken your request {ref}", timeout=WAIT)
    assert message.edits == edits_before + 1
    assert message.buttons == [f"{CLAIM} {ref}" for ref in rest]
    async with services.env.db.reading() as repo:
        assert await repo.outbox.pending_outbox() == 0
    assert_clean(town)  # a second edit with the same text would have been refused


async def test_a_request_cancelled_in_a_combined_message_loses_its_button(town: Town) -> None:
    """A neighbour cancels a request that a combined message lists: that part says it was
    cancelled and its Claim button goes; the other requests keep theirs."""
    message, refs = await biggest_combined(town, 6)
    gone, *kept = refs
    services = town.bot.services
    assert services is not None
    async with services.env.db.reading() as repo:
        request = await repo.requests.request_by_ref(gone)
        assert request is not None
    citizen = town.sb.users[request.citizen_id]

    await citizen.send("/my")
    listing = await citizen.wait_for(text="Your requests")
    await citizen.press(f"✖ Cancel {gone}", message=listing)
    await citizen.wait_for(text=f"Cancel request {gone}?")
    yes = await citizen.press("Yes, cancel it")
    assert (await yes.answer()).text == "Cancelled"
    await town.sb.wait_until(lambda: "cancelled by the citizen" in section(message, gone),
                             timeout=WAIT)
    assert message.buttons == [f"{CLAIM} {ref}" for ref in kept]
    assert_clean(town)


async def test_a_reopened_request_keeps_its_note_when_its_combined_message_is_redrawn(
    town: Town,
) -> None:
    """Li claims and finishes a request from a combined message, but its citizen says it is
    not resolved: that part of the message is marked as history without a button, and a
    fresh card of its own appears. When Zhang then claims another request of the same
    message, the redrawn message still marks the reopened one (it does not offer it again)."""
    await open_bot(town.vol1, town.vol2)
    message, refs = await biggest_combined(town)
    first, second, *_ = refs
    services = town.bot.services
    assert services is not None
    async with services.env.db.reading() as repo:
        request = await repo.requests.request_by_ref(first)
        assert request is not None
    citizen = town.sb.users[request.citizen_id]
    town.volunteers.mark_read()  # what the group shows so far; the fresh card comes later

    await (await town.vol1.press(f"{CLAIM} {first}", chat=town.volunteers,
                                 message=message)).answer()
    details = await town.vol1.wait_for(text=f"You took {first}")
    await town.vol1.press("✅ Done", message=details)
    prompt = await town.vol1.wait_for(text="Write a short note")
    await town.vol1.press("Skip", message=prompt)
    await citizen.wait_for(text=f"Is your request {first} resolved?", timeout=WAIT)
    await (await citizen.press("👎 No, not yet")).answer()

    fresh = await town.volunteers.wait_for(text=first, timeout=WAIT)
    assert fresh.buttons == [CLAIM]
    await town.sb.wait_until(lambda: "not resolved" in section(message, first), timeout=WAIT)
    assert f"{CLAIM} {first}" not in message.buttons

    await (await town.vol2.press(f"{CLAIM} {second}", chat=town.volunteers,
                                 message=message)).answer()
    await town.sb.wait_until(lambda: "claimed by Zhang" in section(message, second),
                             timeout=WAIT)
    assert "not resolved" in section(message, first)
    assert f"{CLAIM} {first}" not in message.buttons
    assert_clean(town)


async def test_one_request_on_a_quiet_day_still_gets_a_card_of_its_own(town: Town) -> None:
    """Under normal load nothing changes: one request, one card, one plain Claim button."""
    ref = await file_request(town.citizen)
    card = await card_of(town.volunteers, ref)
    assert card.buttons == [CLAIM]
    assert refs_on(card) == [ref]
    assert len(town.volunteers.bot_messages()) == 1
    assert_clean(town)


async def test_a_combined_message_someone_deleted_comes_back_as_the_requests_still_waiting(
    town: Town,
) -> None:
    """Li and Zhang each claim a request of a combined message; then an admin of the group
    deletes the message. Li cannot do his after all and releases it: the message is not there
    to redraw, so every request it listed that still waits (Li's again, and the untouched
    ones) comes back with its Claim button, and Zhang's, which has nothing left to press,
    does not. Zhang claims Li's request on the card it came back on."""
    await open_bot(town.vol1, town.vol2)
    message, refs = await biggest_combined(town, 6)
    first, second, *rest = refs
    details = {}
    for volunteer, ref in ((town.vol1, first), (town.vol2, second)):
        press = await volunteer.press(f"{CLAIM} {ref}", chat=town.volunteers, message=message)
        assert ((await press.answer()).text or "").startswith(f"It is yours: {ref}")
        details[ref] = await volunteer.wait_for(text=f"You took {ref}", timeout=WAIT)
    await town.sb.wait_until(lambda: "claimed by Zhang" in section(message, second)
                             and "claimed by Li" in section(message, first), timeout=WAIT)
    town.volunteers.add_member(town.admin, status="administrator")
    town.volunteers.delete(message, by=town.admin)

    await (await town.vol1.press("↩️ Release", message=details[first])).answer()
    waiting = [first, *rest]
    await all_shown(town, town.volunteers, waiting)

    def claimable(ref: str) -> SimMessage:
        [shown] = [m for m in town.volunteers.bot_messages() if ref in refs_on(m)]
        assert CLAIM in shown.buttons or f"{CLAIM} {ref}" in shown.buttons, shown.buttons
        assert "waiting for a volunteer" in section(shown, ref)
        return shown

    again = {ref: claimable(ref) for ref in waiting}
    assert not [m for m in town.volunteers.bot_messages() if second in refs_on(m)]
    card = again[first]
    label = CLAIM if card.buttons == [CLAIM] else f"{CLAIM} {first}"
    press = await town.vol2.press(label, chat=town.volunteers, message=card)
    assert ((await press.answer()).text or "").startswith(f"It is yours: {first}")
    await town.sb.wait_until(lambda: "claimed by Zhang" in section(card, first), timeout=WAIT)
    assert town.sb.count_429 == 0, town.sb.errors
    assert town.sb.errors == [("editMessageText", "Bad Request: message to edit not found")]
