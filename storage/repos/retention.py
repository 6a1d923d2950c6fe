"""What the database lets go of, and when: transport rows, settled timers, and the contact
details of requests long closed (the requests themselves, and their statistics, stay)."""

from __future__ import annotations

from dataclasses import dataclass

from storage.models import CANCELLED, CLOSED
from storage.repos.base import Aggregate


@dataclass(frozen=True)
class Pruned:
    """How many rows one pass removed or scrubbed."""

    inbox: int
    outbox: int
    timers: int
    contacts: int


class RetentionRepo(Aggregate):
    """What the database lets go of, and when."""

    async def prune(self, *, inbox_before: float, outbox_before: float, timers_before: float,
                    contacts_before: float | None) -> Pruned:
        """Delete handled updates, sent or failed calls and settled timers older than their
        limits, and remove the phone, address and exact point of requests closed or
        cancelled before `contacts_before` (None: keep them)."""
        inbox = await self._rowcount(
            "DELETE FROM inbox WHERE processed_at IS NOT NULL AND received_at < ?",
            (inbox_before,))
        outbox = await self._rowcount(
            "DELETE FROM outbox WHERE status IN ('sent', 'failed') AND created_at < ?",
            (outbox_before,))
        timers = await self._rowcount(
            "DELETE FROM timers WHERE outcome IS NOT NULL AND due_at < ?", (timers_before,))
        contacts = 0
        if contacts_before is not None:
            contacts = await self._rowcount(
                """
                UPDATE requests SET phone = NULL, address = NULL, latitude = NULL,
                                    longitude = NULL
                WHERE status IN (?, ?) AND COALESCE(closed_at, cancelled_at, updated_at) < ?
                  AND (phone IS NOT NULL OR address IS NOT NULL OR latitude IS NOT NULL)
                """,
                (CLOSED, CANCELLED, contacts_before))
        return Pruned(inbox, outbox, timers, contacts)

    async def scrub_failed_calls(self) -> int:
        """Empty the payload of calls given up on (it may hold a phone number); the chat, the
        method and the reason stay."""
        return await self._rowcount(
            "UPDATE outbox SET payload = '{}' WHERE status = 'failed' AND payload != '{}'", ())

    async def vacuum(self, pages: int) -> None:
        """Give up to `pages` free pages back to the file system (outside a transaction)."""
        # executescript steps the pragma to the end; execute() frees one page per step taken.
        script = f"PRAGMA incremental_vacuum({int(pages)});"
        await self._trip(lambda raw: raw.executescript(script))
