"""The operator's endpoint: /healthz says whether the bot can work, /metrics counts it."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Town
from tests.flows import card_of, file_request, metric, ops


@pytest.fixture
def town_settings() -> dict[str, Any]:
    return {"http": {"listen": "127.0.0.1:0"}}


async def test_health_is_ok_and_the_metrics_count_a_filed_request(town: Town) -> None:
    status, body = await ops(town, "/healthz")
    assert status == 200 and '"status": "ok"' in body and '"database": "writable"' in body
    _, before = await ops(town, "/metrics")
    ref = await file_request(town.citizen)
    await card_of(town.volunteers, ref)
    _, after = await ops(town, "/metrics")
    assert metric(after, "civicloop_updates_total") > metric(before, "civicloop_updates_total")
    assert metric(after, "civicloop_messages_sent_total") > metric(
        before, "civicloop_messages_sent_total")
    assert metric(after, 'civicloop_requests_open{status="dispatched"}') == 1
    assert metric(after, "civicloop_telegram_429_total") == 0
    assert metric(after, "civicloop_telegram_up") == 1
    assert "+8613800000001" not in after  # no personal data, ever
    status, body = await ops(town, "/healthz")
    assert '"last_update_age_seconds": null' not in body


async def test_health_fails_while_telegram_is_unreachable_and_recovers(town: Town) -> None:
    """The network goes down and the reminder cannot go: /healthz answers 503 naming
    Telegram, the backlog shows the waiting call; when it is back, 200 again."""
    ref = await file_request(town.citizen)
    await card_of(town.volunteers, ref)
    town.sb.unreachable = True
    await town.tick(minutes=31)
    await town.sb.wait_until(lambda: "sendMessage" in town.sb.dropped, timeout=15)
    status, body = await ops(town, "/healthz")
    assert status == 503 and '"telegram": "unreachable"' in body
    _, metrics = await ops(town, "/metrics")
    assert metric(metrics, "civicloop_outbox_backlog") >= 1
    assert metric(metrics, "civicloop_telegram_up") == 0
    town.sb.unreachable = False
    await town.volunteers.wait_for(text=ref, timeout=30)
    services = town.bot.services
    assert services is not None
    await town.sb.wait_until(lambda: services.ops.receiver is not None
                             and services.ops.receiver.failures == 0
                             and services.sender.outage.since is None, timeout=30)
    status, _ = await ops(town, "/healthz")
    assert status == 200
