"""The drills of bench/drills.py at a size the suite can wait for: the bot as a real process
against the sandbox, through a network outage, kill -9 during a backup, and kill -9 at random
moments of a replay. Each drill checks its invariants itself; a test fails on any it finds
broken (the long drills, `make drills`, run the same code at full size)."""

from __future__ import annotations

from bench.drills import Report, backup_drill, fast_limits, kills_drill, outage_drill


def held(report: Report) -> None:
    """Fail with the drill's figures and every broken invariant, unless none is broken."""
    assert not report.skipped, report.skipped
    assert report.failures == [], "\n".join([*report.figures, "", *report.failures])


async def test_a_network_outage_under_a_replay_loses_nothing_and_is_reported_once() -> None:
    """Telegram is unreachable for 3 s while 20 citizens file requests and volunteers race
    for the cards: every request stored, every call delivered (none failed), every receipt
    once, one claim per card, and one outage report to the admins."""
    report = await outage_drill(requests=20, outage_seconds=3, limits=fast_limits(),
                                at_once=10, report_after="2s")
    held(report)
    assert any("outage reports to the admins: 1" in line for line in report.figures)


async def test_kill_9_during_a_backup_leaves_last_nights_and_the_database_whole() -> None:
    """`python -m bot backup` is killed mid-copy while the bot serves citizens: last night's
    backup is unchanged and whole, the database holds every request, and the next backup,
    taken while the bot keeps writing, succeeds."""
    report = await backup_drill(seeded=40_000, requests=20, limits=fast_limits(), at_once=10,
                                kill_within=0.05)
    held(report)


async def test_three_kill_9_during_a_replay_lose_nothing_and_no_claim_is_won_twice() -> None:
    """The bot is killed three times at random moments while 30 citizens file requests and
    two volunteers press Claim on every third card at once: no request lost, no claim won
    twice or told to the loser, every call delivered; a receipt or card sent twice only in
    the moment before a kill, between Telegram's answer and the mark."""
    report = await kills_drill(requests=30, kills=3, seed=2, limits=fast_limits(), at_once=10)
    held(report)
