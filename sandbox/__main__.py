"""Run the sandbox standalone: python -m sandbox --port 8081 --token 123:ABC."""

from __future__ import annotations

import argparse
import asyncio
import contextlib

from .limits import Limits
from .server import Sandbox


async def serve(host: str, port: int, token: str, username: str, no_limits: bool) -> None:
    """Start the server, print where it listens and run until interrupted."""
    sandbox = Sandbox(token=token, bot_username=username,
                      limits=Limits.off() if no_limits else Limits())
    await sandbox.start(host=host, port=port)
    print(f"sandbox listening: base_url={sandbox.base_url} "
          f"base_file_url={sandbox.base_file_url} token={token}", flush=True)
    sandbox.on_event(lambda kind, chat, msg, detail: print(
        f"[{kind}] {chat.label}: {detail[:200]}", flush=True))
    try:
        await asyncio.Event().wait()
    finally:
        await sandbox.stop()


def main() -> None:
    """Parse arguments and serve."""
    parser = argparse.ArgumentParser(description="A local fake Telegram Bot API server.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--token", default="123456:TEST-token")
    parser.add_argument("--username", default="civicloop_test_bot")
    parser.add_argument("--no-limits", action="store_true", help="disable flood limits")
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args.host, args.port, args.token, args.username, args.no_limits))


if __name__ == "__main__":
    main()
