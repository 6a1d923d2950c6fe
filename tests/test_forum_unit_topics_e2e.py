"""Forum supergroups, loop 3: /bind unit <id> typed in a topic makes that topic the unit's
place, so its problems' cards (with their before photos), the reminders and the notices to the
unit are posted there, not in General; a topic deleted since sends them to the General topic,
and the admins hear once that the unit's topic is gone.

Problems are made as in tests/test_supervision_dispatch_e2e.py (`report`: the reporting
dialog's writes and the dispatch in one unit), so these stories start at the dispatch.
"""

from __future__ import annotations

from dataclasses import dataclass

from sandbox import SimChat, SimMessage, SimUser
from tests.conftest import Town
from tests.flows import open_bot
from tests.test_supervision_dispatch_e2e import press, rectify, report
from tests.test_supervision_dispatch_e2e import town_settings as town_settings  # the registers

OFFICE = "Guangminglu Subdistrict Office"
GONE = "is gone"


@dataclass
class Forum:
    """The district's forum of units, with a topic for the Guangminglu office (bound there)
    and one for the market bureau (not bound); Li inspects for G1."""

    chat: SimChat
    office: int
    market: int
    li: SimUser


async def office_topic(town: Town) -> Forum:
    """The admin types /bind unit guangminglu-office in the "Guangminglu office" topic and
    reads, there, that the topic is now the office's."""
    admin, li = town.admin, town.vol1
    await open_bot(admin, li, town.vol2)
    await admin.send(f"/inspector add {li.id} G1")
    await admin.wait_for(text="Li now inspects for G1")
    forum = town.sb.add_group("District units", forum=True)
    forum.add_member(admin, status="administrator")
    forum.add_member(town.vol2)
    office = forum.create_topic("Guangminglu office", by=admin)
    market = forum.create_topic("Market bureau", by=admin)
    await admin.send("/bind unit guangminglu-office", chat=forum, topic=office)
    bound = await forum.wait_for(text="now the place of")
    assert bound.thread_id == office
    assert bound.text == (f"✅ The topic “Guangminglu office” of this group is now the place "
                          f"of {OFFICE}: its problems to rectify will be posted here.")
    return Forum(forum, office, market, li)


def in_general(forum: SimChat) -> list[SimMessage]:
    """The bot's messages in the forum's General topic."""
    return [m for m in forum.bot_messages() if m.thread_id is None]


async def test_a_problem_for_a_unit_bound_in_a_topic_is_posted_in_that_topic(
    town: Town,
) -> None:
    """Li reports stalls in the lane with two photos: the photos and the office's card come to
    the Guangminglu office topic, not General. Zhang presses Received there; the card, edited,
    stays in the topic. Bound again in General, the office's next problem is posted in
    General."""
    f = await office_topic(town)
    ref = await report(town, f.li, photos=2)
    card = await f.chat.wait_for(text=ref)
    assert card.thread_id == f.office
    album = [m for m in f.chat.bot_messages() if "photo" in m.raw]
    assert len(album) == 2 and {m.thread_id for m in album} == {f.office}
    assert await press(town.vol2, "✅ Received", card) != ""
    await town.sb.wait_until(lambda: "Received by Zhang" in (card.text or ""))
    assert f.chat.get(card.message_id) is card and card.thread_id == f.office
    assert in_general(f.chat) == []

    await town.admin.send("/bind unit guangminglu-office", chat=f.chat)
    bound = await f.chat.wait_for(text="now the chat of")
    assert bound.thread_id is None
    second = await report(town, f.li, note="Rubbish by the gate", photos=0)
    assert (await f.chat.wait_for(text=second)).thread_id is None


async def test_the_units_reminders_and_notices_come_to_its_topic(town: Town) -> None:
    """Nobody presses Received on the office's card in time: the reminder comes to the
    office's topic. Once received, the reminder of the deadline comes there too; and when the
    inspector rejects the rectification, the office hears of it in its topic."""
    f = await office_topic(town)
    ref = await report(town, f.li)
    card = await f.chat.wait_for(text=ref)

    await town.tick(hours=4, minutes=1)  # receive_within: 4 hours
    unreceived = await f.chat.wait_for(text="has not been received yet")
    assert unreceived.thread_id == f.office

    await press(town.vol2, "✅ Received", card)
    await town.sb.wait_until(lambda: "Received by Zhang" in (card.text or ""))
    await town.tick(days=2)  # normal: 3 days, reminded one day ahead
    reminder = await f.chat.wait_for(text="is due to be put right by")
    assert reminder.thread_id == f.office

    await rectify(town.vol2, card)
    recheck = await f.li.wait_for(text=f"Re-check problem {ref}")
    await press(f.li, "❌ Reject", recheck)
    await f.li.wait_for(text="why is it not put right")
    await f.li.send("The stalls are back")
    rejected = await f.chat.wait_for(text="did not pass the re-check")
    assert rejected.thread_id == f.office
    assert in_general(f.chat) == []


async def test_a_units_deleted_topic_falls_back_to_general_and_the_admins_hear_once(
    town: Town,
) -> None:
    """Someone deletes the Guangminglu office topic. Li's next problem: Telegram refuses its
    photo and card there, so they are posted in the forum's General topic instead, and the
    admin chat is told once that the office's topic is gone; the card works as any other.
    The office's next problem goes straight to General, and nobody is told again."""
    f = await office_topic(town)
    f.chat.delete_topic(f.office)
    ref = await report(town, f.li)
    card = await f.chat.wait_for(text=ref)
    assert card.thread_id is None
    assert [m.thread_id for m in f.chat.bot_messages() if "photo" in m.raw] == [None]
    told = await town.admin_chat.wait_for(text=GONE)
    assert told.text == (f"⚠️ The topic “Guangminglu office” of District units is gone, so "
                         f"the cards for {OFFICE} are posted in its General topic now. To "
                         f"give them a topic again, type /bind in it.")
    assert await press(town.vol2, "✅ Received", card) != ""
    await town.sb.wait_until(lambda: "Received by Zhang" in (card.text or ""))

    second = await report(town, f.li, note="Rubbish by the gate")
    assert (await f.chat.wait_for(text=second)).thread_id is None
    await town.admin.send("/units", chat=town.admin_chat)
    await town.admin_chat.wait_for(text="Responsible units")  # after anything queued before
    assert [m for m in town.admin_chat.bot_messages() if GONE in (m.text or "")] == [told]


async def test_a_units_card_deleted_from_its_topic_comes_back_in_that_topic(
    town: Town,
) -> None:
    """Zhang acts for the office and has his own copy of its card. Someone deletes the card
    from the office's topic; Zhang presses Received on his copy: the topic's card cannot be
    redrawn, so it is posted again as it now stands, in the office's topic, not General."""
    f = await office_topic(town)
    await town.admin.send(f"/unitmember add guangminglu-office {town.vol2.id}")
    await town.admin.wait_for(text="Zhang now acts for")
    ref = await report(town, f.li)
    card = await f.chat.wait_for(text=ref)
    copy = await town.vol2.wait_for(text=ref)
    f.chat.delete(card, by=town.admin)

    await press(town.vol2, "✅ Received", copy)
    again = await f.chat.wait_for(text=ref, predicate=lambda m: m is not card)
    assert "Received by Zhang" in (again.text or "")
    assert again.thread_id == f.office


async def test_units_names_the_topic_a_unit_is_bound_in_as_bindings_does(town: Town) -> None:
    """/units shows where each unit's cards go: the office's topic of the forum, named as
    /bindings names a topic ("group › topic"); once that topic is deleted and the cards go to
    General, the group alone."""
    f = await office_topic(town)
    await town.admin.send("/units", chat=town.admin_chat)
    units = await town.admin_chat.wait_for(text="Responsible units")
    assert (f"{OFFICE} (guangminglu-office) · Guangminglu Subdistrict Institute · 3 points · "
            f"0 people → District units › Guangminglu office") in (units.text or ""), units.text

    f.chat.delete_topic(f.office)
    await report(town, f.li)
    await town.admin_chat.wait_for(text=GONE)
    await town.admin.send("/units", chat=town.admin_chat)
    units = await town.admin_chat.wait_for(text="Responsible units")
    assert (f"{OFFICE} (guangminglu-office) · Guangminglu Subdistrict Institute · 3 points · "
            f"0 people → District units\n") in (units.text or "") + "\n", units.text



async def test_a_unit_moved_from_a_topic_to_general_says_its_open_card_stays(
    town: Town,
) -> None:
    """The office's problem waits in its topic when the admin binds the office in the
    forum's General instead: the answer says the open card stays where it is, kept up to
    date there, and only new ones come to General; Zhang's Received edits it in the topic."""
    f = await office_topic(town)
    ref = await report(town, f.li)
    card = await f.chat.wait_for(text=ref)
    assert card.thread_id == f.office

    await town.admin.send("/bind unit guangminglu-office", chat=f.chat)
    bound = await f.chat.wait_for(text="now the chat of")
    assert bound.thread_id is None
    assert bound.text is not None and bound.text.endswith(
        "\n1 open card(s) already posted in this group stay where they are and are kept up "
        "to date there; only new ones come here."), bound.text
    assert await press(town.vol2, "✅ Received", card) != ""
    await town.sb.wait_until(lambda: "Received by Zhang" in (card.text or ""))
    assert f.chat.get(card.message_id) is card and card.thread_id == f.office


async def test_the_units_reminder_comes_beside_its_card_left_in_its_old_topic(
    town: Town,
) -> None:
    """The office's problem waits in its topic when the admin binds the office in the
    forum's General. Nobody presses Received in time: the reminder comes to the office's
    topic, beside the card, not to General."""
    f = await office_topic(town)
    ref = await report(town, f.li)
    card = await f.chat.wait_for(text=ref)
    await town.admin.send("/bind unit guangminglu-office", chat=f.chat)
    await f.chat.wait_for(text="now the chat of")

    await town.tick(hours=4, minutes=1)  # receive_within: 4 hours
    unreceived = await f.chat.wait_for(text="has not been received yet")
    assert unreceived.thread_id == f.office == card.thread_id
