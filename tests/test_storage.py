"""Storage on a real SQLite file: migrations, guarded transitions, outbox, inbox, dialogs."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from pathlib import Path

import pytest

from storage import Database, Dialog, Outgoing, Repo
from storage.db import MAX_LOOSE_TRIES, handling_update, migrations
from storage.repos.outbox import GROUP_CHAT_COLUMNS

NOW = 1_780_000_000.0


def count_trips(db: Database) -> Callable[[], int]:
    """Count the trips to the database thread from now on; return the counter."""
    start = db.engine.trips
    return lambda: db.engine.trips - start


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    """A migrated database in a temporary file."""
    database = await Database.open(tmp_path / "civicloop.db")
    try:
        yield database
    finally:
        await database.close()


async def new_request(repo: Repo, citizen: int = 1) -> int:
    """Store a dispatched request for `citizen`; users 7, 8 and 100-109 are volunteers."""
    for user_id in (citizen, 2, 7, 8, *range(100, 110)):
        await repo.people.see_user(user_id, f"u{user_id}", None, "en", NOW, private=True)
    return await repo.requests.insert_request(
        ref=await repo.requests.next_ref(2026), citizen_id=citizen, language="en",
        category="elderly",
        description="tap leaks", photos=["p1"], voice_file_id=None, latitude=None,
        longitude=None, address="1 Road", phone="+86", dispatch_chat_id=-100, now=NOW,
    )


async def test_a_new_database_gets_every_migration_and_reopening_changes_nothing(
    tmp_path: Path,
) -> None:
    """The schema version equals the number of shipped migrations, and stays put."""
    path = tmp_path / "x.db"
    first = await Database.open(path)
    assert await first.schema_version() == len(migrations())
    async with first.transaction() as repo:
        await new_request(repo)
    await first.close()
    again = await Database.open(path)
    try:
        assert await again.schema_version() == len(migrations())
        async with again.reading() as repo:
            assert (await repo.figures.status_counts()) == {"dispatched": 1}
    finally:
        await again.close()


async def test_a_database_from_a_newer_program_is_refused(tmp_path: Path) -> None:
    """An older civicloop never runs on a schema it does not know."""
    path = tmp_path / "future.db"
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA user_version = 999")
    conn.close()
    with pytest.raises(RuntimeError, match="newer than this program"):
        await Database.open(path)


async def test_a_broken_foreign_key_undoes_its_whole_unit_of_work(db: Database) -> None:
    """Foreign keys are enforced: an event for a missing request fails the transaction, and
    what the transaction wrote before it is rolled back with it."""
    with pytest.raises(sqlite3.IntegrityError):
        async with db.transaction() as repo:
            await repo.people.set_language(1, "zh", NOW)
            await repo.people.see_user(77, "Wang", None, "zh", NOW, private=True)
            await repo.requests.add_event(12345, "created", None, NOW)  # no such request
    async with db.reading() as repo:
        assert await repo.people.user(77) is None


async def test_the_database_runs_in_wal_mode(db: Database) -> None:
    """WAL lets the read-only export and chart connections read while the bot writes."""
    async with db.reading() as repo:
        assert await repo.figures.journal_mode() == "wal"


async def test_every_commit_is_synced_to_disk_before_anyone_hears_of_it(db: Database) -> None:
    """synchronous=FULL: a COMMIT returns once the WAL is on disk, so an update confirmed to
    Telegram, or a claim someone was told about, survives a power cut (NORMAL would not)."""
    mode = await db.engine.run(lambda raw: raw.execute("PRAGMA synchronous").fetchone()[0])
    assert mode == 2  # FULL


async def test_a_unit_of_work_takes_one_trip_per_read_plus_one(db: Database) -> None:
    """Writes nobody reads wait for the next read or the COMMIT: the hand-offs to the database
    thread, not the statements, are what a busy bot pays for."""
    trips = count_trips(db)
    async with db.transaction() as repo:
        await repo.people.see_user(5, "Li", None, "zh", NOW, private=True)  # RETURNING: a read
        await repo.people.set_language(5, "en", NOW)
        await repo.people.save_dialog(Dialog(user_id=5, flow="order", step="describe"), NOW)
        await repo.people.mark_blocked(6, NOW)
    assert trips() == 2  # BEGIN + see_user, then the three writes + COMMIT
    async with db.reading() as repo:
        user = await repo.people.user(5)
        dialog = await repo.people.dialog(5)
    assert user is not None and user.language == "en"
    assert dialog is not None and dialog.step == "describe"
    assert trips() == 4


async def test_reference_numbers_count_up_per_year(db: Database) -> None:
    """Each year starts at 000001."""
    async with db.transaction() as repo:
        refs = [await repo.requests.next_ref(2026) for _ in range(3)]
        refs.append(await repo.requests.next_ref(2027))
    assert refs == ["2026-000001", "2026-000002", "2026-000003", "2027-000001"]


async def test_of_many_simultaneous_claims_exactly_one_wins(db: Database) -> None:
    """Ten volunteers claim the same request in the same instant."""
    async with db.transaction() as repo:
        request_id = await new_request(repo)

    async def claim(volunteer: int) -> bool:
        async with db.transaction() as repo:
            claimed = await repo.requests.claim(request_id, volunteer, f"v{volunteer}", NOW)
        # The winner gets the request as it now stands.
        assert claimed is None or (claimed.status, claimed.volunteer_id) == ("claimed", volunteer)
        return claimed is not None

    results = await asyncio.gather(*(claim(v) for v in range(100, 110)))
    assert results.count(True) == 1
    async with db.reading() as repo:
        request = await repo.requests.request(request_id)
    assert request is not None and request.status == "claimed"
    assert request.volunteer_id == 100 + results.index(True)


async def test_transitions_check_the_state_and_the_person(db: Database) -> None:
    """Only the holder may release or finish; only the citizen may confirm or cancel."""
    async with db.transaction() as repo:
        rid = await new_request(repo, citizen=1)
        assert not await repo.requests.release(rid, 7, NOW)  # nobody holds it yet
        assert await repo.requests.claim(rid, 7, "Li", NOW)
        assert not await repo.requests.complete(rid, 8, None, None, NOW)  # not the holder
        assert not await repo.requests.confirm(rid, 1, NOW)  # not done yet
        assert await repo.requests.complete(rid, 7, "fixed", None, NOW)
        assert not await repo.requests.cancel_by_citizen(rid, 1, NOW)  # work is done
        assert not await repo.requests.confirm(rid, 2, NOW)  # not the citizen
        assert await repo.requests.confirm(rid, 1, NOW)
        assert not await repo.requests.confirm(rid, 1, NOW)  # once
        assert await repo.requests.rate(rid, 1, 5, NOW)
        assert not await repo.requests.rate(rid, 1, 4, NOW)  # once
        request = await repo.requests.request(rid)
    assert request is not None
    assert (request.status, request.rating, request.closed_how) == ("closed", 5, "confirmed")


async def test_reopen_clears_the_volunteer_and_counts(db: Database) -> None:
    """A citizen's No sends the request back to dispatch, remembering it was reopened."""
    async with db.transaction() as repo:
        rid = await new_request(repo, citizen=1)
        await repo.requests.claim(rid, 7, "Li", NOW)
        await repo.requests.complete(rid, 7, None, None, NOW)
        assert await repo.requests.reopen(rid, 1, NOW)
        request = await repo.requests.request(rid)
    assert request is not None
    assert (request.status, request.volunteer_id, request.reopen_count) == ("dispatched", None, 1)


async def test_a_failed_unit_of_work_leaves_nothing_behind(db: Database) -> None:
    """An error inside a transaction rolls back its state change, event and messages."""
    async with db.transaction() as repo:
        rid = await new_request(repo)
    with pytest.raises(RuntimeError):
        async with db.transaction() as repo:
            await repo.requests.claim(rid, 7, "Li", NOW)
            await repo.requests.add_event(rid, "claimed", 7, NOW)
            await repo.outbox.enqueue(
                [Outgoing(7, "sendMessage", {"chat_id": 7, "text": "x"})], NOW)
            raise RuntimeError("boom")
    async with db.reading() as repo:
        request = await repo.requests.request(rid)
        assert request is not None and request.status == "dispatched"
        assert await repo.requests.events(rid) == []
        assert await repo.outbox.pending_outbox() == 0


async def test_the_outbox_hands_out_rows_in_order_and_remembers_results(db: Database) -> None:
    """Pending rows come oldest first; sent and failed rows leave the queue."""
    async with db.transaction() as repo:
        await repo.outbox.enqueue(
            [Outgoing(c, "sendMessage", {"chat_id": c, "text": str(c)}) for c in (5, 6, 7)], NOW
        )
        first, second, third = await repo.outbox.pending_outbox_head(NOW, 10)
        await repo.outbox.mark_sent(first.id, [11], NOW)
        await repo.outbox.mark_failed(second.id, "forbidden", NOW)
        await repo.outbox.retry_later(third.id, NOW + 60, "timeout")
        head = await repo.outbox.pending_outbox_head(NOW, 10)
    assert [row.chat_id for row in head] == [7]
    assert head[0].not_before == NOW + 60 and head[0].attempts == 1


async def test_the_inbox_stores_each_update_once_within_a_day(db: Database) -> None:
    """A repeated update_id is a repeat within 24 h, and a new update after that."""
    async with db.transaction() as repo:
        assert await repo.inbox.save_updates([(1, "{}"), (2, "{}")], NOW) == [1, 2]
        assert await repo.inbox.save_updates([(2, "{}"), (3, "{}")], NOW + 5) == [3]
        await repo.inbox.mark_processed(1, NOW)
        assert [u for u, _ in await repo.inbox.unprocessed_updates()] == [2, 3]
        assert await repo.inbox.save_updates([(1, "{}")], NOW + 90_000) == [1]


async def test_a_dialog_survives_reopening_the_database(tmp_path: Path) -> None:
    """Conversation state lives in the database, so a restart resumes it."""
    path = tmp_path / "d.db"
    db = await Database.open(path)
    async with db.transaction() as repo:
        await repo.people.save_dialog(
            Dialog(1, "intake", "location", {"description": "水管漏水"}), NOW)
    await db.close()
    db = await Database.open(path)
    try:
        async with db.reading() as repo:
            dialog = await repo.people.dialog(1)
    finally:
        await db.close()
    assert dialog == Dialog(1, "intake", "location", {"description": "水管漏水"})


async def test_a_group_that_became_a_supergroup_keeps_its_binding_and_queue(
    db: Database,
) -> None:
    """A group's move to its supergroup id (from the upgrade's service messages, or a call
    refused as ChatMigrated) moves bindings (a category's, a team's, a unit's), pending
    messages and jobs to the new id, and is noted once: a second time changes nothing."""
    async with db.transaction() as repo:
        await repo.areas.bind("elderly", "", -5, "Elderly volunteers", 1, NOW)
        await repo.outbox.enqueue([Outgoing(-5, "sendMessage", {"chat_id": -5, "text": "x"})], NOW)
        await repo.activities.bind_team("red-vest", -5, "Red vests", 1, NOW)
        await repo.supervision.bind_unit("office", -5, "Office", 1, NOW)
        await repo.timers.add_job("export", -5, 1, "en", {}, NOW)
        assert await repo.outbox.move_chat(-5, -1005, NOW) is True
        assert await repo.outbox.move_chat(-5, -1005, NOW) is False
        assert await repo.outbox.chat_moves() == {-5: -1005}
        assert await repo.areas.bindings() == {("elderly", ""): -1005}
        assert await repo.activities.team_group("red-vest") == -1005
        assert await repo.supervision.unit_chat("office") == -1005
        (row,) = await repo.outbox.pending_outbox_head(NOW, 5)
        (job,) = await repo.timers.pending_jobs()
    assert row.chat_id == -1005 and row.payload["chat_id"] == -1005
    assert job.chat_id == -1005


async def test_a_card_moves_to_the_supergroup_not_there_yet(db: Database) -> None:
    """Cards of a group that became a supergroup move to its id marked left behind: the
    message that showed them stayed in the old group. A card being posted when the move came
    (its call went to the old id) is left behind too once its message is recorded; one posted
    to the new id, or posted anew, is there."""
    async with db.transaction() as repo:
        request_id = await new_request(repo)
        shown = await repo.cards.add_card(request_id, -5, "text", "dispatch", NOW)
        await repo.cards.record_card_message(shown, 7, "text", sent_to=-5)
        on_its_way = await repo.cards.add_card(request_id, -5, "text", "dispatch", NOW)
        queued = await repo.cards.add_card(request_id, -5, "text", "dispatch", NOW)
        await repo.outbox.move_chat(-5, -1005, NOW)
        await repo.cards.record_card_message(on_its_way, 8, "text", sent_to=-5)
        await repo.cards.record_card_message(queued, 2, "text", sent_to=-1005)
        cards = {card.id: card for card in await repo.cards.active_cards(request_id)}
        assert [(c.chat_id, c.message_id, c.left_behind) for c in cards.values()] == [
            (-1005, 7, True), (-1005, 8, True), (-1005, 2, False)]
        await repo.cards.detach_cards([shown])
        await repo.cards.record_card_message(shown, 3, "text", sent_to=-1005)
        assert (await repo.cards.card(shown)) == replace(cards[shown], message_id=3,
                                                         left_behind=False)


async def test_migration_024_leaves_behind_only_cards_whose_message_stayed_in_the_old_group(
    tmp_path: Path,
) -> None:
    """A database of 023 where a group became a supergroup (-5 → -1005). Of the cards created
    before the move: one whose message went to the old group, one whose message the old
    program posted anew in the supergroup after the move (its edit found nothing there), and
    one whose calls retention has taken. Migration 024 marks the first and the last left
    behind; the one posted anew is there (marked, its next change would post it a second
    time, the first new card left standing with live buttons). Likewise an activity's card
    and a problem's card posted anew."""
    path = tmp_path / "old.db"
    moved_at = NOW + 100
    with sqlite3.connect(path) as conn:
        for version, _, sql in migrations():
            if version < 24:
                conn.executescript(sql)
        conn.execute("PRAGMA user_version = 23")
        conn.execute("INSERT INTO chat_moves VALUES (-5, -1005, ?)", (moved_at,))
        for card_id, message_id in ((1, 7), (2, 3), (3, 9)):
            conn.execute(
                "INSERT INTO cards (id, request_id, chat_id, message_id, kind, role, retired, "
                "created_at) VALUES (?, 1, -1005, ?, 'text', 'dispatch', 0, ?)",
                (card_id, message_id, NOW))
        conn.execute("INSERT INTO activity_posts (id, activity_id, chat_id, message_id, kind, "
                     "created_at) VALUES (1, 1, -1005, 4, 'text', ?)", (NOW,))
        conn.execute("INSERT INTO problem_posts (id, problem_id, chat_id, message_id, role, "
                     "created_at) VALUES (1, 1, -1005, 5, 'unit', ?)", (NOW,))
        sent = ("INSERT INTO outbox (chat_id, method, payload, purpose, status, not_before, "
                "created_at, sent_at, message_ids, card_id, post_id, problem_post_id) "
                "VALUES (?, 'sendMessage', '{}', ?, 'sent', 0, ?, ?, ?, ?, ?, ?)")
        conn.execute(sent, (-5, "card", NOW, NOW + 1, "[7]", 1, None, None))
        conn.execute(sent, (-5, "card", NOW, NOW + 1, "[8]", 2, None, None))
        conn.execute(sent, (-1005, "card", moved_at, moved_at + 1, "[3]", 2, None, None))
        conn.execute(sent, (-1005, "post", moved_at, moved_at + 1, "[4]", None, 1, None))
        conn.execute(sent, (-1005, "problem_post", moved_at, moved_at + 1, "[5]", None, None,
                            1))
    conn.close()
    db = await Database.open(path)
    try:
        async with db.reading() as repo:
            cards = await repo._all("SELECT id, left_behind FROM cards ORDER BY id")
            posts = await repo._all("SELECT left_behind FROM activity_posts")
            problems = await repo._all("SELECT left_behind FROM problem_posts")
    finally:
        await db.close()
    assert [tuple(row) for row in cards] == [(1, 1), (2, 0), (3, 1)]
    assert [row[0] for row in posts] == [0]
    assert [row[0] for row in problems] == [0]


async def test_migration_028_records_the_topic_of_each_card_posted_before(
    tmp_path: Path,
) -> None:
    """A database of 027 with a forum (-100) whose elderly help is bound in topic 5, whose
    team t1 is in topic 6 and whose unit u1 is in topic 7. Its cards sent before keep no
    payload: each takes its binding's topic (a request's, at the level that sent it there);
    a card still queued takes the topic its call names (General, here, for card 2); a card in
    a private chat, or of a team that is not the chat's, has none."""
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as conn:
        for version, _, sql in migrations():
            if version < 28:
                conn.executescript(sql)
        conn.execute("PRAGMA user_version = 27")
        conn.execute("INSERT INTO area_bindings (category, area_id, chat_id, bound_at, "
                     "topic_id) VALUES ('elderly', '', -100, ?, 5)", (NOW,))
        conn.execute("INSERT INTO team_groups (team_id, chat_id, bound_by, bound_at, topic_id) "
                     "VALUES ('t1', -100, 1, ?, 6)", (NOW,))
        conn.execute("INSERT INTO unit_chats (unit_id, chat_id, bound_by, bound_at, topic_id) "
                     "VALUES ('u1', -100, 1, ?, 7)", (NOW,))
        for request_id in (1, 2):
            conn.execute("INSERT INTO requests (id, ref, citizen_id, language, category, status, "
                         "created_at, updated_at) VALUES (?, ?, 1, 'en', 'elderly', "
                         "'dispatched', ?, ?)", (request_id, f"R{request_id}", NOW, NOW))
        for card_id, chat_id, message_id in ((1, -100, 3), (2, -100, None), (3, 1, 4)):
            conn.execute(
                "INSERT INTO cards (id, request_id, chat_id, message_id, kind, role, retired, "
                "created_at) VALUES (?, ?, ?, ?, 'text', 'dispatch', 0, ?)",
                (card_id, min(card_id, 2), chat_id, message_id, NOW))
        conn.execute("INSERT INTO outbox (chat_id, method, payload, purpose, status, "
                     "not_before, created_at, card_id) VALUES (-100, 'sendMessage', "
                     "'{\"text\": \"card\"}', 'card', 'pending', 0, ?, 2)", (NOW,))
        for activity_id, team in ((1, "t1"), (2, "t2")):
            conn.execute("INSERT INTO activities (id, draft, organiser_id, team_id, title, "
                         "place, starts_at, ends_at, capacity, leader_id, description, "
                         "language, created_at, updated_at) VALUES (?, ?, 1, ?, 'Tea', 'Hall', "
                         "?, ?, 5, 1, '', 'en', ?, ?)",
                         (activity_id, f"d{activity_id}", team, NOW, NOW + 1, NOW, NOW))
        for post_id, activity_id in ((1, 1), (2, 2)):
            conn.execute("INSERT INTO activity_posts (id, activity_id, chat_id, message_id, "
                         "kind, created_at) VALUES (?, ?, -100, 5, 'text', ?)",
                         (post_id, activity_id, NOW))
        conn.execute("INSERT INTO problems (id, ref, visit_id, point_id, unit_id, type, "
                     "severity, note, before_photos, reported_by, reported_at, receive_due) "
                     "VALUES (1, 'D1', 1, 'p1', 'u1', 'x', 'normal', '', '[]', 1, ?, ?)",
                     (NOW, NOW))
        conn.execute("INSERT INTO problem_posts (id, problem_id, chat_id, message_id, role, "
                     "created_at) VALUES (1, 1, -100, 6, 'unit', ?)", (NOW,))
    conn.close()
    db = await Database.open(path)
    try:
        async with db.reading() as repo:
            cards = [(await repo.cards.card(card_id)) for card_id in (1, 2, 3)]
            posts = [await repo.activities.post(post_id) for post_id in (1, 2)]
            problem = await repo.supervision.post(1)
    finally:
        await db.close()
    assert [card.thread_id if card else "?" for card in cards] == [5, None, None]
    assert [post.thread_id if post else "?" for post in posts] == [6, None]
    assert problem is not None and problem.thread_id == 7


async def test_every_column_that_holds_a_chat_id_moves_with_a_supergroup(db: Database) -> None:
    """A column added later that holds a chat id (a group's, maybe) is moved when the group
    becomes a supergroup, or named here as one that never holds a group's."""
    private_only: set[tuple[str, str]] = set()
    moves = {("chat_moves", "old_chat_id"), ("chat_moves", "new_chat_id")}
    async with db.reading() as repo:
        tables = [row[0] for row in await repo._all(
            "SELECT name FROM sqlite_master WHERE type = 'table'")]
        columns = {(table, row[1]) for table in tables
                   for row in await repo._all(f"PRAGMA table_info({table})")
                   if "chat" in row[1] and row[1].endswith("_id")}
    covered = {(table, column) for table, column, _ in GROUP_CHAT_COLUMNS}
    assert columns - moves - private_only == covered


async def test_a_state_change_and_its_update_being_handled_commit_together(
    db: Database,
) -> None:
    """A crash after a handler's commit cannot replay its update: both commit in one go."""
    async with db.transaction() as repo:
        await repo.inbox.save_updates([(41, "{}"), (42, "{}")], NOW)
    with handling_update(41):
        async with db.transaction() as repo:
            await repo.people.see_user(5, "Eve", None, "en", NOW, private=True)
    with handling_update(42), pytest.raises(RuntimeError):
        async with db.transaction() as repo:
            await repo.people.see_user(6, "Mallory", None, "en", NOW, private=True)
            raise RuntimeError("crash before commit")
    async with db.reading() as repo:
        assert [u for u, _ in await repo.inbox.unprocessed_updates()] == [42]
        assert await repo.people.user(6) is None


async def test_each_chat_offers_only_its_oldest_call_and_quiet_messages_stand_aside(
    db: Database,
) -> None:
    """Order holds per chat; a message held for quiet hours does not hold up the chat."""
    def note(chat: int, text: str, **extra: object) -> Outgoing:
        return Outgoing(chat, "sendMessage", {"chat_id": chat, "text": text}, **extra)  # type: ignore[arg-type]

    async with db.transaction() as repo:
        await repo.outbox.enqueue([
            note(5, "a"), note(5, "b"), note(6, "night", purpose="quiet", not_before=NOW + 3600),
            note(6, "reply"), note(7, "c"),
        ], NOW)
        head = await repo.outbox.pending_outbox_head(NOW, 10)
        morning = await repo.outbox.pending_outbox_head(NOW + 3600, 10)
    assert [row.payload["text"] for row in head] == ["a", "reply", "c"]
    assert [row.payload["text"] for row in morning] == ["a", "night", "c"]
    assert [row.queued for row in head] == [2, 1, 1]  # chat 5 has "b" waiting behind "a"
    assert [row.queued for row in morning] == [2, 2, 1]


async def test_an_update_stored_loose_rides_with_the_handlers_transaction(
    db: Database,
) -> None:
    """The poller's inbox row goes inside the handler's transaction (one commit for both):
    a handler that then fails gives it back, and the next trip stores it on its own."""
    async with db.later() as repo:
        await repo.inbox.store_update(7, '{"update_id": 7}', NOW)
    trips = count_trips(db)
    with pytest.raises(sqlite3.IntegrityError):
        async with db.transaction() as repo:
            await repo.people.see_user(
                5, "Li", None, "zh", NOW, private=True)  # carries the update
            await repo.requests.add_event(
                12345, "created", None, NOW)  # no such request: rolled back
    assert trips() == 3  # see_user with the update, the failed COMMIT trip, the ROLLBACK
    async with db.reading() as repo:
        assert await repo.inbox.unprocessed_updates() == [(7, '{"update_id": 7}')]  # carried it
        assert await repo.people.user(5) is None
    assert trips() == 5
    await db.flush_loose()  # nothing left to carry: no trip
    assert trips() == 5


async def test_loose_writes_carried_together_make_one_commit(db: Database) -> None:
    """Marks and inbox rows that wait together go in one transaction of their own."""
    async with db.later() as repo:
        for update_id in (7, 8, 9):
            await repo.inbox.store_update(update_id, f'{{"update_id": {update_id}}}', NOW)
    commits: list[str] = []
    await db.engine.run(lambda raw: raw.set_trace_callback(
        lambda sql: commits.append(sql) if sql.strip() in ("BEGIN IMMEDIATE", "COMMIT") else None))
    try:
        await db.flush_loose()
    finally:
        await db.engine.run(lambda raw: raw.set_trace_callback(None))
    assert commits == ["BEGIN IMMEDIATE", "COMMIT"]
    async with db.reading() as repo:
        assert [u for u, _ in await repo.inbox.unprocessed_updates()] == [7, 8, 9]


async def test_loose_writes_wait_again_when_the_unit_that_carried_them_gives_up(
    db: Database,
) -> None:
    """A unit of work that fails before its first trip hands the loose writes back, and
    flush_loose() still stores them before the poller confirms the update to Telegram."""
    async with db.later() as repo:
        await repo.inbox.store_update(8, "{}", NOW)
    with pytest.raises(RuntimeError):
        async with db.transaction():
            raise RuntimeError("the handler broke before touching the database")
    await db.flush_loose()
    async with db.reading() as repo:
        assert [u for u, _ in await repo.inbox.unprocessed_updates()] == [8]


async def test_loose_writes_outlive_any_number_of_units_that_fail_on_their_own(
    db: Database,
) -> None:
    """A unit's own failure (its statement, or its code before any trip) rolls back the
    loose writes it carried, or never ran them: they wait again, with no try counted."""
    async with db.later() as repo:
        await repo.inbox.store_update(42, '{"update_id": 42}', NOW)
    for _ in range(MAX_LOOSE_TRIES + 2):
        with pytest.raises(sqlite3.OperationalError):
            async with db.transaction() as repo:
                await repo._one("SELECT * FROM no_such_table")
        with pytest.raises(RuntimeError):
            async with db.transaction():
                raise RuntimeError("the handler broke before touching the database")
    await db.flush_loose()
    async with db.reading() as repo:
        assert [u for u, _ in await repo.inbox.unprocessed_updates()] == [42]


async def test_a_dialog_read_along_with_the_user_follows_the_units_own_changes(
    db: Database,
) -> None:
    """see_user brings the dialog along; a save or end in the same unit is what a later
    read sees, exactly as if it had gone to the database."""
    async with db.transaction() as repo:
        await repo.people.save_dialog(Dialog(5, "intake", "category"), NOW)
    async with db.transaction() as repo:
        await repo.people.see_user(5, "Li", None, "zh", NOW, private=True)
        trips = count_trips(db)
        dialog = await repo.people.dialog(5)
        assert dialog == Dialog(5, "intake", "category") and trips() == 0
        await repo.people.save_dialog(Dialog(5, "intake", "location"), NOW)
        assert await repo.people.dialog(5) == Dialog(5, "intake", "location")
        await repo.people.end_dialog(5)
        assert await repo.people.dialog(5) is None


async def test_a_user_seen_again_costs_no_trip_of_their_own(db: Database) -> None:
    """Once a unit has committed what it saw of a user and their conversation, the next
    unit knows both: a form step is one trip, the COMMIT carrying everything it wrote."""
    async with db.transaction() as repo:
        await repo.people.see_user(5, "Li", None, "zh", NOW, private=True)
        await repo.people.save_dialog(Dialog(5, "intake", "category"), NOW)
    trips = count_trips(db)
    async with db.transaction() as repo:
        user = await repo.people.see_user(5, "Li", None, "zh", NOW + 60, private=True)
        dialog = await repo.people.dialog(5)
        assert dialog is not None and dialog.step == "category"
        dialog.data["category"] = "elderly"  # a form changes what it read, then saves it
        await repo.people.save_dialog(replace(dialog, step="description"), NOW + 60)
    assert trips() == 1 and user.started and user.language == "zh"
    async with db.reading() as repo:
        stored = await repo._one("SELECT updated_at FROM users WHERE user_id = 5")
    assert stored[0] == NOW + 60  # the time still goes in, held for the COMMIT
    async with db.transaction() as repo:
        await repo.people.see_user(5, "Li", None, "zh", NOW + 120, private=True)
        assert await repo.people.dialog(5) == Dialog(5, "intake", "description",
                                                     {"category": "elderly"})


async def test_what_a_rolled_back_unit_saw_of_a_user_is_not_kept(db: Database) -> None:
    """A user first seen by a unit that then failed does not exist: the next unit must
    insert them, not take them as known."""
    with pytest.raises(sqlite3.IntegrityError):
        async with db.transaction() as repo:
            await repo.people.see_user(6, "Wang", None, "zh", NOW, private=True)
            await repo.people.save_dialog(Dialog(6, "intake", "category"), NOW)
            await repo.requests.add_event(12345, "created", None, NOW)  # no such request
    async with db.transaction() as repo:
        await repo.people.see_user(6, "Wang", None, "zh", NOW, private=True)
        assert await repo.people.dialog(6) is None
    async with db.reading() as repo:
        assert await repo.people.user(6) is not None


async def test_a_renamed_or_blocked_user_goes_to_the_database_again(db: Database) -> None:
    """A new name is stored; a user the bot marked blocked is unblocked when they write."""
    async with db.transaction() as repo:
        await repo.people.see_user(5, "Li", None, "zh", NOW, private=True)
    async with db.transaction() as repo:
        renamed = await repo.people.see_user(5, "Li Na", "lina", "zh", NOW, private=True)
    async with db.transaction() as repo:
        await repo.people.mark_blocked(5, NOW)
    async with db.transaction() as repo:
        again = await repo.people.see_user(5, "Li Na", "lina", "zh", NOW, private=True)
    async with db.reading() as repo:
        stored = await repo.people.user(5)
    assert renamed.first_name == "Li Na" and renamed.username == "lina"
    assert not again.blocked and stored is not None and not stored.blocked


async def test_a_mark_asked_within_a_time_is_committed_by_then_without_other_trips(
    db: Database,
) -> None:
    """The sender's marks wait for someone's trip, but no longer than they asked."""
    async with db.transaction() as repo:
        await repo.outbox.enqueue([Outgoing(5, "sendMessage", {"chat_id": 5, "text": "hi"})], NOW)
    async with db.reading() as repo:
        [row] = await repo.outbox.pending_outbox_head(NOW, 10)
    flushed = asyncio.Event()
    real_flush = db.flush_loose

    async def flush_and_tell() -> None:
        await real_flush()
        flushed.set()

    db.flush_loose = flush_and_tell  # type: ignore[method-assign]
    async with db.later(within=0.05) as repo:
        await repo.outbox.mark_sent(row.id, [77], NOW)
    assert db._loose  # nobody else makes a trip meanwhile
    await asyncio.wait_for(flushed.wait(), timeout=5)
    assert not db._loose  # its own trip took it
    async with db.reading() as repo:
        assert await repo.outbox.pending_outbox_head(NOW, 10) == []


async def test_a_unit_cancelled_during_its_trip_leaves_no_transaction_open(
    tmp_path: Path,
) -> None:
    """A trip cancelled while queued still runs on the database thread (BEGIN included);
    the unit rolls back there, so writes made after it are not swept into its transaction."""
    path = tmp_path / "cancel.db"
    db = await Database.open(path)
    begun = asyncio.Event()

    async def unit() -> None:
        async with db.transaction() as repo:
            begun.set()
            await repo.people.see_user(5, "Li", None, "zh", NOW, private=True)
            await asyncio.Event().wait()  # never reached: cancelled during the trip above

    task = asyncio.create_task(unit())
    await begun.wait()
    await asyncio.sleep(0)  # the unit now waits for its trip
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    async with db.later() as repo:
        await repo.inbox.store_update(42, "{}", NOW)
    await db.flush_loose()
    await db.close()
    db = await Database.open(path)
    try:
        async with db.reading() as repo:
            assert [u for u, _ in await repo.inbox.unprocessed_updates()] == [42]
            assert await repo.people.user(5) is None
    finally:
        await db.close()


async def test_a_loose_write_that_keeps_failing_is_dropped_not_carried_forever(
    db: Database, caplog: pytest.LogCaptureFixture,
) -> None:
    """Each unit that carries a broken loose write fails with it; after a few tries it is
    dropped (and logged), so the bot does not stop for good."""
    async with db.later() as repo:
        repo._write("UPDATE no_such_table SET x = 1")
    failures = 0
    for _ in range(10):
        try:
            async with db.reading() as repo:
                await repo.people.user(5)
            break
        except sqlite3.OperationalError:
            failures += 1
    assert failures == 5
    assert "dropping a write that failed 5 times" in caplog.text


async def test_a_new_database_and_its_wal_are_readable_by_their_owner_only(
    tmp_path: Path,
) -> None:
    import os
    import stat

    db = await Database.open(tmp_path / "fresh.db")
    try:
        async with db.transaction() as repo:
            await repo.people.see_user(5, "Li", None, "zh", NOW, private=True)
        for name in ("fresh.db", "fresh.db-wal", "fresh.db-shm"):
            mode = stat.S_IMODE(os.stat(tmp_path / name).st_mode)
            assert mode == 0o600, (name, oct(mode))
    finally:
        await db.close()


async def test_an_inline_unit_hands_only_its_commit_to_the_database_thread(db: Database) -> None:
    """An update's unit (transaction(inline=True)) reads on the event loop's thread while
    the database thread is idle; its COMMIT, which syncs to disk, still goes to the thread,
    and what it wrote is committed and seen by the next unit."""
    async with db.transaction() as repo:
        request_id = await new_request(repo)
    trips, inline = count_trips(db), db.engine.inline
    threads: list[str] = []
    async with db.transaction(inline=True) as repo:
        assert (await repo.requests.request(request_id)) is not None  # BEGIN and a read
        await db.engine.run(lambda raw: threads.append(threading.current_thread().name),
                            inline=True)
        await repo.requests.request(request_id)
    assert db.engine.inline - inline == 3
    assert threads == [threading.current_thread().name]  # the event loop's own
    assert trips() == 1  # the COMMIT
    async with db.reading() as repo:
        assert (await repo.requests.request(request_id)) is not None


async def test_inline_work_waits_its_turn_while_the_database_thread_is_busy(
    db: Database,
) -> None:
    """While a trip is on the thread, work asked to run inline queues behind it, in order."""
    began, release = threading.Event(), threading.Event()
    order: list[str] = []

    def slow(raw: sqlite3.Connection) -> None:
        began.set()
        release.wait(5)
        order.append("slow")

    queued = asyncio.ensure_future(db.engine.run(slow))
    await asyncio.get_running_loop().run_in_executor(None, began.wait, 5)
    inline = db.engine.inline
    after = asyncio.ensure_future(db.engine.run(
        lambda raw: order.append(threading.current_thread().name), inline=True))
    await asyncio.sleep(0.05)
    assert order == []  # not run beside the thread's work
    release.set()
    await asyncio.gather(queued, after)
    assert order == ["slow", "civicloop-db"]
    assert db.engine.inline == inline


async def test_a_long_read_marked_on_thread_never_runs_on_the_event_loop(tmp_path: Path) -> None:
    """An update's unit reads on the event loop's thread while the database thread is idle;
    a read its service marks as long (a year's statistics) goes to the thread all the same."""
    db = await Database.open(tmp_path / "on-thread.db")
    try:
        async with db.transaction(inline=True) as repo:
            before = db.engine.inline
            await repo.people.user(1)
            assert db.engine.inline == before + 1
            trips = db.engine.trips
            with repo.on_thread():
                await repo.people.user(2)
            assert db.engine.inline == before + 1 and db.engine.trips == trips + 1
            await repo.people.user(3)
            assert db.engine.inline == before + 2
    finally:
        await db.close()
