"""Quiet hours (22:00-08:00 in Shanghai) for a request's news that one person's press, or an
admin's command, sends another in private (bot/night.py's "loop.news" and "casework.news"):
at night it goes at once, without a sound. The citizen may be awake and waiting for a
volunteer, and the volunteer on the way; nobody asleep is woken. Each story at 23:30, at
02:00 and on New Year's Eve at 23:50, and by day with its sound.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from tests.conftest import Town
from tests.flows import card_of, file_request, open_bot
from tests.test_casework_e2e import admin_says, claimed_by
from tests.test_night_no_admin_chat_e2e import NIGHT_OR_DAY
from tests.test_night_policy_e2e import sounds

CLAIMED = "a volunteer has taken your request"
RELEASED = "The volunteer could not do"
DONE = "The volunteer has finished your request"
RESOLVED = "resolved?"
NOT_RESOLVED = "The citizen says"
CANCELLED = "The citizen cancelled"


@NIGHT_OR_DAY
async def test_a_requests_news_between_citizen_and_volunteers_at_night_makes_no_sound(
        town: Town, moment: datetime, sound: bool) -> None:
    """Alice's request at `moment`: Li claims it and gives it back, Zhang claims it and
    finishes it, Alice says it is not resolved, Li takes it again and Alice cancels it. Each
    of them hears of the other's press at once; at night, silently."""
    alice, li, zhang = town.citizen, town.vol1, town.vol2
    await open_bot(li, zhang)
    town.clock.set(moment)
    ref = await file_request(alice)
    card = await card_of(town.volunteers, ref)
    details = await claimed_by(town, li, card, ref)
    await alice.wait_for(text=CLAIMED)
    await (await li.press("↩️ Release", message=details)).answer()
    await alice.wait_for(text=f"{RELEASED} {ref}")

    await town.sb.wait_until(lambda: card.buttons == ["🙋 Claim"])
    details = await claimed_by(town, zhang, card, ref)
    await zhang.press("✅ Done", message=details)
    await zhang.wait_for(text="Write a short note")
    await zhang.press("Skip")
    await alice.wait_for(text=DONE)
    await alice.wait_for(text=RESOLVED)
    await (await alice.press("👎 No, not yet")).answer()
    await zhang.wait_for(text=f"{NOT_RESOLVED} {ref} is not resolved")

    fresh = await town.volunteers.wait_for(text=ref, predicate=lambda m: m is not card)
    await claimed_by(town, li, fresh, ref)
    await alice.send("/my")
    listing = await alice.wait_for(text="Your requests")
    await alice.press(f"✖ Cancel {ref}", message=listing)
    await alice.wait_for(text=f"Cancel request {ref}?")
    await alice.press("Yes, cancel it")
    await li.wait_for(text=f"{CANCELLED} {ref}")

    assert sounds(town, alice.id, CLAIMED) == [sound] * 3
    assert sounds(town, alice.id, RELEASED) == [sound]
    assert sounds(town, alice.id, DONE) + sounds(town, alice.id, RESOLVED) == [sound, sound]
    assert sounds(town, zhang.id, NOT_RESOLVED) == [sound]
    assert sounds(town, li.id, CANCELLED) == [sound]


@NIGHT_OR_DAY
async def test_what_an_admins_casework_tells_people_at_night_makes_no_sound(
        town: Town, moment: datetime, sound: bool) -> None:
    """The admin, on duty at `moment`, gives Alice's request to Li, then cancels it: Li and
    Alice hear of each at once; at night, silently. The admin's own answers are his."""
    alice, li = town.citizen, town.vol1
    await open_bot(li)
    town.clock.set(moment - timedelta(minutes=5))
    ref = await file_request(alice)
    await card_of(town.volunteers, ref)
    town.clock.set(moment)
    await admin_says(town, f"/assign {ref} {li.id}", f"{ref} is assigned to Li")
    await li.wait_for(text=f"An admin has given you request {ref}")
    await li.wait_for(text=f"You took {ref}")
    await alice.wait_for(text=CLAIMED)
    await admin_says(town, f"/cancel {ref} a duplicate", f"{ref} is cancelled")
    await li.wait_for(text=f"An admin cancelled {ref} (a duplicate)")
    await alice.wait_for(text="was cancelled by the service centre. Reason: a duplicate")

    assert sounds(town, li.id, "An admin has given you") == [sound]
    assert sounds(town, alice.id, CLAIMED) == [sound]
    assert sounds(town, li.id, "An admin cancelled") == [sound]
    assert sounds(town, alice.id, "cancelled by the service centre") == [sound]
