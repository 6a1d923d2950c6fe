"""Quiet hours (22:00-08:00 in Shanghai) in a district with no admin chat, whose centre admin
hears in private what the admin chat would have: a card that is his to act on comes at once,
without a sound (a request that climbed to him, a card its group refused, with its notice);
what can wait does, to 08:00, and then only if still true (a request's claim reminder and "it
has waited too long", under his card), or held (the outage report, a group's new id to put in
the config file). Each story at 23:30, at 02:00 and on New Year's Eve at 23:50, whose morning
is next year's.

The town is conftest's with `admin_chat_id = 0`; its groups are basic groups (Telegram may
upgrade them), and an outage of two minutes is reported.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from tests.conftest import SHANGHAI, Town
from tests.flows import card_of, claim, file_request, open_bot
from tests.test_group_upgrade_e2e import upgrade
from tests.test_night_policy_e2e import sounds
from tests.test_quiet_hours_e2e import at, said, sent_what_is_due

REMINDER = "Still waiting for a volunteer"
WAITED = "has waited too long without a volunteer"
ESCALATED = "no volunteer has claimed this yet"
REFUSED = "could not be posted to its group"
OUTAGE = "could not be reached"
UPGRADED = "is now a supergroup"
TOPIC_GONE = "of District teams is gone"


@pytest.fixture
def town_settings() -> dict[str, Any]:
    return {"admin_chat_id": 0,
            "delivery": {"max_attempts": 1, "outage_report_after": "2m"}}


@pytest.fixture
def town_groups() -> str:
    return "group"


def local(year: int, month: int, day: int, hour: int, minute: int = 0,
          second: int = 0) -> datetime:
    """A moment in Shanghai."""
    return datetime(year, month, day, hour, minute, second, tzinfo=SHANGHAI)


NIGHTS = [(local(2026, 6, 12, 23, 30), local(2026, 6, 13, 8, 0)),
          (local(2026, 6, 13, 2, 0), local(2026, 6, 13, 8, 0)),
          (local(2026, 12, 31, 23, 50), local(2027, 1, 1, 8, 0))]
NIGHT_IDS = ["23:30", "02:00", "new year's eve 23:50"]
AT_NIGHT = pytest.mark.parametrize(("night", "morning"), NIGHTS, ids=NIGHT_IDS)
# The same moments, and one by day, with whether a message then makes a sound.
NIGHT_OR_DAY = pytest.mark.parametrize(
    ("moment", "sound"),
    [(night, False) for night, _ in NIGHTS] + [(local(2026, 6, 12, 15, 0), True)],
    ids=[*NIGHT_IDS, "day 15:00"])
SECOND = timedelta(seconds=1)


# -- a request's card with the admin in private -------------------------------------------------


@AT_NIGHT
async def test_a_request_left_unclaimed_all_night_is_flagged_to_the_admin_at_08_00_once(
        town: Town, night: datetime, morning: datetime) -> None:
    """Legal aid has no group: its card is with the admin. Its claim reminder falls at
    `night`, and it waits too long 90 minutes later: at 08:00 he is told once that it has
    waited too long, and the night's reminder, said better by that, is not sent."""
    await open_bot(town.admin)
    town.clock.set(night - timedelta(minutes=30))
    ref = await file_request(town.citizen, category="Legal aid")
    await card_of(town.admin.private, ref)
    await at(town, night + SECOND)
    await at(town, night + timedelta(minutes=90) + SECOND)
    await at(town, morning - timedelta(minutes=1))
    assert (said(town.admin, REMINDER), said(town.admin, WAITED)) == ([], [])

    await at(town, morning + SECOND)
    flagged = await town.admin.wait_for(text=WAITED)
    assert ref in (flagged.text or "")
    await at(town, morning + timedelta(hours=1))
    assert (len(said(town.admin, REMINDER)), len(said(town.admin, WAITED))) == (0, 1)


@AT_NIGHT
async def test_a_request_claimed_at_07_30_is_not_flagged_at_08_00(
        town: Town, night: datetime, morning: datetime) -> None:
    await open_bot(town.admin)
    town.clock.set(night - timedelta(minutes=30))
    ref = await file_request(town.citizen, category="Legal aid")
    card = await card_of(town.admin.private, ref)
    await at(town, night + SECOND)
    await at(town, night + timedelta(minutes=90) + SECOND)
    town.clock.set(morning - timedelta(minutes=30))
    assert ref in await claim(town.admin, town.admin.private, card)
    await at(town, morning + SECOND)
    await at(town, morning + timedelta(hours=1))
    assert (said(town.admin, REMINDER), said(town.admin, WAITED)) == ([], [])


@AT_NIGHT
async def test_a_flag_held_for_08_00_that_finds_the_bot_off_until_23_00_waits_for_the_next_08_00(
        town: Town, night: datetime, morning: datetime) -> None:
    """The request waits too long at night; the bot is off from 07:00 until 23:00 the next
    night. At 23:00 it is night again: the admin is not told then, but at 08:00 the morning
    after, once."""
    await open_bot(town.admin)
    town.clock.set(night - timedelta(minutes=30))
    ref = await file_request(town.citizen, category="Legal aid")
    await card_of(town.admin.private, ref)
    await at(town, night + timedelta(minutes=90) + SECOND)
    await at(town, morning - timedelta(hours=1))
    await at(town, morning + timedelta(hours=15))
    await at(town, morning + timedelta(hours=23, minutes=59))
    assert (said(town.admin, REMINDER), said(town.admin, WAITED)) == ([], [])

    await at(town, morning + timedelta(days=1) + SECOND)
    flagged = await town.admin.wait_for(text=WAITED)
    assert ref in (flagged.text or "")
    await at(town, morning + timedelta(days=1, hours=1))
    assert (len(said(town.admin, REMINDER)), len(said(town.admin, WAITED))) == (0, 1)


@AT_NIGHT
async def test_a_flag_held_over_a_night_off_is_not_sent_once_the_request_is_claimed(
        town: Town, night: datetime, morning: datetime) -> None:
    """The same night off; the admin claims the request at 07:30 the morning after: at 08:00
    he is told nothing, since the flag asks again then."""
    await open_bot(town.admin)
    town.clock.set(night - timedelta(minutes=30))
    ref = await file_request(town.citizen, category="Legal aid")
    card = await card_of(town.admin.private, ref)
    await at(town, night + timedelta(minutes=90) + SECOND)
    await at(town, morning + timedelta(hours=15))
    town.clock.set(morning + timedelta(hours=23, minutes=30))
    assert ref in await claim(town.admin, town.admin.private, card)
    await at(town, morning + timedelta(days=1) + SECOND)
    await at(town, morning + timedelta(days=1, hours=1))
    assert (said(town.admin, REMINDER), said(town.admin, WAITED)) == ([], [])


async def test_a_claim_reminder_due_at_07_30_reaches_the_admin_at_08_00_under_his_card(
        town: Town) -> None:
    """Filed at 07:00, reminded at 07:30, climbing only at 09:00: at 08:00 the reminder
    comes, once, with a sound, and at 09:00 "it has waited too long"."""
    await open_bot(town.admin)
    town.clock.set(local(2026, 6, 11, 7, 0))
    ref = await file_request(town.citizen, category="Legal aid")
    card = await card_of(town.admin.private, ref)
    await at(town, local(2026, 6, 11, 7, 30, 1))
    assert said(town.admin, REMINDER) == []
    await at(town, local(2026, 6, 11, 8, 0, 1))
    reminder = await town.admin.wait_for(text=REMINDER)
    assert ref in (reminder.text or "") and reminder.reply_to_message_id == card.message_id
    await at(town, local(2026, 6, 11, 9, 0, 1))
    await town.admin.wait_for(text=WAITED)
    assert len(said(town.admin, REMINDER)) == 1
    assert sounds(town, town.admin.id, REMINDER) == [True]


@NIGHT_OR_DAY
async def test_a_request_no_group_takes_reaches_the_admin_at_once(
        town: Town, moment: datetime, sound: bool) -> None:
    """Legal aid has no group: a request filed at `moment` is the admin's to see to, so its
    card comes at once, silently at night."""
    await open_bot(town.admin)
    town.clock.set(moment)
    ref = await file_request(town.citizen, category="Legal aid")
    card = await card_of(town.admin.private, ref)
    assert card.buttons == ["🙋 Claim"]
    assert sounds(town, town.admin.id, ref) == [sound]


@NIGHT_OR_DAY
async def test_a_request_that_climbs_to_the_admin_brings_its_card_at_once(
        town: Town, moment: datetime, sound: bool) -> None:
    """Nobody in the volunteers' group claims: after two hours its card reaches the admin in
    private at once, his to act on, silently at night."""
    await open_bot(town.admin)
    town.clock.set(moment - timedelta(hours=2))
    ref = await file_request(town.citizen)
    await card_of(town.volunteers, ref)
    await at(town, moment + SECOND)
    card = await town.admin.wait_for(text=ESCALATED)
    assert ref in (card.text or "") and card.buttons == ["🙋 Claim"]
    assert sounds(town, town.admin.id, ESCALATED) == [sound]


@NIGHT_OR_DAY
async def test_a_topic_closed_under_its_cards_is_told_to_the_admin_at_once(
        town: Town, moment: datetime, sound: bool) -> None:
    """Elderly help is bound in a forum's topic, which someone closes. A request filed at
    `moment` is posted in the forum's General instead, and the admin hears at once that the
    topic is closed (his to bind again when he likes), silently at night."""
    await open_bot(town.admin)
    forum = town.sb.add_group("District teams", forum=True)
    forum.add_member(town.admin, status="administrator")
    elderly = forum.create_topic("Elderly help", by=town.admin)
    await town.admin.send("/bind elderly", chat=forum, topic=elderly)
    await forum.wait_for(text="now receives requests")
    forum.close_topic(elderly, by=town.admin)
    town.clock.set(moment)
    ref = await file_request(town.citizen)
    assert (await card_of(forum, ref)).thread_id is None
    await town.admin.wait_for(text="is closed")
    assert sounds(town, town.admin.id, "is closed") == [sound]


@NIGHT_OR_DAY
async def test_a_card_its_group_refuses_reaches_the_admin_at_once_with_its_notice(
        town: Town, moment: datetime, sound: bool) -> None:
    """The volunteers' group removed the bot: a request filed at `moment` goes to the admin
    instead, the notice and the card at once, silently at night."""
    await open_bot(town.admin)
    town.volunteers.remove_bot()
    town.clock.set(moment)
    ref = await file_request(town.citizen)
    await town.admin.wait_for(text=REFUSED)
    card = await card_of(town.admin.private, ref)
    assert card.buttons == ["🙋 Claim"]
    assert sounds(town, town.admin.id, ref) == [sound, sound]


# -- reports that can wait -----------------------------------------------------------------------


@AT_NIGHT
async def test_an_outage_over_at_night_is_reported_to_the_admin_at_08_00(
        town: Town, night: datetime, morning: datetime) -> None:
    """Telegram is away for five minutes at `night`, as a claim reminder falls due: the group
    has its reminder when it is back; the admin reads how long it lasted at 08:00."""
    await open_bot(town.admin)
    town.clock.set(night - timedelta(minutes=31))
    ref = await file_request(town.citizen)
    await card_of(town.volunteers, ref)
    town.sb.unreachable = True
    town.clock.set(night)
    assert await town.tick() >= 1
    await town.sb.wait_until(lambda: town.sb.dropped.count("sendMessage") >= 3, timeout=15)
    town.clock.advance(minutes=5)
    town.sb.unreachable = False
    await town.volunteers.wait_for(text=REMINDER, timeout=30)
    await sent_what_is_due(town)
    await at(town, morning - timedelta(minutes=1))
    assert said(town.admin, OUTAGE) == []

    await at(town, morning + SECOND)
    report = await town.admin.wait_for(text=OUTAGE)
    assert "about 5 min" in (report.text or "")
    await at(town, morning + timedelta(hours=1))
    assert len(said(town.admin, OUTAGE)) == 1


@AT_NIGHT
async def test_a_group_upgraded_at_night_is_told_to_the_admin_at_08_00(
        town: Town, night: datetime, morning: datetime) -> None:
    """The volunteers' group becomes a supergroup at `night`: the bot follows it at once; the
    admin is asked at 08:00 to put its new id in the config file."""
    await open_bot(town.admin)
    town.clock.set(night)
    new_id = await upgrade(town, town.volunteers)
    await sent_what_is_due(town)
    await at(town, morning - timedelta(minutes=1))
    assert said(town.admin, UPGRADED) == []

    await at(town, morning + SECOND)
    told = await town.admin.wait_for(text=UPGRADED)
    assert f"group_id = {new_id}" in (told.text or "")
    await at(town, morning + timedelta(hours=1))
    assert len(said(town.admin, UPGRADED)) == 1


@AT_NIGHT
async def test_a_topic_deleted_under_its_cards_is_told_to_the_admin_at_once_silently(
        town: Town, night: datetime, morning: datetime) -> None:
    """Elderly help is bound to a forum's topic, which someone deletes. Alice's request at
    `night` is posted in the forum's General topic at once, and the admin reads at once,
    without a sound, that the topic is gone (his to bind again when he likes), once: as a
    closed topic is told."""
    await open_bot(town.admin)
    forum = town.sb.add_group("District teams", forum=True)
    forum.add_member(town.admin, status="administrator")
    elderly = forum.create_topic("Elderly help", by=town.admin)
    await town.admin.send("/bind elderly", chat=forum, topic=elderly)
    await forum.wait_for(text="now receives requests")
    forum.delete_topic(elderly)
    town.clock.set(night)
    ref = await file_request(town.citizen)
    assert (await card_of(forum, ref)).thread_id is None
    await town.admin.wait_for(text=TOPIC_GONE)
    assert sounds(town, town.admin.id, TOPIC_GONE) == [False]
    await at(town, morning + timedelta(hours=1))
    assert len(said(town.admin, TOPIC_GONE)) == 1
