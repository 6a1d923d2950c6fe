"""The webhook watch reads Telegram's answer as an address: its own webhook, written another
way, is still its own; another path, host or a deleted webhook is not."""

from __future__ import annotations

import pytest

from bot.delivery.webhook import same_address

OURS = "https://bot.example.org/telegram/hook?k=1"


@pytest.mark.parametrize("told", [
    OURS,
    "https://BOT.Example.ORG/telegram/hook?k=1",
    "https://bot.example.org:443/telegram/hook?k=1",
    "HTTPS://bot.example.org/telegram/hook?k=1",
])
def test_our_own_webhook_written_another_way_is_still_ours(told: str) -> None:
    assert same_address(told, OURS)


@pytest.mark.parametrize("told", [
    "",
    "https://bot.example.org/other/hook?k=1",
    "https://another.example.org/telegram/hook?k=1",
    "https://bot.example.org:8443/telegram/hook?k=1",
    "https://bot.example.org/telegram/hook?k=2",
])
def test_a_deleted_or_other_webhook_is_not_ours(told: str) -> None:
    assert not same_address(told, OURS)


def test_an_internationalised_host_matches_its_punycode() -> None:
    assert same_address("https://xn--fiq228c.example/hook", "https://中文.example/hook")
