"""A group becomes a supergroup (it passes 200 members, or an admin turns on a setting only a
supergroup has): its chat id changes, and Telegram says so with two service messages, one in
the old group (migrate_to_chat_id) and one in the supergroup (migrate_from_chat_id). On either
(in either order, only one of them, or one of them twice) the bot moves everything it keeps
about the old id to the new one, in one transaction, before it ever sends there: the cards a
group got before still take their presses (which come with the old group's id: the messages
stay where they were posted), and what goes to the group next goes straight to the supergroup.
The admin chat is in the config file: its new id is stored, used at once and after a restart,
and the admins are told to put it in the file.

Here the town's two groups (the elderly volunteers' group, the category's in the config, and the
admin chat) are basic groups; a unit's chat and a team's group are made as basic groups too.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from sandbox import SimChat, SimMessage, SimUser
from storage import Outgoing
from tests.conftest import Town
from tests.flows import card_of, claim, eventually, file_request, open_bot, supervision_town
from tests.test_activities_e2e import TEAMS, publish, published_card
from tests.test_admin_e2e import approved_volunteer
from tests.test_supervision_dispatch_e2e import press, report

ROOT = Path(__file__).resolve().parent.parent
LOOPS_2_AND_3 = pytest.mark.parametrize("town_settings", ["loops 2 and 3"], indirect=True)
UPGRADED = "upgraded to a supergroup"  # Telegram's refusal of a call to the old id


@pytest.fixture
def town_groups() -> str:
    """The town's groups are basic groups: Telegram may upgrade them."""
    return "group"


@pytest.fixture
def town_settings(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, Any]:
    """Conftest's town; for a story marked with LOOPS_2_AND_3, the example areas and
    registers (loop 3), themes and a teams file Li leads (loop 2)."""
    if getattr(request, "param", None) != "loops 2 and 3":
        return {}
    shutil.copy(ROOT / "themes.example.toml", tmp_path / "themes.toml")
    (tmp_path / "teams.csv").write_text(TEAMS, encoding="utf-8")
    return {**supervision_town(tmp_path), "activities": {"themes_file": "themes.toml"},
            "volunteers": {"teams_file": str(tmp_path / "teams.csv")}}


async def handled(town: Town) -> None:
    """Wait until the bot has handled every update Telegram has queued for it so far."""
    last = town.sb.world.last_update_id
    services = town.bot.services
    assert services is not None

    async def done() -> bool:
        async with services.env.db.reading() as repo:
            return (await repo.inbox.inbox()).get(last, False)

    await eventually(done)


async def upgrade(town: Town, group: SimChat) -> int:
    """An admin of the group upgrades it; returns its new id once the bot has handled
    Telegram's two service messages."""
    new_id = group.migrate()
    await handled(town)
    return new_id


async def all_sent(town: Town) -> None:
    """Wait until the bot has made every call it queued."""
    services = town.bot.services
    assert services is not None

    async def done() -> bool:
        async with services.env.db.reading() as repo:
            return await repo.outbox.pending_outbox() == 0

    await eventually(done)


async def taken_by(town: Town, volunteer: SimUser, card: SimMessage, ref: str) -> SimMessage:
    """The volunteer claims the request on the card; the details that reach them."""
    popup = await claim(volunteer, town.volunteers, card)
    assert popup.startswith(f"It is yours: {ref}"), popup
    return await volunteer.wait_for(text=ref, predicate=lambda m: "↩️ Release" in m.buttons)


async def chatter_until(group: SimChat, member: SimUser, message_id: int) -> None:
    """Members talk in the group (nothing the bot sees) until its next message will carry
    `message_id`."""
    while (group.messages[-1].message_id if group.messages else 0) < message_id - 1:
        await member.send("Anyone coming on Saturday?", chat=group)


def menu(town: Town, chat_id: int, language: str = "") -> list[str]:
    """The command names the sandbox holds for one chat's menu (and language)."""
    key = json.dumps([{"chat_id": chat_id, "type": "chat"}, language], sort_keys=True)
    return [c["command"] for c in town.sb.api.commands.get(key, [])]


def refusals(town: Town) -> list[tuple[str, str]]:
    """The calls Telegram refused because they went to a group's old id."""
    return [error for error in town.sb.errors if UPGRADED in error[1]]


async def test_a_volunteers_group_upgraded_keeps_its_cards_claimable(town: Town) -> None:
    """Two of Alice's requests wait in the elderly volunteers' group (the category's group in
    the config) when it is upgraded. The supergroup numbers its messages afresh, so the next
    request's card there carries the very id the second card had in the group. Li claims the
    second request on its old card, does it, and Alice closes it: the old card stays as it was
    (out of reach in the old group, with nothing left to press it is not posted again), and
    the bot draws none of those changes over the new card that shares its id: that one still
    waits, with Claim. Zhang claims the first request on its old card and releases it: now it
    waits, so its card is posted anew in the supergroup, with Claim, and Li claims it there:
    the new message is the one redrawn. Telegram never had to refuse a call to the old id."""
    await open_bot(town.vol1, town.vol2)
    first = await file_request(town.citizen)
    first_card = await card_of(town.volunteers, first)
    ref = await file_request(town.citizen, text="The stairwell light is out, please help.")
    card = await card_of(town.volunteers, ref)
    old_id = town.volunteers.id

    new_id = await upgrade(town, town.volunteers)
    assert new_id != old_id
    later = await file_request(town.citizen, text="The lift has stopped between floors.")
    after = await card_of(town.volunteers, later)
    assert after.chat_id == new_id and after.message_id == card.message_id

    popup = await claim(town.vol1, town.volunteers, card)
    assert card.chat_id == old_id  # the press came from the message where it was posted
    assert popup.startswith(f"It is yours: {ref}"), popup
    await town.citizen.wait_for(text="a volunteer has taken your request")
    details = await town.vol1.wait_for(text=ref, predicate=lambda m: "↩️ Release" in m.buttons)
    await town.vol1.press("✅ Done", message=details)
    await town.vol1.press("Skip", message=await town.vol1.wait_for(text="Write a short note"))
    await town.citizen.press("👍 Yes, resolved", message=await town.citizen.wait_for(
        text=f"Is your request {ref} resolved?"))
    await town.citizen.press("⭐⭐⭐⭐⭐", message=await town.citizen.wait_for(
        text="How would you rate"))
    await town.citizen.press("Skip", message=await town.citizen.wait_for(text="add a comment"))
    await town.citizen.wait_for(text="Your request is closed")
    await all_sent(town)
    assert later in (after.text or "") and ref not in (after.text or "")
    assert after.buttons == ["🙋 Claim"] and after.edits == 0
    assert "waiting for a volunteer" in (card.text or "")  # as it was: out of reach
    assert [m for m in town.volunteers.bot_messages() if ref in (m.text or "")] == [card]

    details = await taken_by(town, town.vol2, first_card, first)
    await (await town.vol2.press("↩️ Release", message=details)).answer()
    again = await town.volunteers.wait_for(
        text=first, predicate=lambda m: m.chat_id == new_id)
    assert again.buttons == ["🙋 Claim"] and again is not after
    popup = await claim(town.vol1, town.volunteers, again)
    assert popup.startswith(f"It is yours: {first}"), popup
    await town.sb.wait_until(lambda: "claimed by Li" in (again.text or ""))
    await all_sent(town)
    assert after.edits == 0 and "claimed by" not in (first_card.text or "")
    assert refusals(town) == []


async def test_a_reminder_after_the_upgrade_quotes_no_message_of_the_supergroup(
    town: Town,
) -> None:
    """Two requests wait in the volunteers' group when it is upgraded, and a third's card in
    the supergroup carries the id the second's had in the group. Half an hour on nobody has
    claimed any: each is recalled in the supergroup with Claim. The third's reminder quotes
    its card; the second's quotes nothing (its card stayed in the old group, out of reach),
    not the third's card, which shares the id."""
    first = await file_request(town.citizen)
    await card_of(town.volunteers, first)
    ref = await file_request(town.citizen, text="The stairwell light is out, please help.")
    card = await card_of(town.volunteers, ref)
    await upgrade(town, town.volunteers)
    later = await file_request(town.citizen, text="The lift has stopped between floors.")
    after = await card_of(town.volunteers, later)
    assert after.message_id == card.message_id

    await town.tick(minutes=31)
    reminders = {}
    for _ in range(3):
        reminder = await town.volunteers.wait_for(text="Still waiting for a volunteer")
        reminders[next(r for r in (first, ref, later) if r in (reminder.text or ""))] = reminder
    assert reminders[later].reply_to_message_id == after.message_id
    assert reminders[ref].reply_to_message_id is None
    assert reminders[first].reply_to_message_id is None
    assert reminders[ref].buttons == ["🙋 Claim"]


async def test_the_admin_group_upgraded_still_gets_what_has_no_group_after_a_restart(
    town: Town,
) -> None:
    """The admin chat (`[bot] admin_chat_id` in the config file) is upgraded. The admins are
    told there, once, to put the new id in the file, and the supergroup shows the admin
    chat's command menu (in either language) at once; a request of a category without a group
    reaches the supergroup at once, /find works there (the admin chat may see addresses), and so
    it stays after a restart, the file still naming the old id."""
    await open_bot(town.admin)
    old_id = town.admin_chat.id
    old_menu = menu(town, old_id)
    assert "find" in old_menu and "stats" in old_menu
    new_id = await upgrade(town, town.admin_chat)
    notice = await town.admin_chat.wait_for(text=str(new_id))
    assert "admin_chat_id" in (notice.text or "") and str(old_id) in (notice.text or "")
    await town.sb.wait_until(lambda: menu(town, new_id) == old_menu)
    assert menu(town, new_id, "zh") == menu(town, old_id, "zh") != []

    ref = await file_request(town.citizen, category="Living environment")
    card = await card_of(town.admin_chat, ref)
    assert card.chat_id == new_id
    await town.admin.send(f"/find {ref}", chat=town.admin_chat)
    await town.admin_chat.wait_for(text="Timeline")  # not "only in private"

    await town.bot.stop()
    assert town.bot.config.admin_chat_id == old_id  # the file is as it was
    await town.bot.start()
    again = await file_request(town.citizen, category="Living environment",
                               text="Rubbish left by the bins for a week.")
    await card_of(town.admin_chat, again)
    assert refusals(town) == []
    told = [m for m in town.admin_chat.bot_messages() if "admin_chat_id" in (m.text or "")]
    assert len(told) == 1, [m.text for m in told]


@LOOPS_2_AND_3
async def test_a_units_chat_upgraded_still_takes_received_on_its_earlier_card(
    town: Town,
) -> None:
    """The Guangminglu office's chat is upgraded with a problem card in it. The office chats
    in the supergroup a little, and the next problem's card there happens to carry the id the
    earlier card had in the group. Zhang presses Received on the earlier card and the clock
    starts. The earlier card stays in the old group, where Telegram edits nothing any more, so
    the card is posted anew in the supergroup as it now stands, saying so, with the buttons of
    a received problem; the next problem's card, which shares the old card's id, is left as
    it was, still to be received."""
    admin, li, zhang = town.admin, town.vol1, town.vol2
    await open_bot(admin, li, zhang)
    await admin.send(f"/inspector add {li.id} G1")
    await admin.wait_for(text="Li now inspects for G1")
    office = town.sb.add_group("光明路街道办", type="group")
    office.add_member(admin, status="administrator")
    office.add_member(zhang)
    await admin.send("/bind unit guangminglu-office", chat=office)
    await office.wait_for(text="now the chat of Guangminglu Subdistrict Office")
    await admin.send(f"/unitmember add guangminglu-office {zhang.id}")
    await admin.wait_for(text="Zhang now acts for")
    first = await report(town, li)
    card = await office.wait_for(text=first)

    new_id = await upgrade(town, office)
    await chatter_until(office, zhang, card.message_id - 1)  # its photo goes before the card
    second = await report(town, li, note="A car parked across the lane")
    later = await office.wait_for(text=second)
    assert later.chat_id == new_id and later.message_id == card.message_id
    shown, choices = later.text, later.buttons

    toast = await press(zhang, "✅ Received", card)
    assert toast.startswith(f"Received: rectify {first}"), toast
    again = await office.wait_for(text=first)
    assert again.chat_id == new_id and "Received by Zhang" in (again.text or "")
    assert again.buttons == ["🔧 Rectified", "⏳ Need more time", "↩️ Not ours"]
    assert "Received by" not in (card.text or "")  # out of reach in the old group
    await all_sent(town)
    assert later.text == shown and later.buttons == choices and later.edits == 0
    assert refusals(town) == []


@LOOPS_2_AND_3
async def test_a_teams_group_upgraded_still_takes_sign_ups_on_its_earlier_card(
    town: Town,
) -> None:
    """The Red Vest Team's own group is upgraded with an activity's card in it. The team
    chats in the supergroup a little, and the team's next activity's card there happens to
    carry the id the earlier card had in the group. Zhang signs up on the earlier card. That
    card stays in the old group, where Telegram edits nothing any more, so it is posted anew
    in the supergroup as it now stands, with one place left and Sign up; the next activity's
    card, which shares the old card's id, is left as it was. Li signs up on the card posted
    anew: that one is redrawn, with no place left."""
    team = town.sb.add_group("Red Vest Team", type="group")
    for person in (town.admin, town.vol1, town.vol2):
        team.add_member(person, status="administrator" if person is town.admin else "member")
    await open_bot(town.admin, town.vol1, town.vol2)
    await town.admin.send("/bind team guangming-red", chat=team)
    await team.wait_for(text="now the group of Guangminglu Red Vest Team")
    await published_card(town, town.vol1)
    card = await team.wait_for(text="Volunteers wanted")

    new_id = await upgrade(town, team)
    await chatter_until(team, town.vol2, card.message_id)
    preview = await publish(town.vol1, start="2026-06-20 09:00")
    await town.vol1.press("✅ Publish", message=preview)
    later = await team.wait_for(text="2026-06-20")
    assert later.chat_id == new_id and later.message_id == card.message_id
    shown = later.text

    answer = await (await town.vol2.press("🙋 Sign up", message=card)).answer()
    assert not answer.show_alert, answer.text
    again = await team.wait_for(text="1 left")
    assert again.chat_id == new_id and again.buttons == ["🙋 Sign up (1 left)"]
    assert "2026-06-13" in (again.text or "") and "1 left" not in (card.text or "")
    answer = await (await town.admin.press("🙋 Sign up (1 left)", message=again)).answer()
    assert not answer.show_alert, answer.text
    await town.sb.wait_until(lambda: "Full" in (again.text or "")
                             or "0 left" in (again.text or "") or not again.buttons)
    await all_sent(town)
    assert later.text == shown and later.edits == 0
    assert refusals(town) == []


async def test_a_broadcast_previewed_before_the_admin_chat_was_upgraded_goes_from_it(
    town: Town,
) -> None:
    """The admin previews a broadcast in the admin chat, and the chat is upgraded before he
    presses Send. In the supergroup the bot's notice to put the new id in the config file
    comes to carry the preview's id. Send, pressed on the preview (out of reach in the old
    group), sends the broadcast, and what became of it comes to the supergroup as a message
    of its own: the notice keeps its words."""
    await open_bot(town.admin, town.vol1)
    await approved_volunteer(town, town.vol1, "")
    await town.admin.send("/broadcast all Training on Saturday at 9:00", chat=town.admin_chat)
    preview = await town.admin_chat.wait_for(text="Preview")
    await upgrade(town, town.admin_chat)
    notice = await town.admin_chat.wait_for(text="admin_chat_id")
    assert notice.message_id == preview.message_id
    shown = notice.text

    answer = await (await town.admin.press("✅ Send", message=preview)).answer()
    assert answer.text == "Sent to 1 volunteers.", answer.text
    await town.vol1.wait_for(text="Training on Saturday at 9:00")
    outcome = await town.admin_chat.wait_for(text="Sent to 1 volunteers")
    assert "Training on Saturday at 9:00" in (outcome.text or "") and outcome is not notice
    await all_sent(town)
    assert notice.text == shown and notice.edits == 0
    assert "Sent to" not in (preview.text or "")  # out of reach in the old group


@pytest.mark.parametrize("arrives", [["to"], ["from"], ["from", "to"], ["to", "to", "from"]])
async def test_one_service_message_is_enough_in_any_order_and_twice_is_once(
    town: Town, arrives: list[str],
) -> None:
    """The bot was down while the volunteers' group was upgraded, and Telegram's two messages
    reach it as `arrives` says (one lost, the other way round, one of them twice). Either
    is enough: the next card goes straight to the supergroup and Zhang claims the card posted
    before; the admins are told once to put the group's new id in the config file (the
    category names it there)."""
    await open_bot(town.vol1, town.vol2)
    ref = await file_request(town.citizen)
    card = await card_of(town.volunteers, ref)
    await town.bot.stop()
    town.volunteers.migrate()
    world = town.sb.world
    by_kind = {("to" if "migrate_to_chat_id" in u["message"] else "from"): u["message"]
               for u in world.updates if "migrate_to_chat_id" in u.get("message", {})
               or "migrate_from_chat_id" in u.get("message", {})}
    world.updates.clear()  # lost with the 24 hours they were kept, or re-sent below
    for kind in arrives:
        world.enqueue("message", by_kind[kind])
    await town.bot.start()
    await handled(town)

    later = await file_request(town.citizen, text="The stairwell light is out, please help.")
    assert (await card_of(town.volunteers, later)).chat_id == town.volunteers.id
    popup = await claim(town.vol2, town.volunteers, card)
    assert popup.startswith(f"It is yours: {ref}"), popup
    assert refusals(town) == []
    told = [m.text or "" for m in town.admin_chat.bot_messages()]
    assert len(told) == 1 and f"group_id = {town.volunteers.id}" in told[0], told


async def held(town: Town, chat: SimChat) -> None:
    """Wait until the chat's first queued call is held back (Telegram asked for a pause)."""
    services = town.bot.services
    assert services is not None

    async def waits() -> bool:
        async with services.env.db.reading() as repo:
            queued = await repo.outbox.chat_queue(chat.id, 0, 1)
        return bool(queued) and queued[0][0].not_before > services.env.now()

    await eventually(waits)


@pytest.mark.parametrize("learns", ["from the service messages", "from the edit refused"])
async def test_a_broadcasts_outcome_queued_before_the_upgrade_comes_as_a_message_of_its_own(
    town: Town, learns: str,
) -> None:
    """The admin presses Send under a broadcast's preview in the admin chat; the broadcast
    goes, but Telegram asks the bot to wait a minute before it edits the preview. Meanwhile
    the chat is upgraded, and the bot learns it `learns` (it was down while Telegram sent
    them, and the waiting edit is the first call to the old id). The admins chat in the
    supergroup, and one of their messages comes to carry the preview's id. When the minute
    is up, what became of the broadcast comes to the supergroup as a message of its own: the
    admin's message is left as it was, and the preview in the old group too."""
    await open_bot(town.admin, town.vol1)
    await approved_volunteer(town, town.vol1, "")
    await town.admin.send("/broadcast all Training on Saturday at 9:00", chat=town.admin_chat)
    preview = await town.admin_chat.wait_for(text="Preview")
    town.sb.inject("editMessageText", code=429, description="Too Many Requests: retry after 60",
                   retry_after=60)
    answer = await (await town.admin.press("✅ Send", message=preview)).answer()
    assert answer.text == "Sent to 1 volunteers.", answer.text
    await town.vol1.wait_for(text="Training on Saturday at 9:00")
    await held(town, town.admin_chat)

    if learns == "from the service messages":
        new_id = await upgrade(town, town.admin_chat)
    else:
        await town.bot.stop()
        new_id = town.admin_chat.migrate()
        town.sb.world.updates.clear()  # the bot never hears of it
        await town.bot.start()
    await chatter_until(town.admin_chat, town.admin, preview.message_id + 1)
    theirs = town.admin_chat.messages[-1]
    assert theirs.message_id == preview.message_id and theirs.chat_id == new_id

    await town.tick(seconds=61)
    outcome = await town.admin_chat.wait_for(text="Sent to 1 volunteers")
    assert outcome.chat_id == new_id and "Training on Saturday" in (outcome.text or "")
    await town.admin_chat.wait_for(text="admin_chat_id")  # the notice, after it
    await all_sent(town)
    assert theirs.text == "Anyone coming on Saturday?" and theirs.edits == 0
    assert "Sent to" not in (preview.text or "")  # out of reach in the old group
    edits = [error for method, error in town.sb.errors if method == "editMessageText"]
    if learns == "from the service messages":
        assert edits == ["Too Many Requests: retry after 60"]
    else:  # refused at the old id once, as Telegram said where the chat went
        assert edits == ["Too Many Requests: retry after 60",
                         "Bad Request: group chat was upgraded to a supergroup chat"]
    assert len(town.sb.errors) == len(edits)


async def test_a_reminder_queued_before_the_upgrade_quotes_no_message_of_the_supergroup(
    town: Town,
) -> None:
    """Half an hour on nobody has claimed Alice's request, and its reminder is due in the
    volunteers' group; Telegram asks the bot to wait two minutes before it sends it. Meanwhile
    the group is upgraded, and the volunteers chat in the supergroup until one of their
    messages carries the id the card had in the group. The reminder comes, with Claim, and
    quotes nothing: not the volunteer's message."""
    await chatter_until(town.volunteers, town.vol2, 4)  # the card is not the group's first
    ref = await file_request(town.citizen)
    card = await card_of(town.volunteers, ref)
    await all_sent(town)
    town.sb.inject("sendMessage", code=429, description="Too Many Requests: retry after 120",
                   retry_after=120)
    await town.tick(minutes=31)
    await held(town, town.volunteers)

    new_id = await upgrade(town, town.volunteers)
    await chatter_until(town.volunteers, town.vol1, card.message_id + 1)
    theirs = town.volunteers.messages[-1]
    assert theirs.message_id == card.message_id

    await town.tick(minutes=3)
    reminder = await town.volunteers.wait_for(text="Still waiting for a volunteer")
    assert reminder.chat_id == new_id and ref in (reminder.text or "")
    assert reminder.reply_to_message_id is None
    assert reminder.buttons == ["🙋 Claim"]


async def test_calls_on_a_message_of_the_group_are_dropped_with_the_move(town: Town) -> None:
    """Calls no button queues today, but which the outbox carries like any other: a delete of
    the request's card in the volunteers' group, a change of its buttons and of its caption,
    waiting for their turn when the group is upgraded. The bot is an admin of the group, so
    it may delete anyone's message. In the supergroup a volunteer's message comes to carry
    the card's id. The delete and the change of buttons are dropped (the card is out of
    reach in the old group), the new caption's words come as a message of their own, and
    the volunteer's message stays."""
    ref = await file_request(town.citizen)
    card = await card_of(town.volunteers, ref)
    town.sb.world.set_bot_status(town.volunteers, "administrator", by=town.admin)
    services = town.bot.services
    assert services is not None
    group, later = town.volunteers.id, services.env.now() + 60
    calls = [("deleteMessage", {}),
             ("editMessageReplyMarkup", {"reply_markup": {"inline_keyboard": []}}),
             ("editMessageCaption", {"caption": "The photo was taken on Monday."})]
    async with services.env.db.transaction() as repo:
        await repo.outbox.enqueue(
            [Outgoing(group, method, {"chat_id": group, "message_id": card.message_id, **rest},
                      not_before=later) for method, rest in calls], services.env.now())

    new_id = await upgrade(town, town.volunteers)
    await chatter_until(town.volunteers, town.vol1, card.message_id + 1)
    theirs = town.volunteers.messages[-1]
    assert theirs.message_id == card.message_id

    await town.tick(seconds=61)
    words = await town.volunteers.wait_for(text="The photo was taken on Monday.")
    assert words.chat_id == new_id
    await all_sent(town)
    assert not theirs.deleted and theirs.edits == 0
    assert not card.deleted and card.buttons == ["🙋 Claim"]
    assert town.sb.errors == []


async def unit_chat(town: Town, unit: str, title: str, member: SimUser | None = None) -> SimChat:
    """A unit's chat, bound by the admin, with `member` in it acting for the unit."""
    chat = town.sb.add_group(title)
    chat.add_member(town.admin, status="administrator")
    await town.admin.send(f"/bind unit {unit}", chat=chat)
    await chat.wait_for(text="now the chat of")
    if member is not None:
        chat.add_member(member)
        await town.admin.send(f"/unitmember add {unit} {member.id}")
        await town.admin.wait_for(text=f"{member.first_name} now acts for")
    return chat


async def inspector_and_office(town: Town) -> SimChat:
    """Li inspects for G1; the Guangminglu office's chat, Zhang acting for it. The admins
    have talked in the admin chat a while."""
    await open_bot(town.admin, town.vol1, town.vol2)
    await chatter_until(town.admin_chat, town.admin, 6)
    await town.admin.send(f"/inspector add {town.vol1.id} G1")
    await town.admin.wait_for(text="Li now inspects for G1")
    return await unit_chat(town, "guangminglu-office", "光明路街道办", town.vol2)


async def bot_message_at(town: Town, message_id: int) -> SimMessage:
    """The admins chat in the (upgraded) admin chat until the bot's next message there
    carries `message_id`, and an admin looks up a request nobody filed: the bot's answer."""
    chat = town.admin_chat
    await all_sent(town)
    await chatter_until(chat, town.admin, message_id - 1)  # the /find itself takes one
    await town.admin.send("/find 2026-999999", chat=chat)
    answer = await chat.wait_for(text="No request has the reference 2026-999999")
    assert answer.message_id == message_id
    return answer


@LOOPS_2_AND_3
async def test_more_time_asked_before_the_admin_chat_was_upgraded_is_decided_from_it(
    town: Town,
) -> None:
    """Zhang asks for more time on a problem of the Guangminglu office, and the request
    reaches the admin chat, which is then upgraded. In the supergroup the bot's answer to a
    /find comes to carry the id the request for more time had in the group. The admin
    approves on the request (out of reach in the old group): the office is told, the
    problem's card shows the new deadline, and the decision comes to the supergroup as a
    message of its own; the answer to /find keeps its words."""
    office = await inspector_and_office(town)
    ref = await report(town, town.vol1)
    card = await office.wait_for(text=ref)
    await press(town.vol2, "✅ Received", card)
    await town.sb.wait_until(lambda: "Need more time" in " ".join(card.buttons))
    await press(town.vol2, "⏳ Need more time", card)
    await town.vol2.wait_for(text="why do you need more time")
    await town.vol2.send("The stall owners need notice")
    await town.vol2.wait_for(text="Until when?")
    await town.vol2.send("6-15 18:00")
    ask = await town.admin_chat.wait_for(text=f"asks for more time on problem {ref}")

    new_id = await upgrade(town, town.admin_chat)
    await town.admin_chat.wait_for(text="admin_chat_id")
    other = await bot_message_at(town, ask.message_id)
    shown = other.text

    assert await press(town.admin, "✅ Approve", ask) == "Done."
    await office.wait_for(text=f"More time on problem {ref} approved")
    decided = await town.admin_chat.wait_for(text=f"More time on {ref} approved by Admin")
    assert decided.chat_id == new_id and decided is not other
    await town.sb.wait_until(lambda: "extended 1 time(s)" in (card.text or ""))
    await all_sent(town)
    assert other.text == shown and other.edits == 0
    assert "approved" not in (ask.text or "")  # out of reach in the old group
    assert refusals(town) == []


@LOOPS_2_AND_3
async def test_a_problem_returned_before_the_admin_chat_was_upgraded_is_reassigned_from_it(
    town: Town,
) -> None:
    """Zhang returns a problem as not the office's, and the admins' list of units to send it
    to reaches the admin chat, which is then upgraded. In the supergroup the bot's answer
    to a /find comes to carry the id the list had in the group. The admin presses the market
    bureau on the list (out of reach in the old group): the problem's card comes to the
    bureau's chat, and where it went comes to the supergroup as a message of its own; the
    answer to /find keeps its words."""
    office = await inspector_and_office(town)
    market = await unit_chat(town, "market-regulation", "市场监管局")
    ref = await report(town, town.vol1)
    card = await office.wait_for(text=ref)
    await press(town.vol2, "↩️ Not ours", card)
    await town.vol2.wait_for(text="why is it not your unit's")
    await town.vol2.send("The market bureau manages this lane")
    returned = await town.admin_chat.wait_for(text=f"Problem {ref} at Guangming Lane 1 was "
                                                   "returned")

    new_id = await upgrade(town, town.admin_chat)
    await town.admin_chat.wait_for(text="admin_chat_id")
    other = await bot_message_at(town, returned.message_id)
    shown = other.text

    assert await press(town.admin, "District Market Regulation Bureau", returned) == "Done."
    moved = await market.wait_for(text=ref)
    assert moved.buttons == ["✅ Received", "↩️ Not ours"]
    where = await town.admin_chat.wait_for(
        text=f"Problem {ref} now goes to District Market Regulation Bureau")
    assert where.chat_id == new_id and where is not other
    await all_sent(town)
    assert other.text == shown and other.edits == 0
    assert "now goes to" not in (returned.text or "")  # out of reach in the old group
    assert refusals(town) == []


@LOOPS_2_AND_3
async def test_a_calls_card_in_a_teams_group_upgraded_still_takes_answers(town: Town) -> None:
    """The admin sends a recruitment call to the whole district and the Red Vest Team, whose
    own group is a basic group, and the call's card reaches it with I'm in. The group is
    upgraded; the team chats in the supergroup a little, and the card of the admin's next
    call there happens to carry the id the first card had in the group. Zhang answers the
    first call on its card in the old group: that card stays as it was (out of reach), and is
    posted anew in the supergroup as it now stands, one of two answered, with I'm in; the
    next call's card, which shares the old card's id, is left as it was. Li answers on the
    card posted anew: that one is redrawn."""
    team = town.sb.add_group("Red Vest Team", type="group")
    for person in (town.admin, town.vol1, town.vol2):
        team.add_member(person, status="administrator" if person is town.admin else "member")
    await open_bot(town.admin, town.vol1, town.vol2)
    await town.admin.send("/bind team guangming-red", chat=team)
    await team.wait_for(text="now the group of Guangminglu Red Vest Team")
    first = await recruitment_call(town, "Fill sandbags at the Xiaohe dike")
    card = await team.wait_for(text="Recruitment call #")
    assert card.buttons == ["🙋 I'm in (0/2)"]

    new_id = await upgrade(town, team)
    await chatter_until(team, town.vol2, card.message_id)
    second = await recruitment_call(town, "Carry water to the Xiaohe dike")
    later = await team.wait_for(text=f"Recruitment call #{second}")
    assert later.chat_id == new_id and later.message_id == card.message_id
    shown = later.text

    answer = await (await town.vol2.press("🙋 I'm in", message=card)).answer()
    assert answer.text == "You're in ✅", answer.text
    again = await team.wait_for(text=f"Recruitment call #{first}")
    assert again.chat_id == new_id and again.buttons == ["🙋 I'm in (1/2)"]
    assert "1 of 2 have answered" in (again.text or "")
    assert "0 of 2 have answered" in (card.text or "")  # as it was: out of reach
    answer = await (await town.vol1.press("🙋 I'm in (1/2)", message=again)).answer()
    assert answer.text == "You're in ✅", answer.text
    await town.sb.wait_until(lambda: "Enough people now" in (again.text or ""))
    await all_sent(town)
    assert later.text == shown and later.edits == 0
    assert refusals(town) == []


async def recruitment_call(town: Town, what: str) -> int:
    """The admin sends a call for two people until 18:00 to the whole district and the Red
    Vest Team (in /call's dialog); its number."""
    admin = town.admin
    await admin.send("/call")
    await admin.wait_for(text="1/6")
    await admin.send(what)
    await admin.wait_for(text="2/6")
    await admin.send("Xiaohe dike, north sluice")
    await admin.wait_for(text="3/6")
    await admin.press("Skip ⏭")
    await admin.wait_for(text="4/6")
    await admin.send("2")
    await admin.wait_for(text="5/6")
    await admin.send("18:00")
    question = await admin.wait_for(text="6/6")
    await (await admin.press("Guangminglu Red Vest Team", message=question)).answer()
    await town.sb.wait_until(lambda: "Red Vest" in (question.text or "").split("6/6")[-1])
    await admin.press("✔️ Done", message=question)
    preview = await admin.wait_for(text="Preview of the recruitment call")
    await admin.press("🚨 Send", message=preview)
    sent = await admin.wait_for(text="Nobody has answered yet")
    number = (sent.text or "").split("#", 1)[1].split()[0].strip(":·")
    return int(number)


@LOOPS_2_AND_3
async def test_an_honour_announced_before_the_upgrade_is_revoked_without_touching_the_supergroup(
        town: Town) -> None:
    """Zhang's honour is announced in the volunteers' group, which is then upgraded; the
    supergroup's numbering brings the bot's answer to an admin's /stats to the
    announcement's old id. The honour is revoked: Zhang is told, and that answer is left as
    it was (the announcement stayed in the old group, where nothing can be edited any
    more)."""
    from tests.test_honours_e2e import GOLDEN, honour_up_to_the_preview, register

    zhang, admin, group = town.vol2, town.admin, town.volunteers
    await open_bot(zhang, admin)
    await register(town, zhang.id, "Zhang", GOLDEN, "zhongxinjie-01")
    await chatter_until(group, town.vol1, 6)  # the group had its life before
    preview = await honour_up_to_the_preview(town, zhang.id)
    await admin.press("📣 Save and announce", message=preview)
    announced = await group.wait_for(text="Honour")
    assert announced.message_id == 6

    await upgrade(town, group)
    await chatter_until(group, town.vol1, announced.message_id - 1)  # /stats takes that one
    await admin.send("/stats", chat=group)
    figures = await group.wait_for(text="Statistics")
    assert figures.message_id == announced.message_id
    shown = figures.text

    await admin.send(f"/honours {zhang.id}")
    listing = await admin.wait_for(text="Honours of Zhang")
    await admin.press("Revoke #1", message=listing)
    confirm = await admin.wait_for(text="Revoke “最美志愿者” (2026)?")
    await admin.press("Yes, revoke it", message=confirm)
    await zhang.wait_for(text="was revoked")
    await all_sent(town)
    assert figures.text == shown and figures.edits == 0
    assert refusals(town) == []


async def test_both_service_messages_lost_the_first_refusal_moves_the_group(town: Town) -> None:
    """The bot was down while the volunteers' group was upgraded, and both of Telegram's
    messages about it were lost. The next request's card goes to the old id and Telegram
    refuses it, naming the supergroup: that refusal is the move. The card is posted in the
    supergroup after all, the admins are told once to put its id in the config file, Zhang
    claims the card posted before the upgrade, and the request after goes straight to the
    supergroup: Telegram refused one call, no more."""
    await open_bot(town.vol1, town.vol2)
    ref = await file_request(town.citizen)
    card = await card_of(town.volunteers, ref)
    old_id = town.volunteers.id
    await town.bot.stop()
    new_id = town.volunteers.migrate()
    town.sb.world.updates.clear()  # both service messages lost
    await town.bot.start()

    later = await file_request(town.citizen, text="The stairwell light is out, please help.")
    after = await card_of(town.volunteers, later)
    assert after.chat_id == new_id != old_id
    assert len(refusals(town)) == 1, refusals(town)
    notice = await town.admin_chat.wait_for(text=f"group_id = {new_id}")
    assert str(old_id) in (notice.text or "")

    popup = await claim(town.vol2, town.volunteers, card)
    assert popup.startswith(f"It is yours: {ref}"), popup
    third = await file_request(town.citizen, text="Rubbish left by the bins for a week.")
    assert (await card_of(town.volunteers, third)).chat_id == new_id
    assert len(refusals(town)) == 1, refusals(town)
    told = [m.text or "" for m in town.admin_chat.bot_messages()]
    assert len(told) == 1, told


async def test_a_reload_after_the_upgrade_keeps_the_supergroup(town: Town) -> None:
    """The volunteers' group is upgraded, and an admin then reloads the config file, which
    still names the group's old id: the next request's card goes straight to the supergroup
    (Telegram refuses nothing), Zhang claims it there, and the admins are not told again."""
    await open_bot(town.admin, town.vol2)
    new_id = await upgrade(town, town.volunteers)
    await town.admin_chat.wait_for(text=f"group_id = {new_id}")
    await town.admin.send("/reload")
    await town.admin.wait_for(text="Reloaded")

    ref = await file_request(town.citizen)
    card = await card_of(town.volunteers, ref)
    assert card.chat_id == new_id
    popup = await claim(town.vol2, town.volunteers, card)
    assert popup.startswith(f"It is yours: {ref}"), popup
    assert refusals(town) == []
    told = [m.text or "" for m in town.admin_chat.bot_messages()]
    assert len(told) == 1, told


async def queue_naming_the_card(town: Town, card: SimMessage, at: float) -> None:
    """Calls in Alice's own queue that name the volunteers' group and its card by id: a copy
    of the card, a forward of it, and a note quoting it, each waiting until `at`."""
    services = town.bot.services
    assert services is not None
    alice, group = town.citizen.id, town.volunteers.id
    named = {"from_chat_id": group, "message_id": card.message_id}
    calls = [("copyMessage", named), ("forwardMessage", named),
             ("sendMessage", {"text": "Your request is on the volunteers' board.",
                              "reply_parameters": {"chat_id": group,
                                                   "message_id": card.message_id}})]
    async with services.env.db.transaction() as repo:
        await repo.outbox.enqueue(
            [Outgoing(alice, method, {"chat_id": alice, **rest}, not_before=at)
             for method, rest in calls], services.env.now())


async def test_a_copy_forward_or_quote_of_the_groups_card_queued_elsewhere_follows_the_move(
        town: Town) -> None:
    """Alice's private chat has three calls waiting their turn that name the volunteers'
    group's card: a copy of it, a forward of it and a note quoting it. The group is upgraded,
    and in the supergroup a volunteer's message comes to carry the card's id. The copy and
    the forward are dropped (the card stayed in the old group, out of reach; by its id they
    would carry the volunteer's words to Alice), the note comes without its quote, and
    Telegram refuses nothing."""
    ref = await file_request(town.citizen)
    card = await card_of(town.volunteers, ref)
    await all_sent(town)
    services = town.bot.services
    assert services is not None
    await queue_naming_the_card(town, card, services.env.now() + 60)
    mine = len(town.citizen.private.bot_messages())

    await upgrade(town, town.volunteers)
    await chatter_until(town.volunteers, town.vol1, card.message_id + 1)
    assert town.volunteers.messages[-1].message_id == card.message_id

    await town.tick(seconds=61)
    note = await town.citizen.wait_for(text="Your request is on the volunteers' board.")
    await all_sent(town)
    assert note.reply_to_message_id is None
    assert len(town.citizen.private.bot_messages()) == mine + 1
    assert town.sb.errors == []


async def test_a_copy_of_the_groups_card_refused_as_migrated_moves_the_group_not_the_copys_chat(
        town: Town) -> None:
    """The same three calls wait in Alice's chat when the group is upgraded while the bot is
    down, both of Telegram's messages about it lost. The copy reaches Telegram first and is
    refused: the old group became a supergroup. That refusal moves the group, not Alice: the
    forward is dropped with the copy, the note comes to Alice without its quote, and the next
    request's card goes to the supergroup."""
    ref = await file_request(town.citizen)
    card = await card_of(town.volunteers, ref)
    await all_sent(town)
    services = town.bot.services
    assert services is not None
    await queue_naming_the_card(town, card, services.env.now() + 60)
    mine = len(town.citizen.private.bot_messages())
    await town.bot.stop()
    new_id = town.volunteers.migrate()
    town.sb.world.updates.clear()  # both service messages lost
    await town.bot.start()

    await town.tick(seconds=61)
    note = await town.citizen.wait_for(text="Your request is on the volunteers' board.")
    assert note.chat_id == town.citizen.id and note.reply_to_message_id is None
    await all_sent(town)
    assert len(town.citizen.private.bot_messages()) == mine + 1
    later = await file_request(town.citizen, text="The stairwell light is out, please help.")
    assert (await card_of(town.volunteers, later)).chat_id == new_id
    assert len(refusals(town)) == 1, refusals(town)
