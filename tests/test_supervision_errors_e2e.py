"""Loop 3 against Telegram's real errors: a unit's group that loses the bot, a card the
unit's chat refuses, a re-check its inspector refuses, a card someone deleted.

Problems are made as in tests/test_supervision_dispatch_e2e.py (`report`: the reporting
dialog's writes and the dispatch in one unit), so these stories start at the dispatch.
"""

from __future__ import annotations

from tests.conftest import Town
from tests.test_supervision_dispatch_e2e import cast, press, problem, rectify, report
from tests.test_supervision_dispatch_e2e import town_settings as town_settings  # the registers


async def test_a_units_new_group_gets_the_problems_that_waited_in_the_group_it_lost(
    town: Town,
) -> None:
    """The bot is removed from the Guangminglu office's group while one problem waits there to
    be received and another to be rectified. The admins bind the office's new group: both cards
    come there, with their buttons, and pressing Received in the new group works. The old
    group's cards are no longer redrawn (the bot cannot edit there)."""
    c = await cast(town)
    waiting = await report(town, c.li, note="Stalls block the lane")
    fixing = await report(town, c.li, point="alley-01", note="Rubbish by the gate")
    await c.office.wait_for(text=waiting)
    copy = await c.zhang.wait_for(text=waiting)
    second = await c.office.wait_for(text=fixing)
    assert await press(c.admin, "✅ Received", second) != ""
    await town.sb.wait_until(lambda: "Received by Admin" in (second.text or ""))

    c.office.remove_bot(by=c.admin)
    await town.admin_chat.wait_for(text="was also the group of")
    office2 = town.sb.add_group("光明路街道办 (new)")
    office2.add_member(c.admin, status="administrator")
    await c.admin.send("/bind unit guangminglu-office", chat=office2)
    await office2.wait_for(text="now the chat of Guangminglu Subdistrict Office")

    card = await office2.wait_for(text=waiting)
    assert card.buttons == ["✅ Received", "↩️ Not ours"]
    again = await office2.wait_for(text=fixing)
    assert again.buttons == ["🔧 Rectified", "⏳ Need more time", "↩️ Not ours"]
    toast = await press(c.admin, "✅ Received", card)
    assert toast.startswith(f"Received: rectify {waiting}")
    await town.sb.wait_until(lambda: "Received by Admin" in (card.text or ""))
    assert (await problem(town, waiting)).status == "received"
    await town.sb.wait_until(lambda: "Received by Admin" in (copy.text or ""))  # Zhang's too
    assert not [e for e in town.sb.errors if "kicked" in e[1]]  # no edit tried in the old one
    assert town.sb.count_429 == 0


async def test_a_card_the_units_chat_refuses_is_reported_to_the_admins_and_sent_once_bound(
    town: Town,
) -> None:
    """Telegram refuses the problem's card in the office's group (the bot was removed there,
    and the news of it has not come yet). The admins are told at once which problem did not
    reach which unit, and how to mend it; Zhang, who acts for the office, has his copy. Once
    the bot is back and the group bound again, the card comes there (Zhang gets no second
    copy) and Received works."""
    c = await cast(town)
    c.office.bot_status = "kicked"  # Telegram answers 403; the my_chat_member is late
    ref = await report(town, c.li, note="Stalls block the lane")
    told = await town.admin_chat.wait_for(text=ref)
    assert "could not be posted" in (told.text or "")
    assert "Guangminglu Subdistrict Office" in (told.text or "")
    assert "/bind unit guangminglu-office" in (told.text or "")
    await c.zhang.wait_for(text=ref)

    c.office.add_bot(by=c.admin)
    await c.admin.send("/bind unit guangminglu-office", chat=c.office)
    await c.office.wait_for(text="now the chat of Guangminglu Subdistrict Office")
    card = await c.office.wait_for(text=ref)
    assert card.buttons == ["✅ Received", "↩️ Not ours"]
    toast = await press(c.admin, "✅ Received", card)
    assert toast.startswith(f"Received: rectify {ref}")
    await town.sb.wait_until(lambda: "Received by Admin" in (card.text or ""))
    assert len([m for m in c.zhang.private.bot_messages() if ref in (m.text or "")]) == 1


async def test_a_recheck_its_inspector_refuses_is_reported_to_the_admins(town: Town) -> None:
    """Li, who reported the problem, has blocked the bot when the office rectifies it: his
    re-check cannot reach him. The admins are told at once (not when someone wonders why it
    waits); once Li opens the bot again, /redispatch brings it to him and he passes it."""
    c = await cast(town)
    ref = await report(town, c.li)
    card = await c.office.wait_for(text=ref)
    await press(c.zhang, "✅ Received", card)
    await town.sb.wait_until(lambda: "Received by Zhang" in (card.text or ""))
    c.li.block()
    await rectify(c.zhang, card)
    told = await town.admin_chat.wait_for(text=f"The re-check of problem {ref}")
    assert "could not reach the inspector Li" in (told.text or "")

    await c.li.send("/start")
    await c.admin.send(f"/redispatch {ref}")
    await c.admin.wait_for(text=f"The re-check of {ref} was sent again")
    recheck = await c.li.wait_for(text=f"Re-check problem {ref}")
    assert await press(c.li, "✅ Pass", recheck) == f"{ref} passed."
    assert (await problem(town, ref)).status == "passed"


async def test_a_units_card_someone_deleted_is_posted_again_when_it_changes(town: Town) -> None:
    """Someone in the office's group deletes the problem's card. Zhang presses Received on his
    own copy: the group's card cannot be edited ("message to edit not found"), so it is posted
    again as it now stands, with Rectified, and later changes redraw the new one."""
    c = await cast(town)
    ref = await report(town, c.li)
    card = await c.office.wait_for(text=ref)
    copy = await c.zhang.wait_for(text=ref)
    card.deleted = True  # a group admin tidied the chat up

    await press(c.zhang, "✅ Received", copy)
    again = await c.office.wait_for(text=ref)
    assert "Received by Zhang" in (again.text or "")
    assert again.buttons == ["🔧 Rectified", "⏳ Need more time", "↩️ Not ours"]
    await rectify(c.admin, again)  # pressed in the group: acts for the unit
    await town.sb.wait_until(lambda: "waiting for the inspector" in (again.text or ""))
    assert again.buttons == []
    cards = [m for m in c.office.bot_messages() if f"Supervision problem {ref}" in (m.text or "")]
    assert cards == [again]  # the deleted one is gone, and no second copy came
