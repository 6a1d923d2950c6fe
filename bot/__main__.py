"""`python -m bot --config config.toml`: run civicloop with long polling.

    python -m bot --config config.toml                  serve (until SIGINT or SIGTERM;
                                                        SIGHUP reads the teams, areas,
                                                        categories and themes again)
    python -m bot --config config.toml --standby        the same, after waiting for the
                                                        process serving the database to stop
    python -m bot --config config.toml backup FILE      copy the database to FILE, safely
                                                        while the bot runs
    python -m bot --config config.toml restore FILE     put a backup in the database's place
                                                        (the bot must be stopped; the current
                                                        database is kept beside it)
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from datetime import datetime
from pathlib import Path

from telegram.error import InvalidToken

from bot.app import run
from bot.config import TOKEN_ENV, Config, ConfigError, load_config
from bot.context import Clock, ShiftedClock
from bot.delivery.inbox import Displaced
from bot.wiring import Services
from storage import is_full
from storage.backup import BackupError, backup, check, restore
from storage.lock import AlreadyRunning, InstanceLock


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
    parser.add_argument(
        "--standby", action="store_true",
        help="if another civicloop serves this database, wait for it to stop (or die) and "
             "take over, instead of exiting 3: start the new version before stopping the old",
    )
    commands = parser.add_subparsers(dest="command", metavar="{backup,restore}")
    for name, say in (("backup", "copy the database to FILE (safe while the bot runs)"),
                      ("restore", "put the backup FILE in the database's place")):
        command = commands.add_parser(name, help=say)
        command.add_argument("file", type=Path, metavar="FILE")
        command.add_argument("--config", default=argparse.SUPPRESS,
                             help="path to the TOML config")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # One line per HTTP call drowns everything else; Telegram errors are logged where handled.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # a line per sweep otherwise
    environment = dict(os.environ)
    if args.command in ("backup", "restore"):
        # Copying the database needs no token: a cron job need not be given one.
        environment.setdefault(TOKEN_ENV, "0:not-needed-for-backups")
    try:
        config = load_config(args.config, environment)
    except ConfigError as exc:
        print(f"config error: {exc}", file=sys.stderr)
        return 2
    if args.command == "backup":
        return _backup(config, args.file)
    if args.command == "restore":
        return _restore(config, args.file)
    try:
        clock = ShiftedClock(args.clock.timestamp()) if args.clock is not None else None
        asyncio.run(_serve(config, clock, args.standby))
    except InvalidToken:
        print("telegram.token: Telegram rejected the bot token", file=sys.stderr)
        return 2
    except AlreadyRunning as exc:
        print(f"not started: {exc}", file=sys.stderr)
        return 3
    except Displaced as exc:
        print(f"stopped: {exc}", file=sys.stderr)
        return 3
    except Exception as exc:
        if is_full(exc):  # at start, before anything could wait for room: say so plainly
            print(f"stopped: the disk holding {config.database} is full; free some space and "
                  "start again (nothing was lost)", file=sys.stderr)
            return 4
        logging.getLogger("bot").critical("civicloop stopped on an error", exc_info=True)
        return 1
    return 0


def _backup(config: Config, file: Path) -> int:
    """Copy the database to `file` and say what it holds."""
    try:
        report = backup(config.database, file)
    except BackupError as exc:
        print(f"backup failed: {exc}", file=sys.stderr)
        return 1
    print(f"backup written to {report.path}: {report.requests} requests, "
          f"{report.size / 1e6:.1f} MB, integrity ok")
    return 0


def _restore(config: Config, file: Path) -> int:
    """Restore `file` in place of the database, with the bot stopped; keep the old one."""
    try:
        with InstanceLock(config.database):
            requests = check(file)
            kept = restore(file, config.database, config.timezone)
    except AlreadyRunning as exc:
        print(f"not restored: {exc}", file=sys.stderr)
        return 3
    except BackupError as exc:
        print(f"not restored: {exc}", file=sys.stderr)
        return 1
    print(f"restored {file} ({requests} requests) to {config.database}")
    if kept is not None:
        print(f"the database that was there is kept as {kept}")
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


async def _serve(config: Config, clock: Clock | None, standby: bool) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    reloads: set[asyncio.Task[None]] = set()

    def ready(services: Services) -> None:
        def on_hangup() -> None:
            # SIGHUP (systemctl reload): read the teams, areas, categories and themes again.
            task = asyncio.ensure_future(services.reloader.on_signal())
            reloads.add(task)
            task.add_done_callback(reloads.discard)

        loop.add_signal_handler(signal.SIGHUP, on_hangup)

    await run(config, stop, clock, on_ready=ready, standby=standby)


if __name__ == "__main__":
    sys.exit(main())
