"""`python -m bot --config config.toml`: run civicloop with long polling."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from datetime import datetime

from telegram.error import InvalidToken

from bot.app import run
from bot.config import Config, ConfigError, load_config
from bot.context import Clock, ShiftedClock
from storage.lock import AlreadyRunning


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, validate the config, run until SIGINT or SIGTERM."""
    parser = argparse.ArgumentParser(prog="python -m bot", description=__doc__)
    parser.add_argument("--config", default="config.toml", help="path to the TOML config")
    parser.add_argument("--log-level", default="INFO")
    parser.add_argument(
        "--clock", metavar="ISO_TIME", type=_moment,
        help="pretend the clock reads this moment at start (e.g. 2026-12-31T23:59:00+08:00) "
             "and runs on from there; for demos and rehearsals, never for a real district",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # One line per HTTP call drowns everything else; Telegram errors are logged where handled.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # a line per sweep otherwise
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(f"config error: {exc}", file=sys.stderr)
        return 2
    try:
        clock = ShiftedClock(args.clock.timestamp()) if args.clock is not None else None
        asyncio.run(_serve(config, clock))
    except InvalidToken:
        print("telegram.token: Telegram rejected the bot token", file=sys.stderr)
        return 2
    except AlreadyRunning as exc:
        print(f"not started: {exc}", file=sys.stderr)
        return 3
    except Exception:
        logging.getLogger("bot").critical("civicloop stopped on an error", exc_info=True)
        return 1
    return 0


def _moment(text: str) -> datetime:
    """An ISO 8601 moment with its UTC offset (a bare local time would depend on the machine)."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 time: {text!r}") from None
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError(f"give the UTC offset too, e.g. {text}+08:00")
    return moment


async def _serve(config: Config, clock: Clock | None) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await run(config, stop, clock)


if __name__ == "__main__":
    sys.exit(main())
