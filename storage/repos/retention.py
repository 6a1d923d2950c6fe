"""What the database lets go of, and when: transport rows, settled timers, and the contact
details and masked chats of requests long closed (the requests themselves, and their
statistics, stay)."""

from __future__ import annotations

from dataclasses import dataclass

from storage.models import CANCELLED, CLOSED
from storage.repos.base import Aggregate


@dataclass(frozen=True)
class Pruned:
    """How many rows one pass removed or scrubbed."""

    outbox: int
    timers: int
    contacts: int
    messages: int = 0  # messages of masked chats (migration 022)


class RetentionRepo(Aggregate):
    """What the database lets go of, and when."""

    async def prune(self, *, outbox_before: float, timers_before: float,
                    contacts_before: float | None) -> Pruned:
        """Delete sent or failed calls and settled timers older than their limits, and
        remove the phone, address and exact point (and a neighbour's name and address) of
        requests closed or cancelled before `contacts_before` (None: keep them), and the
        messages of their masked chats, on the same clock (what was said there is as personal
        as the phone). Handled updates go by InboxRepo.prune_inbox."""
        outbox = await self._rowcount(
            "DELETE FROM outbox WHERE status IN ('sent', 'failed') AND created_at < ?",
            (outbox_before,))
        timers = await self._rowcount(
            "DELETE FROM timers WHERE outcome IS NOT NULL AND due_at < ?", (timers_before,))
        contacts = messages = 0
        if contacts_before is not None:
            messages = await self._rowcount(
                """
                DELETE FROM thread_messages WHERE thread_id IN (
                    SELECT t.id FROM threads t JOIN requests r ON r.id = t.request_id
                    WHERE r.status IN (?, ?)
                      AND COALESCE(r.closed_at, r.cancelled_at, r.updated_at) < ?)
                """,
                (CLOSED, CANCELLED, contacts_before))
            contacts = await self._rowcount(
                """
                UPDATE requests SET phone = NULL, address = NULL, latitude = NULL,
                                    longitude = NULL, cell = NULL, for_name = NULL,
                                    for_address = NULL, helper_phone = NULL
                WHERE status IN (?, ?) AND COALESCE(closed_at, cancelled_at, updated_at) < ?
                  AND (phone IS NOT NULL OR address IS NOT NULL OR latitude IS NOT NULL
                       OR for_name IS NOT NULL OR for_address IS NOT NULL
                       OR helper_phone IS NOT NULL)
                """,
                (CLOSED, CANCELLED, contacts_before))
        return Pruned(outbox, timers, contacts, messages)

    async def vacuum(self, pages: int) -> None:
        """Give up to `pages` free pages back to the file system (outside a transaction)."""
        # executescript steps the pragma to the end; execute() frees one page per step taken.
        script = f"PRAGMA incremental_vacuum({int(pages)});"
        await self._trip(lambda raw: raw.executescript(script))
