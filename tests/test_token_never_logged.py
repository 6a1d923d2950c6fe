"""The bot token is in the path of every Bot API request; no log line may carry it."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from bot.app import run
from bot.config import parse_config
from bot.logs import RedactSecrets

TOKEN = "123456:AAH-secret-part-of-the-token_xyz"


async def test_a_network_failure_at_start_logs_no_token(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Telegram's address does not resolve: the bot logs its retries, at DEBUG even the URL
    it calls, and the token appears in none of it."""
    caplog.set_level(logging.DEBUG)
    config = parse_config({
        "telegram": {"token": TOKEN, "base_url": "https://no-such-host.invalid/bot"},
        "bot": {"database": "civicloop.db", "admin_ids": [1]},
        "categories": [{"code": "elderly", "zh": "助老服务", "en": "Help for the elderly"}],
    }, env={}, base_dir=tmp_path)
    stop = asyncio.Event()
    running = asyncio.create_task(run(config, stop))
    deadline = asyncio.get_running_loop().time() + 20
    while "cannot reach Telegram" not in caplog.text:
        assert asyncio.get_running_loop().time() < deadline, caplog.text[-2000:]
        await asyncio.sleep(0.05)
    stop.set()
    await asyncio.wait_for(running, timeout=20)
    assert "no-such-host.invalid/bot<token>" in caplog.text  # the URL was logged, redacted
    assert TOKEN not in caplog.text
    assert "AAH-secret-part" not in caplog.text


def test_a_traceback_holding_the_token_is_redacted() -> None:
    """An exception whose text holds the token (aiohttp's InvalidURL names the URL) is
    written with the token replaced, in the message and in the traceback."""
    redactor = RedactSecrets([TOKEN])
    try:
        raise ValueError(f"bad URL https://api.telegram.org/bot{TOKEN}/getMe")
    except ValueError as exc:
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed: %s", (exc,),
                                   exc_info=(type(exc), exc, exc.__traceback__))
    assert redactor.filter(record)
    text = logging.Formatter().format(record)
    assert TOKEN not in text and "AAH-secret-part" not in text
    assert text.count("<token>") == 2
