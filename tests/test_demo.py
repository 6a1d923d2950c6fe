"""`make demo` keeps working: the real bot process plays the whole loop against the sandbox."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_demo_plays_the_whole_loop_without_a_single_429() -> None:
    """The scripted citizen, volunteers and admin finish; the transcript shows every step,
    and the accelerated clock's reminder and escalation."""
    result = subprocess.run(
        [sys.executable, "-m", "sandbox.demo"], cwd=ROOT, capture_output=True, text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    out = result.stdout
    steps = ("点单", "派单", "接单", "评单", "编号", "接单成功", "解决了吗", "仍在等待志愿者",
             "已升级", "转交服务中心", "办结率：50.00%")
    for step in steps:
        assert step in out, step
    assert "chart: a " in out and "KB PNG" in out  # /stats' chart arrived after its text
    assert "/stats answered with its figures and a chart. 429s received: 0." in out
