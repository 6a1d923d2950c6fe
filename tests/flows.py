"""Steps the end-to-end stories share, written the way a person would do them."""

from __future__ import annotations

import asyncio
import re
import shutil
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import aiohttp
import pytest

import storage.db
from sandbox import SimChat, SimMessage, SimUser
from tests.conftest import Town

REF = re.compile(r"\d{4}-\d{6}")
ROOT = Path(__file__).resolve().parent.parent
REGISTERS = {"points_file": "inspection-points.example.csv",
             "units_file": "responsible-units.example.csv",
             "types_file": "problem-types.example.toml"}


def supervision_town(tmp_path: Path, **supervision: Any) -> dict[str, Any]:
    """Town settings with the example area tree and the example registers (copied beside the
    config, as a district keeps them), and these `[supervision]` settings besides."""
    for name in REGISTERS.values():
        shutil.copy(ROOT / name, tmp_path / name)
    return {"areas": {"file": str(ROOT / "areas.example.csv")},
            "supervision": {**REGISTERS, **supervision}}


def long_as(start: str, units: int) -> str:
    """A text that begins with `start` and is exactly `units` long as Telegram counts it (an
    emoji counts 2), its words repeated: to type a reason just at, or just over, a limit."""
    text = start
    while _units(text) < units:
        text += " " + start
    while _units(text) > units:
        text = text[:-1]
    text = text.rstrip() + "." * (units - _units(text.rstrip()))
    assert _units(text) == units and text == " ".join(text.split()), text
    return text


def _units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


async def file_request(
    citizen: SimUser,
    *,
    category: str = "Help for the elderly",
    text: str = "My kitchen tap is leaking and I cannot fix it.",
    address: str | None = "12 Jianshe Road, building 3",
    share_phone: bool = True,
) -> str:
    """A citizen files a request through the form (English labels) and returns its reference."""
    await citizen.send("/start")
    await citizen.wait_for(text="Choose below")
    await open_form(citizen)
    await citizen.press(category)
    await citizen.wait_for(text="describe the problem")
    await citizen.send(text)
    await citizen.wait_for(text="Where is it")
    if address is None:
        await citizen.tap("📍 Share my location", latitude=34.86, longitude=117.55)
    else:
        await citizen.send(address)
    await citizen.wait_for(text="How can the volunteer reach you")
    if share_phone:
        await citizen.tap("📞 Share my phone number")
    else:
        await citizen.tap("Skip")
    await citizen.wait_for(text="Is everything correct?")
    await citizen.press("✅ Confirm and send")
    receipt = await citizen.wait_for(text="Reference number")
    match = REF.search(receipt.text)
    assert match, receipt.text
    return match.group(0)


# The form's first question and the privacy notice before a person's first form, by language.
FIRST_QUESTION = {"en": "What kind of help", "zh": "哪一类帮助"}
NOTICE = {"en": ("Before you start", "✅ I agree, continue"),
          "zh": ("关于您的个人信息", "✅ 同意并继续")}


async def open_form(
    citizen: SimUser,
    *,
    command: bool = False,
    message: SimMessage | None = None,
    lang: str = "en",
    timeout: float = 5.0,  # noqa: ASYNC109
) -> SimMessage:
    """The citizen opens the request form (📝 New request, or /new), agreeing to the privacy
    notice when it comes first (once per person); returns the form's first question."""
    question, (notice, agree) = FIRST_QUESTION[lang], NOTICE[lang]
    if command:
        await citizen.send("/new")
    else:
        await citizen.press("📝 New request" if lang == "en" else "📝 新建诉求", message=message)
    first = await citizen.wait_for(
        predicate=lambda m: question in (m.text or "") or notice in (m.text or ""),
        timeout=timeout)
    if notice not in (first.text or ""):
        return first
    await citizen.press(agree, message=first)
    return await citizen.wait_for(text=question, timeout=timeout)


async def card_of(group: SimChat, ref: str) -> SimMessage:
    """Wait for the request's card to appear in a group."""
    return await group.wait_for(text=ref)


async def claim(volunteer: SimUser, group: SimChat, card: SimMessage) -> str:
    """A volunteer presses Claim on a card; returns the popup text."""
    press = await volunteer.press("🙋 Claim", chat=group, message=card)
    return (await press.answer()).text or ""


async def open_bot(*people: SimUser) -> None:
    """Each person opens the bot in private (so it may write to them) and sees the menu."""
    for person in people:
        await person.send("/start")
        await person.wait_for(text="Choose below")


def count_transactions(town: Town, monkeypatch: pytest.MonkeyPatch) -> Counter[int | None]:
    """Count the transactions the bot opens from now on, by the update being handled (None:
    no update, e.g. the sender's own bookkeeping)."""
    services = town.bot.services
    assert services is not None
    db = services.env.db
    real = db.transaction
    opened: Counter[int | None] = Counter()

    def counted(inline: bool = False) -> Any:
        handling = storage.db._handling_update.get()
        opened[handling.update_id if handling is not None else None] += 1
        return real(inline)

    monkeypatch.setattr(db, "transaction", counted)
    return opened


async def refused_in_private(person: SimUser, group: SimChat, command: str) -> None:
    """Someone who is no admin types an admin command in a group: the group hears nothing,
    and they are told in private (having opened the bot first)."""
    if not person.private.bot_messages():
        await open_bot(person)
    before = len(group.bot_messages())
    await person.send(command, chat=group)
    await person.wait_for(text=f"Only admins can use {command.split()[0]}")
    assert len(group.bot_messages()) == before, group.bot_messages()[before:]


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 5.0) -> None:  # noqa: ASYNC109
    """Wait until an asynchronous condition holds (a read of the bot's database, say), looking
    again every 10 ms; fail at the deadline."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await check():
        if loop.time() > deadline:
            raise TimeoutError(f"condition not met within {timeout}s")
        await asyncio.sleep(0.01)


async def ops(town: Town, path: str) -> tuple[int, str]:
    """GET the operator's endpoint (/healthz, /metrics): its status and body."""
    services = town.bot.services
    assert services is not None and services.ops.port is not None
    async with aiohttp.ClientSession() as session, session.get(
            f"http://127.0.0.1:{services.ops.port}{path}") as response:
        return response.status, await response.text()


def metric(text: str, name: str) -> float:
    """A sample's value from the Prometheus text."""
    for line in text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name} not in the metrics:\n{text}")


def too_old(message: SimMessage) -> SimMessage:
    """The message as Telegram sends it with a press some days after it was posted: an
    inaccessible message (its id and chat, date 0; no text, no keyboard). What it carries
    cannot be looked at, so the press goes on to the service, which checks it."""
    raw = {"message_id": message.message_id, "chat": message.raw["chat"], "date": 0}
    return replace(message, raw=raw)


async def pressed_days_later(person: SimUser, data: str, chat: SimChat | None = None
                             ) -> Any:
    """`person` presses `data` on the bot's last message in `chat` (their private chat by
    default) some days after it came: the service's answer."""
    chat = chat or person.private
    message = chat.last_bot_message
    assert message is not None
    return await (await person.press_data(data, message=too_old(message))).answer()
