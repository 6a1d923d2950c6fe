"""Loop 3 against Telegram's real errors and restarts: a unit's group that loses the bot,
cards its chat refuses, a chat migrated to a supergroup, and a restart at the worst moment.

Problems are made as in tests/test_supervision_dispatch_e2e.py (`report`: the reporting
dialog's writes and the dispatch in one unit), so these stories start at the dispatch.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Town
from tests.flows import open_bot
from tests.test_supervision_dispatch_e2e import cast, press, problem, report
from tests.test_supervision_dispatch_e2e import town_settings as town_settings  # noqa: F401


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
