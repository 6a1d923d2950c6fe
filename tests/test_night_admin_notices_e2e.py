"""Quiet hours (22:00-08:00 in Shanghai) for loop 1's notices to a centre admin who, with no
admin chat, hears them in private: what someone else's act tells him at night goes as
bot/night.py's table says. The bot added to a group, or removed from one, and a masked chat
reported come at once without a sound (someone may be binding the group now; requests moved,
a report to read); a request its citizen reopened is a fact, held to 08:00. A request's card
he deleted from his chat comes back, redrawn by a volunteer's press, at once and silently.
Each at 23:30, at 02:00 and on New Year's Eve at 23:50 (whose morning is next year's), and by
day with its sound.

The town is conftest's with `admin_chat_id = 0`.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from tests.conftest import Town
from tests.flows import card_of, claim, file_request, open_bot
from tests.test_dispatch_e2e import claim_and_get_details, finish
from tests.test_night_no_admin_chat_e2e import AT_NIGHT, NIGHT_OR_DAY, SECOND
from tests.test_night_policy_e2e import sounds
from tests.test_quiet_hours_e2e import at, said, sent_what_is_due
from tests.test_relay_e2e import TO_CITIZEN, claimed, open_chat

ADDED = "was added to the group"
REMOVED = "was removed from the group"
REOPENED = "was reopened by the citizen"
REPORTED = "was reported by the citizen"


@pytest.fixture
def town_settings() -> dict[str, Any]:
    return {"admin_chat_id": 0}


@NIGHT_OR_DAY
async def test_the_bot_added_to_a_group_is_told_to_the_admin_at_once_silently_at_night(
        town: Town, moment: datetime, sound: bool) -> None:
    """Li adds the bot to a new group at `moment`: the admin, who may be binding it, hears at
    once, without a sound at night."""
    await open_bot(town.admin)
    lawyers = town.sb.add_group("Lawyers")
    town.clock.set(moment)
    lawyers.add_bot(by=town.vol1)
    await town.admin.wait_for(text=f"{ADDED} Lawyers by Li")
    assert sounds(town, town.admin.id, ADDED) == [sound]


@NIGHT_OR_DAY
async def test_the_bot_removed_from_a_group_is_told_to_the_admin_at_once_silently_at_night(
        town: Town, moment: datetime, sound: bool) -> None:
    """The volunteers' group removes the bot at `moment`, a request waiting there: its card
    comes to the admin, and why, at once, without a sound at night."""
    await open_bot(town.admin)
    town.clock.set(moment - timedelta(minutes=10))
    ref = await file_request(town.citizen)
    await card_of(town.volunteers, ref)
    town.clock.set(moment)
    town.volunteers.remove_bot(by=town.vol1)
    told = await town.admin.wait_for(text=REMOVED)
    assert "1 waiting request" in (told.text or "")
    await card_of(town.admin.private, ref)
    assert sounds(town, town.admin.id, REMOVED) == [sound]
    assert sounds(town, town.admin.id, ref) == [sound]  # the card


@AT_NIGHT
async def test_a_request_reopened_at_night_is_told_to_the_admin_at_08_00(
        town: Town, night: datetime, morning: datetime) -> None:
    """Li marked Alice's request done; at `night` she says it is not resolved. Its fresh card
    goes up in the volunteers' group at once; the admin reads that it was reopened at 08:00,
    once."""
    await open_bot(town.admin, town.vol1)
    town.clock.set(night - timedelta(hours=1))
    ref = await file_request(town.citizen)
    card = await card_of(town.volunteers, ref)
    details = await claim_and_get_details(town, town.vol1, town.volunteers, card, ref)
    await finish(town.vol1, details, ref)
    await town.citizen.wait_for(text=f"Is your request {ref} resolved?")
    town.clock.set(night)
    await (await town.citizen.press("👎 No, not yet")).answer()
    fresh = await town.volunteers.wait_for(text=ref, predicate=lambda m: m is not card)
    assert fresh.buttons == ["🙋 Claim"]
    await sent_what_is_due(town)
    await at(town, morning - SECOND)
    assert said(town.admin, REOPENED) == []

    await at(town, morning + SECOND)
    told = await town.admin.wait_for(text=f"{ref} {REOPENED}")
    assert "volunteer: Li" in (told.text or "")
    await at(town, morning + timedelta(hours=1))
    assert len(said(town.admin, REOPENED)) == 1


async def test_a_request_reopened_by_day_is_told_to_the_admin_at_once(town: Town) -> None:
    await open_bot(town.admin, town.vol1)
    ref = await file_request(town.citizen)
    card = await card_of(town.volunteers, ref)
    details = await claim_and_get_details(town, town.vol1, town.volunteers, card, ref)
    await finish(town.vol1, details, ref)
    await town.citizen.wait_for(text=f"Is your request {ref} resolved?")
    await (await town.citizen.press("👎 No, not yet")).answer()
    await town.admin.wait_for(text=f"{ref} {REOPENED}")
    assert sounds(town, town.admin.id, REOPENED) == [True]


@NIGHT_OR_DAY
async def test_a_chat_reported_at_night_is_told_to_the_admin_at_once_silently(
        town: Town, moment: datetime, sound: bool) -> None:
    """Li writes something rude to Alice at `moment` and she reports the chat: the admin is
    told at once, to read it with /thread, without a sound at night."""
    await open_bot(town.admin)
    town.clock.set(moment - timedelta(minutes=10))
    taken = await claimed(town, town.citizen, town.vol1)
    await open_chat(town.vol1, TO_CITIZEN, taken.details)
    town.clock.set(moment)
    await town.vol1.send("You are a nuisance, lady.")
    rude = await town.citizen.wait_for(text="You are a nuisance")
    await (await town.citizen.press("🚩 Report", message=rude)).answer()
    confirm = await town.citizen.wait_for(text="Report the chat on request")
    await (await town.citizen.press("Yes, report it", message=confirm)).answer()
    told = await town.admin.wait_for(text=f"The chat on request {taken.ref} {REPORTED}")
    assert f"/thread {taken.ref}" in (told.text or "")
    assert sounds(town, town.admin.id, REPORTED) == [sound]


@NIGHT_OR_DAY
async def test_a_card_the_admin_deleted_comes_back_at_once_silently_at_night(
        town: Town, moment: datetime, sound: bool) -> None:
    """Alice's request climbed to the admin in private two hours after she filed it; he
    deleted its card from his chat. At `moment` Li, who had claimed it from the volunteers'
    group, releases it: the admin's card, which cannot be redrawn, comes back with Claim, at
    once, without a sound at night."""
    await open_bot(town.admin, town.vol1)
    town.clock.set(moment - timedelta(hours=2, minutes=10))
    ref = await file_request(town.citizen)
    group_card = await card_of(town.volunteers, ref)
    await at(town, moment - timedelta(minutes=10) + SECOND)
    mine = await card_of(town.admin.private, ref)
    town.admin.private.delete(mine, by=town.admin)
    assert ref in await claim(town.vol1, town.volunteers, group_card)
    details = await town.vol1.wait_for(text=f"You took {ref}")
    await sent_what_is_due(town)

    town.clock.set(moment)
    await (await town.vol1.press("↩️ Release", message=details)).answer()
    again = await town.admin.wait_for(
        text=ref, predicate=lambda m: m is not mine and m.buttons == ["🙋 Claim"])
    assert not again.deleted
    assert sounds(town, town.admin.id, ref)[-1] == sound
