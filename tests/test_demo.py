"""`make demo` keeps working at any hour: the real bot process plays the whole loop against the
sandbox, on the demo's clock rather than the machine's."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# Each story runs the whole demo, about two minutes of the sandbox's message-a-second limit
# per private chat: the suite's 120 s per test would cut a run on a busy machine short
# (2 min 2 s alone at 23:30 with three loops). run_demo's own timeout (240 s) bounds it.
pytestmark = pytest.mark.timeout(270)
STEPS = ("点单", "派单", "接单", "已有人在 60 米外报过", "另有 1 位邻居也报了这件事",
         "The masked chat", "来自志愿者", "评单", "编号", "接单成功", "解决了吗",
         "感谢您的评价：4 星", "看起来是「生活环境」", "⭐ 建议：生活环境", "仍在等待志愿者",
         "已升级", "转交服务中心", "办结率：50.00%", "志愿者登记已通过", "帮办员为邻居代报",
         "为 赵奶奶 报的事", "已记录：电话确认。", "POST http://127.0.0.1:", "🌐 → 201 ",
         "→ 200: status 'open'", "/results → 200", "requests received this year: 4",
         "Loop 2", "志愿活动招募", "您已报名", "签到。", "签退", "记入 1 小时", "活动签到",
         "Loop 3", "督导问题", "复查未通过", "复查通过")
# What loop 1 ends with in the "Done:" line, whatever the hour.
LOOP_1 = ("2026-000001 went round the whole loop (its citizen and volunteer talking through the "
          "bot; a neighbour joined it, +1, and rated it too); 2026-000002 was reminded and "
          "escalated")
LOOP_1_END = ("/stats answered with its figures and a chart; 2026-000003 was filed by a helper "
              "for a neighbour and confirmed by phone; 2026-000004 came in over Open311 from the "
              "12345 hotline and read back as open (志愿者已接单，正在办理。); the public results "
              "page counted 4 requests received this year")


def run_demo(*args: str) -> str:
    """Run `python -m sandbox.demo` to the end and return what it printed."""
    result = subprocess.run(
        [sys.executable, "-m", "sandbox.demo", *args], cwd=ROOT, capture_output=True,
        # The demo takes about two minutes (three loops), nearly all of it the sandbox's
        # one-message-a-second limit per private chat, so a busy machine adds little: the
        # margin is for that, and a hang is caught sooner by each step's own timeout.
        text=True, timeout=240,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def test_the_demo_plays_the_whole_loop_without_a_single_429() -> None:
    """The scripted citizen, volunteers and admin finish; the transcript shows every step,
    and the accelerated clock's reminder and escalation, in the daytime the demo sets; the
    neighbour's join, the helper's request, the Open311 request and the results page are in
    the "Done:" line, and the hotline's key is nowhere in the transcript."""
    out = run_demo()
    for step in STEPS:
        assert step in out, step
    assert "2026-12-04 09:30:00" in out  # the demo's clock, not the machine's
    assert "🌙" not in out  # a morning: the citizen is told at once
    assert "chart: a " in out and "KB PNG" in out  # /stats' chart arrived after its text
    assert f"Done: {LOOP_1}; {LOOP_1_END}; activity #1 was published, signed up for, checked " \
           "into and out of, and 1 h credited; problem D2026-00001 was reported, rectified, " \
           "rejected once, rectified again and passed. 429s received: 0." in out
    # The hotline's key (48 hex digits, made for the run) is never printed.
    assert "api_key (not shown)" in out and not re.search(r"\b[0-9a-f]{48}\b", out)


@pytest.mark.parametrize(("moment", "loops"), [("2026-12-04T23:30:00+08:00", "3"),
                                               ("2026-12-05T07:59:00+08:00", "1")])
def test_at_night_the_citizens_notice_waits_for_the_morning(moment: str, loops: str) -> None:
    """Started at 23:30 or at 07:59, the escalation reaches the group and the admins at once,
    but the citizen's notice is held until quiet hours end at 08:00; the bot restarts in the
    morning and sends it then. Every other step is the same as by day: at 23:30 all three
    loops (an activity and a problem in the small hours too), at 07:59 loop 1 alone."""
    out = run_demo("--at", moment, "--loops", loops)
    steps = STEPS if loops == "3" else STEPS[:STEPS.index("Loop 2")]
    for step in steps:
        assert step in out, step
    assert ("Loop 2" in out) == (loops == "3")
    held = out.index("🌙 quiet hours (22:00-08:00): the notice to 王奶奶 is held until 08:00")
    morning = out.index("The night passes: the bot restarts at 08:00")
    notice = out.index("已转交服务中心")
    assert held < morning < notice
    assert "after quiet hours" in out and "429s received: 0." in out
    assert LOOP_1 in out and LOOP_1_END in out
