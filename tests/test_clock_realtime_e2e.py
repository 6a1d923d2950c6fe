"""Policies in seconds work with the real clock and the periodic sweep (no test ticks)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Town
from tests.flows import card_of, file_request


@pytest.fixture
def town_settings() -> dict[str, Any]:
    """Remind after 1 s, escalate after 2 s, sweep every second."""
    return {"schedule": {"claim_reminder": "1s", "escalate_after": "2s",
                         "sweep_interval": "1s"}}


async def test_a_policy_of_seconds_fires_within_seconds(town: Town) -> None:
    """With the clock left alone, an unclaimed request is reminded and escalated on time."""
    ref = await file_request(town.citizen)
    await card_of(town.volunteers, ref)
    reminder = await town.volunteers.wait_for(text="Still waiting for a volunteer", timeout=6)
    escalated = await town.admin_chat.wait_for(text="Escalated", timeout=8)
    assert ref in reminder.text and ref in escalated.text
