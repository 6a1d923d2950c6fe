"""Kill -9 at the worst moments: the bot as a real process, killed right after Bot API calls
Telegram carried out (before the bot reads the answer), started again at once, while people
go through a whole loop. At the end every invariant of tests/crashes.py must hold: the
request closed and rated once, each notification delivered at least once (again only after
a kill), nothing left in the outbox or the inbox, no traceback, no card left claimable.

Two patterns cover every fourth call of the request loop between them, one every fifth of
the activity loop and one every sixth of the supervision loop; the sweep over every call is
`python -m tests.crashes --story requests` (or `activities`, `supervision`; minutes)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.crashes import (
    Verdict,
    activity_loop,
    every,
    request_loop,
    run_story,
    supervision_loop,
)


def held(verdict: Verdict) -> None:
    """Fail with the figures and every broken invariant, unless none is broken."""
    assert verdict.broken == [], "\n".join([*verdict.figures, "", *verdict.broken])


@pytest.mark.parametrize("first", [1, 3])
async def test_the_request_loop_survives_a_kill_after_every_eighth_call(
    tmp_path: Path, first: int,
) -> None:
    """Alice files, Li claims and finishes, Alice confirms and rates, while the bot is
    killed after every eighth call (from the first, or from the third)."""
    verdict = await run_story(request_loop, every(8, first), tmp_path)
    held(verdict)
    assert any("kills after calls [(" in line for line in verdict.figures), verdict.figures


async def test_the_request_loop_survives_a_kill_while_the_bot_starts(tmp_path: Path) -> None:
    """Killed half way through setting its command menus, the bot starts again and the
    whole loop goes as if nothing happened."""
    verdict = await run_story(request_loop, set(), tmp_path, kill_at_start=4)
    held(verdict)
    assert any("kills after calls [(0, 'setMyCommands'" in line for line in verdict.figures)


async def test_the_supervision_loop_survives_a_kill_after_every_sixth_call(
    tmp_path: Path,
) -> None:
    """The admin makes Li an inspector and binds the office's chat; Li reports a problem
    with a photo; Zhang receives and rectifies it with a photo; Li passes the re-check; the
    bot killed after every sixth call. The history is each step once, the visit counts one
    problem, and every copy of the unit's card ends showing the pass, with no buttons."""
    verdict = await run_story(supervision_loop, every(6, 2), tmp_path)
    held(verdict)


async def test_the_activity_loop_survives_a_kill_after_every_fifth_call(tmp_path: Path) -> None:
    """Li publishes "Tree planting", Zhang signs up; on the day (the bot started again at
    08:50) Zhang checks in at the place; after the end (again at 11:40) Li confirms the
    hours; the bot killed after every fifth call besides. One sign-up, 2.5 h credited once,
    and no card left offering Sign up."""
    verdict = await run_story(activity_loop, every(5, 1), tmp_path)
    held(verdict)
