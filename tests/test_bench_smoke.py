"""The benchmarks still run (at a tiny size): their figures are checked by people, not here."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    ("module", "args", "expect"),
    [
        ("bench.storage", ["--requests", "500"], "/stats counted 500"),
        ("bench.footprint", ["--requests", "200"], "open requests: 200"),
        ("bench.loop", ["--citizens", "3"], "loop ratio: civicloop"),
    ],
)
def test_a_benchmark_runs_and_ends_with_its_summary_line(
    module: str, args: list[str], expect: str
) -> None:
    """Each benchmark prints its figures and one summary line last."""
    result = subprocess.run([sys.executable, "-m", module, *args], cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    lines = result.stdout.strip().splitlines()
    assert any(expect in line for line in lines), result.stdout
    assert "->" in lines[-1] and ("goal met" in lines[-1] or "GOAL MISSED" in lines[-1])
