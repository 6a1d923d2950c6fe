"""What the logs may never hold: the bot token (and the webhook's secret).

The token is in the path of every Bot API request, so any library that logs a URL or puts one
in an exception (aiohttp's InvalidURL, a proxy's error page) would write it to the log. A
filter on every handler of the root logger replaces it, in the message, its arguments and a
traceback's text, before anything is written.

Imports: the standard library only.
"""

from __future__ import annotations

import logging

REDACTED = "<token>"


class RedactSecrets(logging.Filter):
    """Replace secrets (the token, and its secret half alone) in every record."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        parts = {s for secret in secrets if secret for s in (secret, secret.split(":", 1)[-1])}
        # Longest first, so the whole token goes before its half could leave the bot id.
        self.secrets = sorted((p for p in parts if len(p) >= 8), key=len, reverse=True)

    def _clean(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = self._clean(message)
        if cleaned != message:
            record.msg, record.args = cleaned, ()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self._clean(record.exc_text)
        if record.stack_info:
            record.stack_info = self._clean(record.stack_info)
        return True


def redact_token(token: str, *others: str) -> RedactSecrets:
    """Put a filter hiding `token` (and other secrets: the webhook's) on every handler of the
    root logger (once per handler)."""
    redactor = RedactSecrets([token, *others])
    for handler in logging.getLogger().handlers:
        handler.filters = [f for f in handler.filters if not isinstance(f, RedactSecrets)]
        handler.addFilter(redactor)
    return redactor
