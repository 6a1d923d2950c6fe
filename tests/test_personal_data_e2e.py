"""A person's own data: /mydata shows all of it, /forget deletes it after a confirmation,
and the statistics keep counting the requests without it."""

from __future__ import annotations

import json

from tests.conftest import Town
from tests.flows import file_request

PHONE = "+8613800000001"
ADDRESS = "12 Jianshe Road, building 3"


async def test_alice_sees_her_data_then_deletes_it_and_the_figures_stay(town: Town) -> None:
    alice = town.citizen
    ref = await file_request(alice)
    await alice.send("/forget")
    refused = await alice.wait_for(text="still open")
    assert ref in (refused.text or "")

    await alice.send("/my")
    await alice.wait_for(text=ref)
    services = town.bot.services
    assert services is not None
    async with services.env.db.transaction() as repo:  # her request ends (cancelled)
        request = await repo.requests.request_by_ref(ref)
        assert request is not None
        assert await repo.requests.cancel_by_citizen(request.id, alice.id, town.clock.now())

    await alice.send("/mydata")
    summary = await alice.wait_for(text="What we hold about you")
    assert ref in (summary.text or "") and PHONE in (summary.text or "")
    document = await alice.wait_for(predicate=lambda m: m.kind == "document")
    held = json.loads(town.sb.world.files[document.raw["document"]["file_id"]].data)
    assert held["user"]["first_name"] == "Alice"
    assert [r["ref"] for r in held["requests"]] == [ref]
    assert held["requests"][0]["phone"] == PHONE
    assert held["requests"][0]["address"] == ADDRESS

    await alice.send("/forget")
    await alice.wait_for(text="Delete your data?")
    await alice.press("Keep it")
    await alice.wait_for(text="Nothing was deleted")
    await alice.send("/forget")
    await alice.wait_for(text="Delete your data?")
    await alice.press("🗑 Yes, delete")
    await alice.wait_for(text="your data is deleted (1 request(s) cleared)")

    async with services.env.db.reading() as repo:
        cleared = await repo.requests.request_by_ref(ref)
    assert cleared is not None and cleared.status == "cancelled"
    assert (cleared.phone, cleared.address, cleared.description) == (None, None, "")
    await alice.send("/mydata")
    again = await alice.wait_for(text="What we hold about you")
    assert PHONE not in (again.text or "") and ADDRESS not in (again.text or "")
    await town.admin.send("/stats", chat=town.admin_chat)
    figures = await town.admin_chat.wait_for(text="Statistics · the whole district")
    assert "Collected: 1" in (figures.text or "")
