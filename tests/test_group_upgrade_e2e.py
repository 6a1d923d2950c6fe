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

import shutil
from pathlib import Path
from typing import Any

import pytest

from sandbox import SimChat
from tests.conftest import Town
from tests.flows import card_of, claim, eventually, file_request, open_bot, supervision_town
from tests.test_activities_e2e import TEAMS, publish, published_card
from tests.test_supervision_dispatch_e2e import press, report

ROOT = Path(__file__).resolve().parent.parent
LOOPS_2_AND_3 = pytest.mark.parametrize("town_settings", ["loops 2 and 3"], indirect=True)
UPGRADED = "upgraded to a supergroup"  # Telegram's refusal of a call to the old id
# Telegram's answer to an edit, through the supergroup's id, of a message the group had.
NOT_THERE = "Bad Request: message to edit not found"


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


def refusals(town: Town) -> list[tuple[str, str]]:
    """The calls Telegram refused because they went to a group's old id."""
    return [error for error in town.sb.errors if UPGRADED in error[1]]


async def test_a_volunteers_group_upgraded_keeps_its_card_claimable(town: Town) -> None:
    """The elderly volunteers' group (the category's group in the config) is upgraded with a
    card up for claiming in it. A new request's card goes straight to the supergroup; then
    Li presses Claim on the card posted before the upgrade: he gets it and Alice is told. That
    card stays in the old group, where Telegram edits nothing any more ("message to edit not
    found"): it is not posted again, having nothing left to press. Li releases the request:
    now it waits, so its card is posted again in the supergroup, with Claim, and Zhang
    claims it there. Telegram never had to refuse a call to the old id."""
    await open_bot(town.vol1, town.vol2)
    ref = await file_request(town.citizen)
    card = await card_of(town.volunteers, ref)
    old_id = town.volunteers.id

    new_id = await upgrade(town, town.volunteers)
    assert new_id != old_id
    later = await file_request(town.citizen, text="The stairwell light is out, please help.")
    after = await card_of(town.volunteers, later)
    assert after.chat_id == new_id

    popup = await claim(town.vol1, town.volunteers, card)
    assert card.chat_id == old_id  # the press came from the message where it was posted
    assert popup.startswith(f"It is yours: {ref}"), popup
    await town.citizen.wait_for(text="a volunteer has taken your request")
    details = await town.vol1.wait_for(text=ref, predicate=lambda m: "↩️ Release" in m.buttons)
    await town.sb.wait_until(lambda: ("editMessageText", NOT_THERE) in town.sb.errors)
    assert "waiting for a volunteer" in (card.text or "")  # as it was: out of reach

    await (await town.vol1.press("↩️ Release", message=details)).answer()
    again = await card_of(town.volunteers, ref)
    assert again.chat_id == new_id and again.buttons == ["🙋 Claim"]
    popup = await claim(town.vol2, town.volunteers, again)
    assert popup.startswith(f"It is yours: {ref}"), popup
    await town.sb.wait_until(lambda: "claimed by Zhang" in (again.text or ""))
    assert refusals(town) == []


async def test_the_admin_group_upgraded_still_gets_what_has_no_group_after_a_restart(
    town: Town,
) -> None:
    """The admin chat (`[bot] admin_chat_id` in the config file) is upgraded. The admins are
    told there, once, to put the new id in the file; a request of a category without a group
    reaches the supergroup at once, /find works there (the admin chat may see addresses), and so
    it stays after a restart, the file still naming the old id."""
    await open_bot(town.admin)
    old_id = town.admin_chat.id
    new_id = await upgrade(town, town.admin_chat)
    notice = await town.admin_chat.wait_for(text=str(new_id))
    assert "admin_chat_id" in (notice.text or "") and str(old_id) in (notice.text or "")

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
    """The Guangminglu office's chat is upgraded with a problem card in it. The next problem's
    card goes straight to the supergroup; Zhang presses Received on the earlier card and the
    clock starts. The earlier card stays in the old group, where Telegram edits nothing any
    more, so the card is posted again in the supergroup as it now stands, saying so, with
    the buttons of a received problem."""
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
    second = await report(town, li, note="A car parked across the lane")
    assert (await office.wait_for(text=second)).chat_id == new_id

    toast = await press(zhang, "✅ Received", card)
    assert toast.startswith(f"Received: rectify {first}"), toast
    again = await office.wait_for(text=first)
    assert again.chat_id == new_id and "Received by Zhang" in (again.text or "")
    assert again.buttons == ["🔧 Rectified", "⏳ Need more time", "↩️ Not ours"]
    assert "Received by" not in (card.text or "")  # out of reach in the old group
    assert refusals(town) == []


@LOOPS_2_AND_3
async def test_a_teams_group_upgraded_still_takes_sign_ups_on_its_earlier_card(
    town: Town,
) -> None:
    """The Red Vest Team's own group is upgraded with an activity's card in it. The team's next
    activity goes straight to the supergroup; Zhang signs up on the earlier card. That card
    stays in the old group, where Telegram edits nothing any more, so it is posted again in
    the supergroup as it now stands, with one place left and Sign up."""
    team = town.sb.add_group("Red Vest Team", type="group")
    for person in (town.admin, town.vol1, town.vol2):
        team.add_member(person, status="administrator" if person is town.admin else "member")
    await open_bot(town.admin, town.vol1, town.vol2)
    await town.admin.send("/bind team guangming-red", chat=team)
    await team.wait_for(text="now the group of Guangminglu Red Vest Team")
    await published_card(town, town.vol1)
    card = await team.wait_for(text="Volunteers wanted")

    new_id = await upgrade(town, team)
    preview = await publish(town.vol1, start="2026-06-20 09:00")
    await town.vol1.press("✅ Publish", message=preview)
    later = await team.wait_for(text="2026-06-20")
    assert later.chat_id == new_id

    answer = await (await town.vol2.press("🙋 Sign up", message=card)).answer()
    assert not answer.show_alert, answer.text
    again = await team.wait_for(text="1 left")
    assert again.chat_id == new_id and again.buttons == ["🙋 Sign up (1 left)"]
    assert "2026-06-13" in (again.text or "") and "1 left" not in (card.text or "")
    assert refusals(town) == []


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
