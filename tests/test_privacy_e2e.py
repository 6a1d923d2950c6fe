"""A privacy property: a citizen's phone and exact address never leave the private chats.

The rule (README, docs/decisions.md): the phone and the exact address go only to the volunteer
who claims the request (and to admins who look it up); a group card shows the category, the
area and a short summary. Every flow here that can post to a group or the admin chat is
driven by citizens whose phone and address are recognisable markers, and then one helper,
`assert_nothing_private_left_the_private_chats`, looks at

- everything the bot ever posted or edited in a group or supergroup (any chat with a negative
  id), as it was at that moment: the sandbox keeps only a message's latest buttons (and only
  its older texts, in `history`), so a listener records each `bot_message` and `bot_edit`
  as it happens: text or caption, buttons, every other field of the Message, and the content
  of any uploaded file (each cell of an XLSX or CSV);
- every log record of the story, from every logger (the bot's, telegram, aiosqlite, aiohttp,
  httpx, the sandbox's), captured at DEBUG: its formatted message, its args, its traceback.

The description is shown on the group card by design (render.card_text, clipped to 300
characters), with any phone number typed into it masked: that number is a marker too. The
markers are the phone the citizen shares, the address they type and the number in the
description. /find in the admin chat shows the request without the phone and the address;
only the admin's private chat gets them. `Story.allow` remains for a designed exception.

Adding a flow is one function: decorate an `async def my_flow(story: Story)` with `@flow()`
(with `@flow(start=..., settings=...)` if it needs its own clock or config) and it joins the
parametrized property test below.
"""

from __future__ import annotations

import asyncio
import csv
import io
import itertools
import json
import logging
import re
import zipfile
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any
from weakref import WeakKeyDictionary
from zoneinfo import ZoneInfo

import aiohttp
import pytest
from openpyxl import load_workbook

from bot.delivery import sender as delivery
from sandbox import Sandbox, SimChat, SimMessage, SimUser
from storage import Request
from tests.conftest import CATEGORIES, DEFAULT_START, TOKEN, Town, sandbox_limits
from tests.conftest import TestClock as StoryClock
from tests.flows import REF, open_bot, open_form

SHANGHAI = ZoneInfo("Asia/Shanghai")
AREA_FILE = Path(__file__).resolve().parent.parent / "sandbox" / "data" / "areas-shizhong.csv"
ELDERLY, LEGAL = "Help for the elderly", "Legal aid"
GUANGMINGLU = "Guangminglu Subdistrict Practice Institute"
GUANGMINGLU_01 = "Guangminglu Community 1 Practice Station"
GUANGMINGLU_02 = "Guangminglu Community 2 Practice Station"
CLAIM = "🙋 Claim"
WAIT = 20.0  # background jobs (charts, exports) and a storm's short minutes

# What the citizen tells only the claimer. The address's street name is a word nobody else
# uses, so even a part of the address would be found.
PHONE = "+8613977004321"
ADDRESS = "Flat 9B, 77 Quillfeather Lane"
ADDRESS_WORD = "Quillfeather"
# A phone number typed into the description: groups see the description, with it masked.
DESCRIPTION_PHONE = "13611112222"
DESCRIPTION = (f"Water drips through the kitchen ceiling. If I am out, ring my son on "
               f"{DESCRIPTION_PHONE}.")


# -- what must not leak, and how to find it ------------------------------------------------


@dataclass(frozen=True)
class Private:
    """One citizen's private data: the phone they share, the address they type (a phone
    typed into the description has no address)."""

    phone: str
    address: str = ""
    word: str = ADDRESS_WORD  # a distinctive word of the address

    @property
    def phone_digits(self) -> str:
        """The national number (no +86): found however the digits are spaced or prefixed."""
        return re.sub(r"\D", "", self.phone)[-11:]

    def found_in(self, text: str) -> list[str]:
        """Which of this citizen's private data a text holds."""
        found = []
        if self.phone_digits in _digits_together(text):
            found.append(f"phone {self.phone}")
        if self.address and (self.address in text or self.word.lower() in text.lower()):
            found.append(f"address {self.address!r}")
        return found


def _digits_together(text: str) -> str:
    """The text with the separators people put in phone numbers taken out."""
    return re.sub(r"[\s\-–().+/\u00a0]", "", text)


@dataclass
class Markers:
    """The private data of a story's citizens, and the few group messages that may hold it by
    design (chat id, message id) → why."""

    people: list[Private]
    allowed: dict[tuple[int, int], str] = field(default_factory=dict)

    def found_in(self, text: str) -> list[str]:
        """Every private datum the text holds."""
        return [what for person in self.people for what in person.found_in(text)]


def is_group(chat: SimChat) -> bool:
    """A chat that is not one person's private chat with the bot."""
    return chat.id < 0 or chat.type in ("group", "supergroup")


# -- what the groups saw -------------------------------------------------------------------


@dataclass(frozen=True)
class Seen:
    """A group message as it was when the bot sent or edited it."""

    event: str  # bot_message | bot_edit | final
    chat: str
    chat_id: int
    message_id: int
    text: str  # everything searchable: the Message's fields and any file's content
    shown: str  # its visible text or caption, for the report


class GroupRecorder:
    """Records every bot_message and bot_edit in a group, with what it showed then."""

    def __init__(self, sb: Sandbox) -> None:
        self.sb = sb
        self.seen: list[Seen] = []
        sb.on_event(self.on_event)

    def on_event(self, kind: str, chat: SimChat, message: SimMessage | None,
                 detail: str) -> None:
        if kind in ("bot_message", "bot_edit") and message is not None and is_group(chat):
            self.seen.append(snapshot(self.sb, kind, message))


_RECORDERS: WeakKeyDictionary[Sandbox, GroupRecorder] = WeakKeyDictionary()


def watch_groups(town: Town) -> GroupRecorder:
    """Start recording what the bot posts and edits in groups (before the story acts)."""
    recorder = GroupRecorder(town.sb)
    _RECORDERS[town.sb] = recorder
    return recorder


def snapshot(sb: Sandbox, event: str, message: SimMessage) -> Seen:
    """A message's searchable content now: the whole Message object (text or caption,
    entities, buttons with their labels, data and links, contact, venue, reply quote), its
    earlier texts, and the content of the files it carries."""
    parts = [json.dumps(message.raw, ensure_ascii=False, sort_keys=True),
             json.dumps(message.reply_markup or {}, ensure_ascii=False), *message.history]
    for file_id in message.file_ids:
        record = sb.world.files.get(file_id)
        if record is not None:
            parts.append(file_text(record.data, str(record.meta.get("file_name") or "")))
    return Seen(event, message.chat.label, message.chat.id, message.message_id,
                "\n".join(parts), message.text or f"<{message.kind}>")


def file_text(data: bytes, name: str) -> str:
    """Everything readable in a file: each cell of a spreadsheet or CSV, each part of a zip
    (XLSX is one), else the bytes as text."""
    parts: list[str] = []
    if data.startswith(b"PK\x03\x04"):
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            parts += [archive.read(member).decode("utf-8", "replace")
                      for member in archive.namelist()]
        if name.endswith(".xlsx"):
            parts += spreadsheet_cells(data)
    else:
        text = data.decode("utf-8-sig", "replace")
        parts.append(text)
        if name.endswith(".csv"):
            parts += [cell for row in csv.reader(io.StringIO(text)) for cell in row]
    return "\n".join(parts)


def spreadsheet_cells(data: bytes) -> list[str]:
    """The value of every cell of every sheet of an XLSX file, as text."""
    book = load_workbook(io.BytesIO(data), read_only=True)
    try:
        return [str(value) for sheet in book.worksheets
                for row in sheet.iter_rows(values_only=True) for value in row
                if value is not None]
    finally:
        book.close()


def group_traffic(town: Town) -> Iterator[Seen]:
    """Everything recorded as it happened, then every group message as it is now (deleted
    ones too), in case anything came before the recorder."""
    recorder = _RECORDERS.get(town.sb)
    assert recorder is not None, "watch_groups(town) must run before the story"
    yield from recorder.seen
    for chat in {id(c): c for c in town.sb.chats.values()}.values():
        if is_group(chat):
            for message in chat.messages:
                if message.from_bot:
                    yield snapshot(town.sb, "final", message)


def group_calls(town: Town) -> Iterator[Seen]:
    """Every call the bot made to a group, refused ones too (Telegram saw their content even
    if the group never did): its parameters as the sandbox logged them."""
    for method, params, result in town.sb.calls:
        try:
            chat_id = int(params.get("chat_id", 0))
        except (TypeError, ValueError):
            continue  # an @channel name: the sandbox has none
        if chat_id < 0:
            message_id = result.get("message_id", 0) if isinstance(result, dict) else 0
            text = json.dumps(params, ensure_ascii=False, sort_keys=True, default=str)
            yield Seen(f"call {method}", f"chat {chat_id}", chat_id, message_id, text,
                       str(params.get("text") or params.get("caption") or method))


def leaks_in_groups(town: Town, markers: Markers) -> list[str]:
    """Each group message (at any moment), and each call to a group, that holds private data
    it may not."""
    leaks = []
    for seen in itertools.chain(group_traffic(town), group_calls(town)):
        found = markers.found_in(seen.text)
        if found and (seen.chat_id, seen.message_id) not in markers.allowed:
            leaks.append(f"{seen.chat} #{seen.message_id} ({seen.event}): {found} in "
                         f"{seen.shown[:300]!r} (its text, buttons, fields or file)")
    return leaks


# -- what the logs said --------------------------------------------------------------------


def record_texts(record: logging.LogRecord) -> Iterator[str]:
    """Everything a log record carries: the formatted message, the raw message and args,
    the traceback, the stack, and any extra attributes."""
    try:
        yield record.getMessage()
    except Exception as exc:  # a record whose args do not fit its message still counts
        yield f"<unformattable: {exc}>"
    yield str(record.msg)
    yield repr(record.args)
    if record.exc_info:
        yield logging.Formatter().formatException(record.exc_info)
    if record.exc_text:
        yield record.exc_text
    if record.stack_info:
        yield record.stack_info
    standard = logging.makeLogRecord({}).__dict__
    extras = {k: v for k, v in record.__dict__.items() if k not in standard}
    if extras:
        yield repr(extras)


def leaks_in_logs(records: Iterable[logging.LogRecord], markers: Markers) -> list[str]:
    """Each log record that holds private data."""
    leaks = []
    for record in records:
        for text in record_texts(record):
            found = markers.found_in(text)
            if found:
                leaks.append(f"{record.name} {record.levelname}: {found}: {text[:300]!r}")
                break
    return leaks


def story_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    """The records of the story so far: the town's start (setup) and the story itself."""
    return [*caplog.get_records("setup"), *caplog.records]


def assert_nothing_private_left_the_private_chats(
    town: Town, markers: Markers, caplog: pytest.LogCaptureFixture
) -> None:
    """The property: no group message, at any moment, and no log record holds a citizen's
    phone or exact address (but for the designed exceptions named in `markers.allowed`)."""
    records = story_records(caplog)
    # The log capture is live at DEBUG: the Bot API calls were logged (redacted or not).
    assert any(r.name.startswith("telegram") and r.levelno == logging.DEBUG
               for r in records), "DEBUG records of telegram were not captured"
    # The recorder saw the story's group messages as they were posted.
    assert any(seen.event == "bot_message" for seen in group_traffic(town)), \
        "no group message was recorded"
    leaks = leaks_in_groups(town, markers) + leaks_in_logs(records, markers)
    assert not leaks, "private data left the private chats:\n" + "\n".join(leaks)


# -- the story's cast and steps ------------------------------------------------------------


class Story:
    """A town on the area tree, citizens with marker data, and the steps flows share."""

    def __init__(self, town: Town) -> None:
        self.town = town
        self.markers = Markers([])
        self.addresses: dict[int, str] = {}
        self.citizen = self.new_citizen("Marta", PHONE, ADDRESS)
        self.markers.people.append(Private(DESCRIPTION_PHONE))  # typed into the description

    def new_citizen(self, name: str, phone: str, address: str) -> SimUser:
        """A citizen whose phone and address are markers."""
        citizen = self.town.sb.add_user(name, language_code="en", phone=phone)
        self.markers.people.append(Private(phone, address))
        self.addresses[citizen.id] = address
        return citizen

    def allow(self, message: SimMessage, why: str) -> None:
        """A group message that shows private data by design."""
        self.markers.allowed[(message.chat.id, message.message_id)] = why

    async def fill_form(self, citizen: SimUser | None = None, *, category: str = ELDERLY,
                        photo: bool = False, station: str = GUANGMINGLU_01) -> SimUser:
        """The citizen fills the form up to the summary: the description (with a photo, if
        asked), the typed address, the community, the shared phone."""
        citizen = citizen or self.citizen
        await open_form(citizen, command=True)
        await citizen.press(category)
        await citizen.wait_for(text="describe the problem")
        if photo:
            await citizen.send_photo(caption=DESCRIPTION)
        else:
            await citizen.send(DESCRIPTION)
        await citizen.wait_for(text="Where is it")
        await citizen.send(self.addresses[citizen.id])
        institutes = await citizen.wait_for(text="Tap your subdistrict or town first")
        await citizen.press(GUANGMINGLU, message=institutes)
        stations = await citizen.wait_for(text=f"And which community in {GUANGMINGLU}?")
        await citizen.press(station, message=stations)
        await citizen.wait_for(text="How can the volunteer reach you")
        await citizen.tap("📞 Share my phone number")
        summary = await citizen.wait_for(text="Is everything correct?")
        assert citizen.phone is not None and citizen.phone in (summary.text or "")
        return citizen

    async def send(self, citizen: SimUser) -> str:
        """Confirm the filled form; return the reference."""
        await citizen.press("✅ Confirm and send")
        receipt = await citizen.wait_for(text="Reference number", timeout=WAIT)
        match = REF.search(receipt.text or "")
        assert match, receipt.text
        return match.group(0)

    async def file(self, citizen: SimUser | None = None, **form: Any) -> str:
        """A citizen files a request with their marker phone and address; its reference."""
        return await self.send(await self.fill_form(citizen, **form))

    async def card(self, group: SimChat, ref: str) -> SimMessage:
        """The next message of a group that shows the request."""
        return await group.wait_for(text=ref, timeout=WAIT)

    async def claim(self, volunteer: SimUser, group: SimChat, card: SimMessage, ref: str,
                    button: str = CLAIM) -> SimMessage:
        """A volunteer claims from a group card and gets the details in private, phone and
        address included (the positive control: the markers are real)."""
        press = await volunteer.press(button, chat=group, message=card)
        answer = (await press.answer()).text or ""
        assert answer.startswith("It is yours") and ref in answer, answer
        details = await volunteer.wait_for(
            text=ref, predicate=lambda m: "Phone" in (m.text or ""), timeout=WAIT)
        request = await self.request(ref)
        assert request.phone and request.phone in (details.text or "")
        assert request.address and request.address in (details.text or "")
        return details

    async def done(self, volunteer: SimUser, details: SimMessage, note: str | None) -> None:
        """The claimer presses Done, with a note or without."""
        await volunteer.press("✅ Done", message=details)
        await volunteer.wait_for(text="Write a short note")
        if note is None:
            await volunteer.press("Skip")
        else:
            await volunteer.send(note)
        await volunteer.wait_for(text="marked done")

    async def admin_says(self, command: str, chat: SimChat, expect: str) -> SimMessage:
        """The admin types a command in a chat and reads the answer."""
        await self.town.admin.send(command, chat=chat)
        return await chat.wait_for(text=expect, timeout=WAIT)

    async def bound_group(self, title: str, where: str, kind: str = "supergroup") -> SimChat:
        """A new group (basic or super) the admin binds to a category and area."""
        group = self.town.sb.add_group(title, type=kind)
        group.add_member(self.town.admin, status="administrator")
        for volunteer in (self.town.vol1, self.town.vol2):
            group.add_member(volunteer)
        await self.town.admin.send(f"/bind {where}", chat=group)
        await group.wait_for(text="This group now receives requests")
        return group

    async def request(self, ref: str) -> Request:
        """A request as the database holds it."""
        services = self.town.bot.services
        assert services is not None
        async with services.env.db.reading() as repo:
            request = await repo.requests.request_by_ref(ref)
        assert request is not None
        return request

    async def approve_volunteer(self, user: SimUser, area: str | None) -> None:
        """A volunteer whose registration an admin approved (as /join would leave it)."""
        services = self.town.bot.services
        assert services is not None
        env = services.env
        async with env.db.transaction() as repo:
            await repo.volunteers.apply(user.id, user.first_name, None, area, None, env.now())
            assert await repo.volunteers.decide(user.id, True, self.town.admin.id, None, env.now())

    async def drained(self) -> None:
        """Wait until the bot has made every call it queued (each wait ends at the next call
        the sandbox receives, not after a set time)."""
        services = self.town.bot.services
        assert services is not None
        for _ in range(200):
            await services.env.db.flush_loose()  # the sender's "sent" marks, now
            async with services.env.db.reading() as repo:
                if await repo.outbox.pending_outbox() == 0:
                    return
            await self.next_call()
        raise AssertionError("the outbox never drained")

    async def next_call(self) -> None:
        """Wait until the sandbox receives the bot's next call."""
        calls = self.town.sb.calls
        before = len(calls)
        await self.town.sb.wait_until(lambda: len(calls) > before, timeout=WAIT)


# -- the flows -----------------------------------------------------------------------------

FlowRun = Callable[[Story], Awaitable[None]]


@dataclass(frozen=True)
class Flow:
    """A story that can post to groups, and the town it needs."""

    run: FlowRun
    start: datetime = DEFAULT_START
    settings: dict[str, Any] = field(default_factory=dict)
    group_budget: int | None = None  # messages a "minute" per group (a storm), or the test's


FLOWS: dict[str, Flow] = {}


def flow(*, start: datetime = DEFAULT_START, group_budget: int | None = None,
         **settings: Any) -> Callable[[FlowRun], FlowRun]:
    """Register a flow for the property test (its name is the function's)."""
    def register(run: FlowRun) -> FlowRun:
        FLOWS[run.__name__] = Flow(run, start, settings, group_budget)
        return run
    return register


@flow()
async def first_card_text(story: Story) -> None:
    """A request without photos: a text card in the district's elderly group."""
    ref = await story.file()
    card = await story.card(story.town.volunteers, ref)
    assert card.kind == "text" and card.buttons == [CLAIM]
    assert "address given" in (card.text or "") and GUANGMINGLU_01 in (card.text or "")
    # The description is on the card by design, the number typed into it masked.
    assert "ring my son on •••." in (card.text or "")
    assert DESCRIPTION_PHONE not in (card.text or "")


@flow()
async def first_card_photo(story: Story) -> None:
    """A request with a photo: the card is the photo with the summary as its caption."""
    ref = await story.file(photo=True)
    card = await story.card(story.town.volunteers, ref)
    assert card.kind == "photo" and card.buttons == [CLAIM]


@flow(categories=[{**CATEGORIES[0], "keywords": ["ceiling", "drip"]}, *CATEGORIES[1:]])
async def described_at_the_first_step(story: Story) -> None:
    """The citizen just says what is wrong at the form's first step (the description with a
    number in it): the likely category comes first, she taps it, the form goes on; the card
    shows the description with the number masked, as ever."""
    citizen = story.citizen
    await open_form(citizen, command=True)
    await citizen.send(DESCRIPTION)
    question = await citizen.wait_for(text="Step 1 of 5")
    await citizen.press(f"⭐ Suggested: {ELDERLY}", message=question)
    await citizen.wait_for(text="Where is it")
    await citizen.send(ADDRESS)
    institutes = await citizen.wait_for(text="Tap your subdistrict or town first")
    await citizen.press(GUANGMINGLU, message=institutes)
    stations = await citizen.wait_for(text=f"And which community in {GUANGMINGLU}?")
    await citizen.press(GUANGMINGLU_01, message=stations)
    await citizen.wait_for(text="How can the volunteer reach you")
    await citizen.tap("📞 Share my phone number")
    summary = await citizen.wait_for(text="Is everything correct?")
    assert DESCRIPTION in (summary.text or "")
    card = await story.card(story.town.volunteers, await story.send(citizen))
    assert "ring my son on •••." in (card.text or "")


@flow()
async def masked_chat(story: Story) -> None:
    """The masked chat (issue 18.3): the citizen keeps her phone from the claimer, then, her
    choice, writes it and her address to him through the bot; he answers with a photo whose
    caption quotes the address; she reports the chat. The admin chat hears of the report
    without a word of it, and /thread typed there only points to the private chat, where
    the admin reads the thread."""
    town, citizen, li = story.town, story.citizen, story.town.vol1
    await open_bot(li)
    await story.fill_form()
    await citizen.press("🔒 Don't show my phone to the volunteer")
    await citizen.wait_for(text="not shown to the volunteer")
    ref = await story.send(citizen)
    card = await story.card(town.volunteers, ref)
    await (await li.press(CLAIM, chat=town.volunteers, message=card)).answer()
    details = await li.wait_for(text=ref, predicate=lambda m: "Phone" in (m.text or ""),
                                timeout=WAIT)
    assert PHONE not in (details.text or "") and ADDRESS in (details.text or "")
    notice = await citizen.wait_for(text="a volunteer has taken your request")
    await (await citizen.press("💬 Message the volunteer", message=notice)).answer()
    await citizen.wait_for(text="What you send now goes to the volunteer")
    await citizen.send(f"Ring me on {PHONE}; I am at {ADDRESS}.")
    relayed = await li.wait_for(text=ADDRESS)
    await (await li.press("↩️ Reply", message=relayed)).answer()
    await li.wait_for(text="What you send now goes to the citizen")
    await li.send_photo(caption=f"Is this the door of {ADDRESS}?")
    photo = await citizen.wait_for(predicate=lambda m: m.kind == "photo", timeout=WAIT)
    await (await citizen.press("🚩 Report", message=photo)).answer()
    confirm = await citizen.wait_for(text="Report the chat")
    await (await citizen.press("Yes, report it", message=confirm)).answer()
    await town.admin_chat.wait_for(text=f"/thread {ref}", timeout=WAIT)
    await town.admin.send(f"/thread {ref}", chat=town.admin_chat)
    await town.admin_chat.wait_for(text="private chat", timeout=WAIT)
    await open_bot(town.admin)
    await town.admin.send(f"/thread {ref}")
    transcript = await town.admin.wait_for(text="Reported chat", timeout=WAIT)
    assert PHONE in (transcript.text or "") and ADDRESS in (transcript.text or "")


@flow()
async def claim_reminder(story: Story) -> None:
    """Nobody claims for 30 minutes: the group is reminded, a reply to the card."""
    town = story.town
    ref = await story.file()
    card = await story.card(town.volunteers, ref)
    await town.tick(minutes=31)
    reminder = await town.volunteers.wait_for(text="Still waiting for a volunteer")
    assert ref in (reminder.text or "") and reminder.reply_to_message_id == card.message_id


@flow()
async def escalation_up_the_tree(story: Story) -> None:
    """Nobody claims at the station (a basic group): every 2 hours the card climbs to the
    institute's group, the district's group and the admin chat."""
    town = story.town
    station = await story.bound_group("Guangminglu 1 volunteers", "elderly guangminglu-01",
                                      kind="group")
    institute = await story.bound_group("Guangminglu volunteers", "elderly guangminglu")
    ref = await story.file()
    await story.card(station, ref)
    await town.tick(hours=2, minutes=1)
    assert "Escalated" in ((await story.card(institute, ref)).text or "")
    await story.citizen.wait_for(text="passed it to the service centre")
    await town.tick(hours=2)
    assert "Escalated" in ((await story.card(town.volunteers, ref)).text or "")
    await town.tick(hours=2)
    at_admins = await story.card(town.admin_chat, ref)
    assert "Escalated" in (at_admins.text or "")
    await open_bot(town.admin)
    await story.claim(town.admin, town.admin_chat, at_admins, ref)
    await town.sb.wait_until(lambda: "claimed by Admin" in (at_admins.text or ""))


@flow()
async def release_and_redispatch(story: Story) -> None:
    """Li claims and releases: the card offers Claim again, and Zhang takes it."""
    town = story.town
    await open_bot(town.vol1, town.vol2)
    ref = await story.file()
    card = await story.card(town.volunteers, ref)
    await story.claim(town.vol1, town.volunteers, card, ref)
    await town.sb.wait_until(lambda: "claimed by Li" in (card.text or ""))
    await town.vol1.press("↩️ Release")
    await town.vol1.wait_for(text=ref)
    await town.sb.wait_until(lambda: card.buttons == [CLAIM])
    await story.claim(town.vol2, town.volunteers, card, ref)
    await town.sb.wait_until(lambda: "claimed by Zhang" in (card.text or ""))


@flow()
async def reopened_by_the_citizen(story: Story) -> None:
    """Li is done, the citizen says it is not resolved: the old card becomes history, a
    fresh card goes up, the admin chat is told; Zhang claims the fresh one."""
    town = story.town
    await open_bot(town.vol1, town.vol2)
    ref = await story.file()
    card = await story.card(town.volunteers, ref)
    details = await story.claim(town.vol1, town.volunteers, card, ref)
    await story.done(town.vol1, details, "Tightened the pipe.")
    await story.citizen.wait_for(text="resolved?")
    await story.citizen.press("👎 No, not yet")
    fresh = await story.card(town.volunteers, ref)
    await town.admin_chat.wait_for(text=f"{ref} was reopened by the citizen")
    await town.sb.wait_until(lambda: "not resolved" in (card.text or ""))
    await story.claim(town.vol2, town.volunteers, fresh, ref)


@flow()
async def done_confirmed_and_auto_closed(story: Story) -> None:
    """The card is edited at each step: claimed, done, closed when the citizen confirms and
    rates; a second request is never confirmed and closes on the clock; a third is
    cancelled by its citizen."""
    town = story.town
    await open_bot(town.vol1)
    ref = await story.file()
    card = await story.card(town.volunteers, ref)
    details = await story.claim(town.vol1, town.volunteers, card, ref)
    await story.done(town.vol1, details, "Replaced the washer; the ceiling is dry.")
    await town.sb.wait_until(lambda: "done by Li" in (card.text or ""))
    await story.citizen.wait_for(text="resolved?")
    await story.citizen.press("👍 Yes, resolved")
    await story.citizen.wait_for(text="How would you rate")
    await story.citizen.press("⭐⭐⭐⭐⭐")
    await story.citizen.wait_for(text="add a comment")
    await story.citizen.send(f"Thanks! You can reach me at {PHONE[3:]} any time.")
    await story.citizen.wait_for(text="Your request is closed")
    await town.sb.wait_until(lambda: "closed" in (card.text or "").splitlines()[0])

    second = await story.file()
    card2 = await story.card(town.volunteers, second)
    details2 = await story.claim(town.vol1, town.volunteers, card2, second)
    await story.done(town.vol1, details2, None)
    await town.tick(hours=24, minutes=1)
    await town.tick(hours=48)
    await story.citizen.wait_for(text="closed because we did not hear back")
    await town.sb.wait_until(lambda: "closed" in (card2.text or "").splitlines()[0])

    third = await story.file()
    card3 = await story.card(town.volunteers, third)
    await story.citizen.send("/my")
    await story.citizen.wait_for(text="Your requests")
    await story.citizen.press(f"✖ Cancel {third}")
    await story.citizen.wait_for(text=f"Cancel request {third}?")
    await story.citizen.press("Yes, cancel it")
    await town.sb.wait_until(lambda: "cancelled" in (card3.text or ""))


async def form_at_point(story: Story, citizen: SimUser, point: tuple[float, float]) -> SimMessage:
    """A citizen fills the form up to the shared map point; the bot's next message."""
    await open_form(citizen, command=True)
    await citizen.press(ELDERLY)
    await citizen.wait_for(text="describe the problem")
    await citizen.send_photo(caption=DESCRIPTION)
    await citizen.wait_for(text="Where is it")
    await citizen.tap("📍 Share my location", latitude=point[0], longitude=point[1])
    return await citizen.wait_for(predicate=lambda m: any(
        words in (m.text or "") for words in ("a neighbour may have reported", "community")))


@flow(duplicates={"enabled": True})
async def a_neighbour_joins_a_duplicate(story: Story) -> None:
    """Marta files at a shared point; Nina, 80 m away, is shown it and joins: the card shows
    "+1 neighbour", and what Nina is told as it is claimed, done and closed holds nothing of
    Marta's (phone, address) nor the volunteer's name."""
    town = story.town
    nina = story.new_citizen("Nina", "+8613955551234", "Flat 2, 5 Wrenbrook Court")
    point = (34.83556, 117.55319)
    await open_bot(town.vol1)
    await form_at_point(story, story.citizen, point)
    await story.citizen.press(GUANGMINGLU_01)
    await story.citizen.wait_for(text="How can the volunteer reach you")
    await story.citizen.tap("📞 Share my phone number")
    await story.citizen.wait_for(text="Is everything correct?")
    ref = await story.send(story.citizen)
    card = await story.card(town.volunteers, ref)
    first = await form_at_point(story, nina, (point[0] + 80 / 111_195, point[1]))
    assert "a neighbour may have reported" in (first.text or "")
    entry = await nina.wait_for(text="Already reported 80 m away")
    await nina.press("🤝 Yes, the same — follow it", message=entry)
    await nina.wait_for(text="You now follow request")
    await town.sb.wait_until(lambda: "+1 neighbour" in (card.text or ""))
    await town.vol1.press(CLAIM, chat=town.volunteers, message=card)
    details = await town.vol1.wait_for(  # a shared point: the map, no address
        text=ref, predicate=lambda m: PHONE in (m.text or ""), timeout=WAIT)
    await nina.wait_for(text="a volunteer has taken it")
    await story.done(town.vol1, details, "Fixed it.")
    await nina.wait_for(text="says it is done")
    await story.citizen.wait_for(text="resolved?")
    await story.citizen.press("👍 Yes, resolved")
    closed = await nina.wait_for(text="is closed. How would you rate")
    await nina.press("⭐⭐⭐⭐⭐", message=closed)
    await nina.wait_for(text="Thank you for your rating")
    told = " ".join(m.text or "" for m in nina.private.messages if m.from_bot)
    assert PHONE not in told and ADDRESS_WORD not in told and "Li" not in told.split()
    assert DESCRIPTION_PHONE not in told  # not even the masked description reaches her


@flow()
async def casework_moves_and_more(story: Story) -> None:
    """An admin moves a request to another category (the legal group), then to another
    community (its station group), assigns it, cancels it, reopens it: each step edits the
    old cards or posts fresh ones."""
    town = story.town
    await open_bot(town.vol1, town.vol2)
    legal = await story.bound_group("Legal volunteers", "legal")
    station2 = await story.bound_group("Guangminglu 2 volunteers", "elderly guangminglu-02")
    ref = await story.file()
    card = await story.card(town.volunteers, ref)
    await story.claim(town.vol1, town.volunteers, card, ref)

    await story.admin_says(f"/move {ref} legal needs a lawyer", town.admin_chat, "moved from")
    await story.card(legal, ref)
    await town.sb.wait_until(lambda: "Moved to" in (card.text or ""))
    await story.admin_says(f"/move {ref} elderly", town.admin_chat, "moved from")
    await story.card(town.volunteers, ref)
    await story.admin_says(f"/move {ref} guangminglu-02 wrong community", town.admin_chat,
                           "moved from")
    moved = await story.card(station2, ref)
    assert moved.buttons == [CLAIM]

    await town.vol2.send("/start")  # already open; Zhang gets it by an admin
    await town.vol2.wait_for(text="Choose below")
    await story.admin_says(f"/assign {ref} {town.vol2.id} nearest", town.admin_chat,
                           "is assigned to")
    await town.vol2.wait_for(text=ADDRESS)
    await town.sb.wait_until(lambda: "claimed by Zhang" in (moved.text or ""))
    await story.admin_says(f"/cancel {ref} filed twice", town.admin_chat, "is cancelled")
    await town.sb.wait_until(lambda: "cancelled by an admin" in (moved.text or ""))
    await story.admin_says(f"/reopen {ref} not a duplicate after all", town.admin_chat,
                           "is reopened")
    await story.card(station2, ref)


@flow(group_budget=3, delivery={"group_per_minute": 3})
async def storm_combined_cards(story: Story) -> None:
    """Five citizens send at the same moment to a group that takes three messages a
    "minute": their cards share messages; Li claims one from a combined message, and the
    message is redrawn."""
    town = story.town
    await open_bot(town.vol1)
    citizens = [story.new_citizen(f"Neighbour {n}", f"+86139770100{n:02d}",
                                  f"Flat {n}, 8 Quillfeather Court") for n in range(5)]
    await asyncio.gather(*(story.fill_form(c) for c in citizens))
    refs = await asyncio.gather(*(story.send(c) for c in citizens))
    await town.sb.wait_until(lambda: all(any(ref in (m.text or "")
                                             for m in town.volunteers.bot_messages())
                                         for ref in refs), timeout=WAIT)
    combined = max(town.volunteers.bot_messages(), key=lambda m: len(m.buttons))
    assert len(combined.buttons) > 1, [m.text for m in town.volunteers.bot_messages()]
    first = REF.findall(combined.text or "")[0]
    await story.claim(town.vol1, town.volunteers, combined, first, button=f"{CLAIM} {first}")
    await town.sb.wait_until(lambda: "claimed by Li" in (combined.text or ""), timeout=WAIT)


@flow(start=datetime(2026, 6, 30, 10, 0, tzinfo=SHANGHAI))
async def digest_summary_and_overdue(story: Story) -> None:
    """On the last day of June one request waits (escalated, overdue) and one is claimed
    and forgotten: 1 July brings the daily digest and the monthly summary to the admin chat,
    2 July the overdue alert."""
    town = story.town
    await open_bot(town.vol1)
    waiting = await story.file()
    await story.card(town.volunteers, waiting)
    forgotten = await story.file()
    card = await story.card(town.volunteers, forgotten)
    await story.claim(town.vol1, town.volunteers, card, forgotten)
    await town.tick(hours=23, minutes=1)  # 09:01 on 1 July
    digest = await town.admin_chat.wait_for(text="Daily digest · 2026-06-30")
    assert waiting in (digest.text or "")
    await town.admin_chat.wait_for(text="Monthly summary · 2026-06")
    await town.tick(hours=25)  # 10:01 on 2 July: 48 h since the claim
    await town.admin_chat.wait_for(text=f"{forgotten} is overdue")
    await town.admin_chat.wait_for(text="Daily digest · 2026-07-01")


@flow()
async def broadcast(story: Story) -> None:
    """With a request open, an admin broadcasts to all volunteers from the admin chat: the
    preview and its "sent" edit stay there."""
    town = story.town
    await open_bot(town.vol1)
    await story.approve_volunteer(town.vol1, "guangminglu-01")
    ref = await story.file()
    await story.card(town.volunteers, ref)
    preview = await story.admin_says("/broadcast all Training on Saturday at 9:00",
                                     town.admin_chat, "Preview")
    await town.admin.press("✅ Send", chat=town.admin_chat, message=preview)
    await town.vol1.wait_for(text="Training on Saturday")
    await town.sb.wait_until(lambda: "Sent to 1" in (preview.text or ""))


@flow()
async def stats_and_chart(story: Story) -> None:
    """/stats in the admin chat and in a volunteers group: the figures, then the chart with
    its caption."""
    town = story.town
    await open_bot(town.vol1)
    ref = await story.file()
    card = await story.card(town.volunteers, ref)
    await story.claim(town.vol1, town.volunteers, card, ref)
    for chat in (town.admin_chat, town.volunteers):
        await story.admin_says("/stats", chat, "Collected")
        chart = await chat.wait_for(predicate=lambda m: m.kind == "photo", timeout=WAIT)
        assert (chart.text or "").startswith("📊")


@flow()
async def export_in_the_admin_chat(story: Story) -> None:
    """/export in the admin chat sends an XLSX and a CSV there (every cell is scanned);
    /export volunteers there sends a CSV without phones; in a volunteers group both are
    refused."""
    town = story.town
    await open_bot(town.vol1)
    await story.approve_volunteer(town.vol1, "guangminglu-01")
    ref = await story.file()
    card = await story.card(town.volunteers, ref)
    details = await story.claim(town.vol1, town.volunteers, card, ref)
    await story.done(town.vol1, details, "Fixed.")
    await story.file()
    await story.admin_says("/export", town.admin_chat, "Requests to export: 2")
    files = [await town.admin_chat.wait_for(predicate=lambda m: m.kind == "document",
                                            timeout=WAIT) for _ in range(2)]
    names = sorted(f.raw["document"]["file_name"] for f in files)
    assert names[0].endswith(".csv") and names[1].endswith(".xlsx"), names
    xlsx = next(f for f in files if f.raw["document"]["file_name"].endswith(".xlsx"))
    cells = spreadsheet_cells(town.sb.world.files[xlsx.raw["document"]["file_id"]].data)
    assert ref in cells  # the scan reads the cells
    await story.admin_says("/export volunteers", town.admin_chat, "Volunteers")
    await story.admin_says("/export", town.volunteers, "private")
    await story.admin_says("/export volunteers", town.volunteers, "phone numbers")


@flow()
async def find_in_groups(story: Story) -> None:
    """/find in a volunteers group is refused (to the admin there, to a volunteer in
    private); in the
    admin's private chat it shows the phone and address; in the admin chat it shows the rest
    and says where to ask for them. Then the other lookups typed in groups: /bindings,
    /admins, and /my and /mytasks (pointed to the private chat)."""
    town = story.town
    ref = await story.file()
    await story.card(town.volunteers, ref)
    await story.admin_says(f"/find {ref}", town.volunteers, "please ask in a private chat")
    await open_bot(town.vol1)
    await town.vol1.send(f"/find {ref}", chat=town.volunteers)
    await town.vol1.wait_for(text="Only admins can use /find")  # in private: the group hears
    # nothing (tests/test_group_admin_commands_e2e.py)
    await open_bot(town.admin)
    await town.admin.send(f"/find {ref}")
    private = await town.admin.wait_for(text="Timeline")
    assert PHONE in (private.text or "") and ADDRESS in (private.text or "")
    found = await story.admin_says(f"/find {ref}", town.admin_chat, "Timeline")
    assert f"send /find {ref} to me in private" in (found.text or "")
    # The other lookups typed in groups: the admin's lists, and the private-chat commands
    # of citizens and volunteers (pointed to the private chat).
    await story.admin_says("/bindings", town.admin_chat, "Volunteer groups")
    await story.admin_says("/admins", town.volunteers, "Admins")
    for person, command in ((story.citizen, "/my"), (town.vol1, "/mytasks")):
        await person.send(command, chat=town.volunteers)
        await town.volunteers.wait_for(text="private")


@flow()
async def card_refused_goes_to_the_admin_chat(story: Story) -> None:
    """The volunteers group has removed the bot: the card goes to the admin chat instead,
    with a notice naming Telegram's error."""
    town = story.town
    town.volunteers.remove_bot()
    ref = await story.file()
    await town.admin_chat.wait_for(text="could not be posted to its group")
    card = await story.card(town.admin_chat, ref)
    assert card.buttons == [CLAIM]


# -- the tests -----------------------------------------------------------------------------


@flow(volunteers={"teams_file": str(AREA_FILE.parent.parent.parent / "teams.example.csv")})
async def activity_card_and_sign_ups(story: Story) -> None:
    """Loop 2: a centre admin publishes an activity whose description holds the citizen's
    phone; the citizen (who shared it with a request before) joins the waitlist from the
    group, moves up when a place frees; the organiser reads the roster and cancels. The group
    sees the card and its edits only: nobody's name, the numbers masked."""
    town, citizen, admin = story.town, story.citizen, story.town.admin
    await story.file()
    town.volunteers.add_member(citizen)
    await open_bot(admin, town.vol2)
    await admin.send("/publish")
    await admin.wait_for(text="1/12")
    await admin.send(f"Reading to the elderly, ring {DESCRIPTION_PHONE}")  # masked too
    await admin.wait_for(text="2/12")
    await admin.press("Guangminglu Red Vest Team")
    await admin.wait_for(text="3/12")
    await admin.press("🏙 The whole district")
    await admin.wait_for(text="4/12")
    await admin.send(f"Guangminglu library, ring {PHONE[3:]} at the door")  # masked too
    await admin.wait_for(text="5/12")
    await admin.send_location(34.846, 117.551)
    await admin.wait_for(text="6/12")
    await admin.send("2026-06-13 09:00")
    await admin.wait_for(text="7/12")
    await admin.send("11:00")
    await admin.wait_for(text="8/12")
    await admin.send("1")
    await admin.wait_for(text="9/12")
    await admin.press("🙋 I lead it")
    await admin.wait_for(text="11/12")  # no themes in this town: no theme to choose
    await admin.press("Skip ⏭")
    await admin.wait_for(text="12/12")
    await admin.send(f"Questions: ring {PHONE[3:]} or {DESCRIPTION_PHONE}.")
    preview = await admin.wait_for(text="Preview")
    await admin.press("✅ Publish", message=preview)
    card = await town.volunteers.wait_for(text="Volunteers wanted")
    assert "ring ••• or •••." in (card.text or "")
    # The list anyone may read in private (/events) masks the numbers as the card does.
    await citizen.send("/events")
    listing = await citizen.wait_for(text="Reading to the elderly")
    assert "ring •••" in (listing.text or "") and DESCRIPTION_PHONE not in (listing.text or "")
    assert PHONE[3:] not in (listing.text or "")
    await (await town.vol2.press("🙋 Sign up", message=card)).answer()
    await town.sb.wait_until(lambda: "Full (1)" in (card.text or ""))
    await (await citizen.press("⏳ Join the waitlist", message=card)).answer()
    await citizen.wait_for(text="number 1 on the waitlist")
    await town.vol2.press("Cancel my sign-up")
    confirm = await town.vol2.wait_for(text="Cancel your sign-up")
    await town.vol2.press("Yes, cancel my sign-up", message=confirm)
    await citizen.wait_for(text="A place freed up")
    await admin.press("👥 Who signed up")
    roster = await admin.wait_for(text="1. Marta")
    assert PHONE not in (roster.text or "")
    await admin.press("❌ Cancel the activity")
    await admin.wait_for(text="will be told")
    await admin.press("Yes, cancel it")
    await citizen.wait_for(text="is cancelled")
    await town.sb.wait_until(lambda: "Cancelled" in (card.text or ""))


@flow(supervision={
    "points_file": str(AREA_FILE.parent / "inspection-points-shizhong.csv"),
    "units_file": str(AREA_FILE.parent / "responsible-units-shizhong.csv"),
    "types_file": str(AREA_FILE.parent.parent.parent / "problem-types.example.toml")})
async def supervision_problem(story: Story) -> None:
    """Loop 3: a problem whose note holds two phone numbers goes to the market bureau's chat;
    its member asks for more time and returns a second problem with reasons holding them too;
    the inspector rejects with one; the admin reassigns the second to a unit with no chat and
    looks the first up with /problem in the admin chat. Groups see every number masked."""
    town, admin, li, zhang = story.town, story.town.admin, story.town.vol1, story.town.vol2
    services = town.bot.services
    assert services is not None
    numbers = f"ring {PHONE[3:]} or {DESCRIPTION_PHONE}"
    await open_bot(admin, li, zhang)
    await admin.send(f"/inspector add {li.id} G1")
    await admin.wait_for(text="Li now inspects for G1")
    market = town.sb.add_group("市场监管局")
    market.add_member(admin, status="administrator")
    market.add_member(zhang)
    await admin.send("/bind unit market-regulation", chat=market)
    await market.wait_for(text="now the chat of")
    await admin.send(f"/unitmember add market-regulation {zhang.id}")
    await admin.wait_for(text="Zhang now acts for")

    async def report() -> str:
        async with services.units.for_job() as unit:
            repo, now = unit.repo, unit.now()
            visit = await repo.supervision.start_visit("market-01", li.id, 1, now)
            ref = await repo.supervision.next_problem_ref(2026)
            problem_id = await repo.supervision.report(
                ref=ref, visit_id=visit, point_id="market-01", unit_id="market-regulation",
                area_id="zhongxinjie", group_id=1, type_code="street-vending",
                severity="normal", note=f"Stalls on the pavement, {numbers}",
                before_photos=[town.sb.world.new_photo_sizes()[-1]["file_id"]],
                reported_by=li.id, now=now, receive_due=now + 4 * 3600)
            await services.dispatch.dispatch(unit, problem_id)
        services.sender.wake()
        return ref

    first = await report()
    card = await market.wait_for(text=first)
    assert "ring ••• or •••" in (card.text or "")
    await (await zhang.press("✅ Received", message=card)).answer()
    await town.sb.wait_until(lambda: "⏳ Need more time" in card.buttons)
    await (await zhang.press("⏳ Need more time", message=card)).answer()
    await zhang.send(f"The owner asks for a week, {numbers}")
    await zhang.send("2026-06-20")
    ask = await town.admin_chat.wait_for(text="asks for more time")
    await (await admin.press("✅ Approve", message=ask)).answer()
    await (await zhang.press("🔧 Rectified", message=card)).answer()
    await zhang.send_photo()
    await zhang.send(f"Moved away; {numbers}")
    recheck = await li.wait_for(text="Re-check problem")
    await (await li.press("❌ Reject", message=recheck)).answer()
    await li.send(f"Back again, {numbers}")
    await market.wait_for(text="did not pass the re-check")
    await town.sb.wait_until(lambda: "Rejected at re-check" in (card.text or ""))

    second = await report()
    card2 = await market.wait_for(text=second)
    await (await zhang.press("↩️ Not ours", message=card2)).answer()
    await zhang.send(f"Ask the housing bureau, {numbers}")
    returned = await town.admin_chat.wait_for(text="was returned")
    await (await admin.press("District Housing and Construction Bureau",
                             message=returned)).answer()
    await town.admin_chat.wait_for(text="which has no chat")
    await admin.send(f"/problem {first}", chat=town.admin_chat)
    await town.admin_chat.wait_for(text="History")


@flow(volunteers={"teams_file": str(AREA_FILE.parent.parent.parent / "teams.example.csv")})
async def recruitment_call(story: Story) -> None:
    """Loop 2: a centre admin sends a recruitment call whose text holds the citizen's phone;
    the citizen (who shared it with a request before) and a volunteer answer from the group;
    the admin's roster names them in private; one can't come after all; the call is
    cancelled. The group sees the card and its counts only: nobody's name, the numbers
    masked."""
    town, citizen, admin = story.town, story.citizen, story.town.admin
    await story.file()
    town.volunteers.add_member(citizen)
    await open_bot(admin, town.vol2)
    await admin.send("/call")
    await admin.wait_for(text="1/6")
    await admin.send(f"Sandbags at the dike: ring {PHONE[3:]} or {DESCRIPTION_PHONE}")
    await admin.wait_for(text="2/6")
    await admin.send(f"Xiaohe dike, ring {PHONE[3:]} at the gate")  # masked too
    await admin.wait_for(text="3/6")
    await admin.send_location(34.846, 117.551)
    await admin.wait_for(text="4/6")
    await admin.send("1")
    await admin.wait_for(text="5/6")
    await admin.send("18:00")
    question = await admin.wait_for(text="6/6")
    await admin.press("✔️ Done", message=question)
    preview = await admin.wait_for(text="Preview")
    await admin.press("🚨 Send", message=preview)
    card = await town.volunteers.wait_for(text="Recruitment call #1")
    assert "ring ••• or •••" in (card.text or "")
    await (await town.vol2.press("🙋 I'm in", message=card)).answer()
    await town.sb.wait_until(lambda: "1 of 1 have answered" in (card.text or ""))
    await (await citizen.press("🙋 I'm in", message=card)).answer()
    await citizen.wait_for(text="as reserve number 1")
    await town.vol2.press("Can't come after all")
    await citizen.wait_for(text="you are now among the people needed")
    roster = await admin.wait_for(text="1. Marta")
    assert PHONE not in (roster.text or "")
    await admin.press("❌ Cancel the call", message=roster)
    await admin.press("Yes, cancel it", message=await admin.wait_for(text="Cancel call #1"))
    await citizen.wait_for(text="is cancelled: please do not come")
    await town.sb.wait_until(lambda: "This call was cancelled" in (card.text or ""))


@flow(volunteers={"teams_file": str(AREA_FILE.parent.parent.parent / "teams.example.csv")})
async def rankings_and_honours(story: Story) -> None:
    """Loop 2: a volunteer who registered with a phone number (a marker too) is credited
    hours for the citizen's request; the month's ranking is posted in the group, and the
    centre admin announces an honour whose citation holds the citizen's and the volunteer's
    numbers. The group sees names and hours, the numbers masked."""
    town, admin, volunteer = story.town, story.town.admin, story.town.vol2
    volunteer_phone = "+8613966005555"
    story.markers.people.append(Private(volunteer_phone))
    ref = await story.file()
    request = await story.request(ref)
    services = town.bot.services
    assert services is not None
    env = services.env
    await open_bot(admin, volunteer)
    async with env.db.transaction() as repo:
        await repo.volunteers.apply(volunteer.id, "Zhang", volunteer_phone, None, "jinhui",
                                    env.now())
        assert await repo.volunteers.decide(volunteer.id, True, admin.id, None, env.now())
        await repo.volunteers.record_hours(request.id, volunteer.id, 2.5, env.now())
        await repo.volunteers.credit_hours(request.id, env.now())
    await volunteer.send("/ranking", chat=town.volunteers)
    ranking = await town.volunteers.wait_for(text="Volunteers by verified hours", timeout=WAIT)
    assert "1. Zhang — 2.5 h" in (ranking.text or "")
    assert "Golden Glow Elderly Care Team — 2.5 h" in (ranking.text or "")
    await admin.send(f"/honour {volunteer.id}")
    await admin.wait_for(text="1/3")
    await admin.send("最美志愿者")
    await admin.wait_for(text="2/3")
    await admin.press("2026")
    await admin.wait_for(text="3/3")
    await admin.send(f"Rang {PHONE[3:]} back every day; reach Zhang on {volunteer_phone}.")
    preview = await admin.wait_for(text="Preview")
    await admin.press("📣 Save and announce", message=preview)
    announced = await town.volunteers.wait_for(text="Honour", timeout=WAIT)
    assert "Zhang — 最美志愿者 (2026)" in (announced.text or "")
    assert "Rang ••• back every day" in (announced.text or "")
    told = await volunteer.wait_for(text="An honour was recorded")
    assert volunteer_phone in (told.text or "")  # the volunteer's own private chat


@flow(web={"listen": "127.0.0.1:0"})
async def results_page(story: Story) -> None:
    """The public results page and its CSV (issue 18.5), in both languages, after a request
    is filed and claimed: counts only, no marker, name or reference."""
    town = story.town
    await open_bot(town.vol1)
    ref = await story.file()
    card = await story.card(town.volunteers, ref)
    await story.claim(town.vol1, town.volunteers, card, ref)
    services = town.bot.services
    assert services is not None and services.web.port is not None
    async with aiohttp.ClientSession() as session:
        for path in ("/results?lang=zh", "/results?lang=en", "/results.csv?lang=zh",
                     "/results.csv?lang=en"):
            async with session.get(f"http://127.0.0.1:{services.web.port}{path}") as answer:
                body = await answer.text()
            if path.startswith("/results?"):
                assert '<dd data-figure="year.received">1</dd>' in body  # it was counted
            assert story.markers.found_in(body) == [], path
            assert ref not in body, path
            for person in (story.citizen, town.vol1):
                assert not re.search(rf"\b{person.first_name}\b", body), (path, person)


# A neighbour a helper files for (帮办员): her name, phone and home address are markers too,
# and so is the place of the problem the helper types.
NEIGHBOUR_NAME = "Granny Ottoline"
NEIGHBOUR_PHONE = "+8613655507788"
NEIGHBOUR_ADDRESS = "Flat 2A, 9 Larkspindle Court"
NEIGHBOUR_PLACE = "Courtyard gate of 9 Wrenwhistle Row"
HELPER_PHONE = "+8613512348765"  # the helper's own, given to the claimer by choice


@flow()
async def filed_for_a_neighbour(story: Story) -> None:
    """A volunteer files for a neighbour: her name, phone and address reach the claimer only
    (the card says it was filed for a neighbour, no more); the helper confirms in person;
    /stats and /export in the admin chat count it."""
    town = story.town
    helper = town.vol1
    story.markers.people += [Private(NEIGHBOUR_PHONE, NEIGHBOUR_ADDRESS, word="Larkspindle"),
                             Private(NEIGHBOUR_PHONE, NEIGHBOUR_NAME, word="Ottoline"),
                             Private(NEIGHBOUR_PHONE, NEIGHBOUR_PLACE, word="Wrenwhistle"),
                             Private(HELPER_PHONE)]
    helper.phone = HELPER_PHONE
    await open_bot(helper, town.vol2)
    await story.approve_volunteer(helper, None)
    await helper.send("/forneighbour")
    await helper.wait_for(text="What kind of help")
    await helper.press(ELDERLY)
    await helper.wait_for(text="describe the problem")
    await helper.send(DESCRIPTION)
    await helper.wait_for(text="Where is it")
    await helper.send(NEIGHBOUR_PLACE)
    institutes = await helper.wait_for(text="Tap your subdistrict or town first")
    await helper.press(GUANGMINGLU, message=institutes)
    stations = await helper.wait_for(text=f"And which community in {GUANGMINGLU}?")
    await helper.press(GUANGMINGLU_01, message=stations)
    await helper.wait_for(text="neighbour's name")
    await helper.send(NEIGHBOUR_NAME)
    await helper.wait_for(text="neighbour's phone number?")
    await helper.send(NEIGHBOUR_PHONE)
    await helper.wait_for(text="neighbour's address")
    await helper.send(NEIGHBOUR_ADDRESS)
    await helper.wait_for(text="also have your number")
    await helper.tap("📞 Yes, share my number")
    await helper.wait_for(text="Is everything correct?")
    ref = await story.send(helper)
    card = await story.card(town.volunteers, ref)
    assert "Filed by a helper for a neighbour" in (card.text or "")
    details = await story.claim(town.vol2, town.volunteers, card, ref)
    for private in (NEIGHBOUR_NAME, NEIGHBOUR_ADDRESS, HELPER_PHONE):
        assert private in (details.text or ""), details.text
    await story.done(town.vol2, details, "Fixed the gate latch.")
    question = await helper.wait_for(text="Please ask your neighbour")
    await helper.press("🤝 Resolved: confirmed in person", message=question)
    await helper.wait_for(text="How many stars")
    await helper.press("⭐⭐⭐⭐⭐")
    await helper.wait_for(text="add a comment")
    await helper.press("Skip")
    await helper.wait_for(text="Your request is closed")
    await town.sb.wait_until(lambda: "closed" in (card.text or "").splitlines()[0])
    await story.admin_says("/stats", town.admin_chat, "Filed for neighbours: 1")
    await story.admin_says("/export", town.admin_chat, "Requests to export: 1")
    for _ in range(2):
        await town.admin_chat.wait_for(predicate=lambda m: m.kind == "document", timeout=WAIT)
    found = await story.admin_says(f"/find {ref}", town.admin_chat, ref)
    assert "Filed by a helper for a neighbour" in (found.text or "")
    assert "confirmed in person" in (found.text or "")


@pytest.fixture
def flow_name() -> str:
    """The flow a test runs (the property test is parametrized over all of them)."""
    return "first_card_text"


@pytest.fixture
def the_flow(flow_name: str) -> Flow:
    """The flow and the town it needs."""
    return FLOWS[flow_name]


OPEN311_KEY = "p" * 32


@flow(web={"listen": "127.0.0.1:0", "open311": {
    "enabled": True, "default_area": "guangminglu-02",
    "clients": [{"id": "hotline", "name": "12345 Hotline", "key": OPEN311_KEY}]}})
async def open311_hotline(story: Story) -> None:
    """A hotline posts a caller's request through the Open311 API, with their name, phone,
    e-mail and door: the card goes to the station nearest the point and shows none of them;
    the claimer gets them in private. Without a point it goes to the default area."""
    town = story.town
    phone, address = "13977005555", "Room 3, 8 Quillfeather Lane"
    story.markers.people.append(Private(phone, address))
    await open_bot(town.vol1)
    services = town.bot.services
    assert services is not None and services.web.port is not None
    fields = {"api_key": OPEN311_KEY, "service_code": "elderly", "description": DESCRIPTION,
              "lat": "34.83557", "long": "117.55318", "address_string": address,
              "first_name": "Meiling", "phone": phone, "email": "meiling@example.org"}
    async with aiohttp.ClientSession() as session, session.post(
            f"http://127.0.0.1:{services.web.port}/open311/v2/requests.json",
            data=fields) as answer:
        assert answer.status == 201, await answer.text()
        ref = (await answer.json())[0]["service_request_id"]
    card = await story.card(town.volunteers, ref)
    assert GUANGMINGLU_01 in (card.text or "") and "Meiling" not in (card.text or "")
    await story.claim(town.vol1, town.volunteers, card, ref)
    del fields["lat"], fields["long"]
    async with aiohttp.ClientSession() as session, session.post(
            f"http://127.0.0.1:{services.web.port}/open311/v2/requests.json",
            data=fields) as answer:
        second = (await answer.json())[0]["service_request_id"]
    assert GUANGMINGLU_02 in ((await story.card(town.volunteers, second)).text or "")
    # A point far outside the district (Beijing, 600 km away) is no station's: the default.
    fields.update({"lat": "39.9042", "long": "116.4074"})
    async with aiohttp.ClientSession() as session, session.post(
            f"http://127.0.0.1:{services.web.port}/open311/v2/requests.json",
            data=fields) as answer:
        third = (await answer.json())[0]["service_request_id"]
    assert GUANGMINGLU_02 in ((await story.card(town.volunteers, third)).text or "")
    # The public listing names the street at most, never the door; a request whose address
    # has no street (a point alone) is named by its area.
    del fields["address_string"]
    fields.update({"lat": "34.83557", "long": "117.55318"})
    async with aiohttp.ClientSession() as session:
        async with session.post(f"http://127.0.0.1:{services.web.port}/open311/v2/"
                                "requests.json", data=fields) as answer:
            fourth = (await answer.json())[0]["service_request_id"]
        listed = {}
        for shown in (ref, fourth):
            async with session.get(f"http://127.0.0.1:{services.web.port}/open311/v2/"
                                   f"requests/{shown}.json") as answer:
                listed[shown] = (await answer.json())[0]["address"]
    assert listed == {ref: "Quillfeather Lane", fourth: GUANGMINGLU_01}, listed


@pytest.fixture
def clock_start(the_flow: Flow) -> datetime:
    """When the flow's clock starts."""
    return the_flow.start


@pytest.fixture
def town_settings(the_flow: Flow) -> dict[str, Any]:
    """The area tree, and the flow's own settings."""
    return {"areas": {"file": str(AREA_FILE)}, **the_flow.settings}


@pytest.fixture
def debug_logs(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """Capture every record at DEBUG from every logger, from before the bot starts: loggers
    set to a higher level are lowered, and those that do not propagate get the handler."""
    caplog.set_level(logging.DEBUG)
    assert logging.root.manager.disable < logging.DEBUG
    lonely = []
    for name, logger in list(logging.root.manager.loggerDict.items()):
        if not isinstance(logger, logging.Logger):
            continue
        if logger.level > logging.DEBUG:
            caplog.set_level(logging.DEBUG, logger=name)
        if not logger.propagate:
            logger.addHandler(caplog.handler)
            lonely.append(logger)
    yield caplog
    for logger in lonely:
        logger.removeHandler(caplog.handler)


@pytest.fixture
async def sandbox(
    clock: StoryClock, the_flow: Flow, debug_logs: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[Sandbox]:
    """conftest's sandbox; for a storm, groups take a few messages per 3-second minute (and
    the bot's sender keeps to the same budget, with its usual margin)."""
    limits = sandbox_limits()
    if the_flow.group_budget is not None:
        minute = 3.0
        limits = replace(limits, group_per_minute=the_flow.group_budget,
                         group_edits_per_minute=the_flow.group_budget, group_window=minute)
        monkeypatch.setattr(delivery, "GROUP_WINDOW", minute * 61 / 60)
    async with Sandbox(token=TOKEN, limits=limits, clock=clock.now) as sb:
        yield sb


@pytest.fixture
def story(town: Town) -> Story:
    """The town, recorded from the start, with a citizen whose data are markers."""
    watch_groups(town)
    return Story(town)


@pytest.mark.parametrize("flow_name", list(FLOWS))
async def test_nothing_private_leaves_the_private_chats(
    story: Story, the_flow: Flow, caplog: pytest.LogCaptureFixture
) -> None:
    """Whatever the flow posts to groups, and whatever is logged, holds no citizen's phone or
    exact address."""
    await the_flow.run(story)
    await story.drained()
    assert story.town.sb.count_429 == 0, story.town.sb.errors
    assert_nothing_private_left_the_private_chats(story.town, story.markers, caplog)


async def test_the_markers_are_real_and_the_scan_sees_them(
    story: Story, caplog: pytest.LogCaptureFixture
) -> None:
    """The positive control: the claimer's private chat does get the phone and the address,
    and the same scan that finds nothing in the groups finds both there (and in a log
    record that carries them)."""
    town = story.town
    await open_bot(town.vol1)
    ref = await story.file()
    card = await story.card(town.volunteers, ref)
    details = await story.claim(town.vol1, town.volunteers, card, ref)
    text = details.text or ""
    assert PHONE in text and ADDRESS in text
    markers = story.markers
    private = [snapshot(town.sb, "final", m) for m in town.vol1.private.bot_messages()]
    found = {what for seen in private for what in markers.found_in(seen.text)}
    assert found == {f"phone {PHONE}", f"address {ADDRESS!r}", f"phone {DESCRIPTION_PHONE}"}
    # Spaced out, or without +86, the phone is still found.
    assert markers.found_in("call +86 139 7700 4321") == [f"phone {PHONE}"]
    assert markers.found_in("139-7700-4321") == [f"phone {PHONE}"]
    assert markers.found_in("near quillfeather lane") == [f"address {ADDRESS!r}"]
    assert markers.found_in(DESCRIPTION) == [f"phone {DESCRIPTION_PHONE}"]
    record = logging.LogRecord("civicloop.test", logging.DEBUG, __file__, 1,
                               "sent %s", ({"text": text},), None)
    assert leaks_in_logs([record], markers)
    await story.drained()
    assert_nothing_private_left_the_private_chats(town, markers, caplog)
