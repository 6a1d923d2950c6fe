"""The closed loop end to end: 点单 → 派单 → 接单 → 评单, through the sandbox over HTTP."""

from __future__ import annotations

from tests.conftest import Town
from tests.flows import card_of, claim, file_request


async def test_the_whole_loop_from_order_to_rating(town: Town) -> None:
    """Alice files a request, Li claims and finishes it, Alice confirms and gives 5 stars."""
    await town.vol1.send("/start")
    ref = await file_request(town.citizen)

    card = await card_of(town.volunteers, ref)
    assert "Claim" in " ".join(card.buttons)
    assert "+8613800000001" not in card.text  # the phone never reaches the group
    assert "12 Jianshe" not in card.text  # nor the exact address
    assert "address given" in card.text

    popup = await claim(town.vol1, town.volunteers, card)
    assert ref in popup
    details = await town.vol1.wait_for(text="+8613800000001")
    assert ref in details.text and "12 Jianshe Road, building 3" in details.text
    assert details.buttons == ["✅ Done", "↩️ Release", "💬 Message the citizen"]
    await town.sb.wait_until(lambda: "claimed by Li" in card.text and not card.buttons)
    await town.citizen.wait_for(text="a volunteer has taken your request")

    await town.vol1.press("✅ Done")
    await town.vol1.wait_for(text="Write a short note")
    await town.vol1.send("Replaced the washer, no more leak.")
    await town.vol1.wait_for(text="marked done")
    await town.citizen.wait_for(text="Replaced the washer")
    await town.citizen.wait_for(text="resolved?")
    await town.citizen.press("👍 Yes, resolved")
    await town.citizen.wait_for(text="How would you rate")
    await town.citizen.press("⭐⭐⭐⭐⭐")
    await town.citizen.wait_for(text="add a comment")
    await town.citizen.send("Very kind, thank you!")
    await town.citizen.wait_for(text="Your request is closed")

    await town.admin.send("/stats", chat=town.admin_chat)
    stats = await town.admin_chat.wait_for(text="Statistics")
    assert "Collected: 1" in stats.text and "Closed: 1" in stats.text
    assert "Completion rate: 100.00%" in stats.text
    assert town.sb.count_429 == 0
