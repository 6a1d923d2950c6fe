"""A client of the Open311 API cannot flood the volunteers: at most
`[web.open311] max_requests_per_hour` of its requests in the last hour; more are refused with
429 in the spec's error list, and no card goes out for them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from tests.conftest import Town
from tests.test_open311_e2e import KEY, OTHER_KEY, V2, post, valid_xml


@pytest.fixture
def town_settings() -> dict[str, Any]:
    return {"web": {"listen": "127.0.0.1:0", "open311": {
        "enabled": True, "max_requests_per_hour": 3,
        "clients": [{"id": "hotline", "name": "12345 Hotline", "key": KEY},
                    {"id": "webform", "name": "District web form", "key": OTHER_KEY}]}}}


@pytest.fixture
async def api(town: Town) -> AsyncIterator[TestClient[Any, Any]]:
    services = town.bot.services
    assert services is not None
    async with TestClient(TestServer(services.web.application())) as client:
        yield client


async def test_a_client_over_its_hourly_limit_gets_429_and_no_card_goes_out(
        town: Town, api: TestClient[Any, Any]) -> None:
    refs = []
    for n in range(3):
        answer = await post(api, address_string="Jianshe Road", description=f"Lamp {n} broken")
        assert answer.status == 201
        refs.append((await answer.json())[0]["service_request_id"])
        town.clock.advance(minutes=10)
    for ref in refs:
        await town.volunteers.wait_for(text=ref)
    refused = await post(api, address_string="Jianshe Road", description="Lamp 4 broken")
    assert refused.status == 429
    # The first of the three leaves the hour 30 minutes from now (a second after, rounded up).
    assert 30 * 60 <= int(refused.headers["Retry-After"]) <= 30 * 60 + 1
    errors = await refused.json()
    assert errors[0]["code"] == 429 and "3 requests in the last hour" in errors[0]["description"]
    in_xml = await post(api, "xml", address_string="Jianshe Road", description="Lamp 5")
    assert in_xml.status == 429
    assert valid_xml(await in_xml.read()).findtext("error/code") == "429"
    # Another client has its own allowance; the hotline's comes back as the hour passes.
    other = await post(api, api_key=OTHER_KEY, address_string="Jianshe Road",
                       description="Web form lamp")
    assert other.status == 201
    listed = await (await api.get(f"{V2}/requests.json")).json()
    assert len(listed) == 4
    assert not [m for m in town.volunteers.bot_messages() if "Lamp 4" in (m.text or "")]
    town.clock.advance(minutes=29)
    still = await post(api, address_string="Jianshe Road", description="Lamp 6 broken")
    told = int(still.headers["Retry-After"])
    assert still.status == 429 and 60 <= told <= 61
    town.clock.advance(seconds=told)  # exactly what it was told is enough
    again = await post(api, address_string="Jianshe Road", description="Lamp 6 broken")
    assert again.status == 201
    assert "Retry-After" not in again.headers
