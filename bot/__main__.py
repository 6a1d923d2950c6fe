"""`python -m bot --config config.toml`: run civicloop with long polling."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys

from telegram.error import InvalidToken

from bot.app import run
from bot.config import ConfigError, load_config


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, validate the config, run until SIGINT or SIGTERM."""
    parser = argparse.ArgumentParser(prog="python -m bot", description=__doc__)
    parser.add_argument("--config", default="config.toml", help="path to the TOML config")
    parser.add_argument("--log-level", default="INFO")
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
        asyncio.run(_serve(config))
    except InvalidToken:
        print("telegram.token: Telegram rejected the bot token", file=sys.stderr)
        return 2
    except Exception:
        logging.getLogger("bot").critical("civicloop stopped on an error", exc_info=True)
        return 1
    return 0


async def _serve(config: object) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await run(config, stop)  # type: ignore[arg-type]


if __name__ == "__main__":
    sys.exit(main())
