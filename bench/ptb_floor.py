"""PTB alone on the seed year's harness: the floor under any PTB bot's replay time.

A bare python-telegram-bot Application (its own Updater, no database, handlers that only
answer) gets updates one at a time from an in-process Bot API, as bench/seed_year.py feeds
civicloop: the same share of button presses, the same number of messages sent per update.
Its rate is what PTB itself costs per update on this machine, before any bot logic; the seed
year's goal is compared against it.

    python -m bench.ptb_floor --updates 20000 --press-share 0.72 --messages 1.8
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import time
from collections import deque
from typing import Any

from telegram import Update
from telegram.ext import Application, CallbackQueryHandler, ContextTypes, MessageHandler, filters
from telegram.request import BaseRequest, RequestData

TOKEN = "123456:FLOOR-token"
BOT = {"id": 7_000_000_002, "is_bot": True, "first_name": "Floor", "username": "floor_bot"}
USER = {"id": 42, "is_bot": False, "first_name": "张伟", "language_code": "zh"}
CHAT_ID = 42
CHAT = {"id": CHAT_ID, "type": "private", "first_name": "张伟"}
# What a pressed button's message looks like in the replay: a question with a keyboard.
KEYBOARD = {"inline_keyboard": [[{"text": f"选项 {n}", "callback_data": f"pick:{n}"}]
                                for n in range(6)]}
DESCRIPTION = "楼道里堆满杂物，影响通行"
PRESSED = {"message_id": 1, "from": BOT, "chat": CHAT, "date": 1_767_225_600,
           "text": "请选择需要帮助的类别", "reply_markup": KEYBOARD}


class FloorApi(BaseRequest):
    """The Bot API in-process: hands out one update at a time, answers every call."""

    def __init__(self) -> None:
        self.pending: deque[dict[str, Any]] = deque()
        self.news = asyncio.Event()
        self.update_ids = itertools.count(1)
        self.message_ids = itertools.count(2)
        self.calls = 0

    @property
    def read_timeout(self) -> float | None:
        """No network, no timeout."""
        return None

    async def initialize(self) -> None:
        """Nothing to open."""

    async def shutdown(self) -> None:
        """Nothing to close."""

    def inject(self, update: dict[str, Any]) -> None:
        """Queue an update for the next getUpdates."""
        update["update_id"] = next(self.update_ids)
        self.pending.append(update)
        self.news.set()

    async def do_request(self, url: str, method: str, request_data: RequestData | None = None,
                         read_timeout: Any = None, write_timeout: Any = None,
                         connect_timeout: Any = None, pool_timeout: Any = None,
                         ) -> tuple[int, bytes]:
        """Answer one call as Telegram would."""
        name = url.rsplit("/", 1)[-1]
        params: dict[str, Any] = dict(request_data.parameters) if request_data else {}
        self.calls += 1
        result: Any = True
        if name == "getUpdates":
            offset = params.get("offset")
            while offset is not None and self.pending and \
                    self.pending[0]["update_id"] < int(offset):
                self.pending.popleft()
            if not self.pending:
                self.news.clear()
                try:
                    await asyncio.wait_for(self.news.wait(), float(params.get("timeout", 0)))
                except TimeoutError:
                    return 200, b'{"ok":true,"result":[]}'
            result = list(self.pending)
        elif name == "getMe":
            result = BOT
        elif name == "sendMessage":
            result = {"message_id": next(self.message_ids), "from": BOT, "chat": CHAT,
                      "date": 1_767_225_600, "text": params["text"]}
            if "reply_markup" in params:
                result["reply_markup"] = params["reply_markup"]
        return 200, json.dumps({"ok": True, "result": result}, ensure_ascii=False).encode()


async def floor_rate(updates: int, press_share: float, messages: float) -> float:
    """Updates per second PTB alone handles, one at a time, with this mix."""
    api = FloorApi()
    handled = asyncio.Event()
    owed = 0.0  # messages per update, spread evenly: 1.8 is one, then two, then two, …

    async def reply(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        nonlocal owed
        if update.callback_query is not None:
            await update.callback_query.answer()
        owed += messages
        while owed >= 1:
            owed -= 1
            # The keyboard as a dict, as civicloop's stored calls carry it: PTB sends it as is
            # (an InlineKeyboardMarkup would add its to_dict() to every call).
            await context.bot.send_message(CHAT_ID, "请描述您的问题",
                                           reply_markup=KEYBOARD)  # type: ignore[arg-type]
        handled.set()

    app = Application.builder().token(TOKEN).request(api).get_updates_request(api).build()
    app.add_handler(MessageHandler(filters.TEXT, reply))
    app.add_handler(CallbackQueryHandler(reply))
    async with app:
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0, timeout=5)
        await app.start()
        presses = 0
        began = time.perf_counter()
        for n in range(updates):
            handled.clear()
            if presses < press_share * (n + 1):
                presses += 1
                api.inject({"callback_query": {"id": f"q{n}", "from": USER, "message": PRESSED,
                                               "chat_instance": "ci42", "data": "pick:1"}})
            else:
                api.inject({"message": {"message_id": n + 10, "from": USER, "chat": CHAT,
                                        "date": 1_767_225_600, "text": DESCRIPTION}})
            await asyncio.wait_for(handled.wait(), timeout=30)
        elapsed = time.perf_counter() - began
        await app.updater.stop()
        await app.stop()
    return updates / elapsed


def main() -> None:
    """Measure and print the floor."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--updates", type=int, default=20_000)
    parser.add_argument("--press-share", type=float, default=0.72)
    parser.add_argument("--messages", type=float, default=1.8,
                        help="messages sent per update (besides answering a press)")
    args = parser.parse_args()
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    rate = asyncio.run(floor_rate(args.updates, args.press_share, args.messages))
    print(f"PTB floor: {rate:.0f} updates/s, one core, {args.press_share:.0%} presses, "
          f"{args.messages:.2f} messages per update")


if __name__ == "__main__":
    main()
