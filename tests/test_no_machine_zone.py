"""No code reads the machine's local time zone: every day, month and year is the configured
zone's (Asia/Shanghai), so a server in UTC files and counts as one in Beijing would.

The calls that fall back on the machine's zone are found in the source by their shape;
tests/test_machine_zone_e2e.py runs the awkward stories under other zones to show it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bot", "handlers", "storage", "sandbox", "bench", "tools")
# The classes' constructors that, without a zone, give the machine's local time.
CLASS_NO_ARGUMENT = {"now", "today"}
CLASS_ALWAYS = {"utcnow", "utcfromtimestamp"}
# The time module's functions that read the machine's zone (strftime: with no time given).
TIME_NO_ARGUMENT = {"localtime", "ctime", "asctime"}


def _named(node: ast.expr, names: set[str]) -> bool:
    """Whether `node` is one of `names`, bare or as an attribute (datetime, dt.datetime)."""
    return ((isinstance(node, ast.Name) and node.id in names)
            or (isinstance(node, ast.Attribute) and node.attr in names))


def machine_zone_calls(source: str) -> list[tuple[int, str]]:
    """The lines and names of the calls in `source` that depend on the machine's zone."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
            continue
        name, owner = node.func.attr, node.func.value
        argued = len(node.args) + len(node.keywords)
        a_class = _named(owner, {"datetime", "date"})
        module_time = _named(owner, {"time"})
        naive = (
            (a_class and (name in CLASS_ALWAYS or (name in CLASS_NO_ARGUMENT and argued == 0)
                          or (name == "fromtimestamp" and argued == 1)))
            or (name == "astimezone" and argued == 0)
            or (module_time and (name == "mktime" or (name in TIME_NO_ARGUMENT and argued == 0)
                                 or (name == "strftime" and argued < 2))))
        if naive or (name == "timestamp" and _naive_moment(owner)):
            found.append((node.lineno, name))
    return found


def _naive_moment(node: ast.expr) -> bool:
    """Whether `node` makes a datetime without a zone on the spot (its .timestamp() would
    read it in the machine's zone): datetime(...) or datetime.combine(day, t) without
    tzinfo, datetime.strptime(...), or anything .replace(tzinfo=None)."""
    if not isinstance(node, ast.Call):
        return False
    zoned = any(k.arg == "tzinfo" and not (isinstance(k.value, ast.Constant)
                                           and k.value.value is None) for k in node.keywords)
    func = node.func
    if _named(func, {"datetime"}) and not isinstance(func, ast.Attribute):
        return not zoned and len(node.args) < 8
    if isinstance(func, ast.Attribute) and _named(func.value, {"datetime"}):
        if func.attr == "combine":
            return not zoned and len(node.args) < 3
        return func.attr == "strptime"
    if isinstance(func, ast.Attribute) and func.attr == "replace":
        return any(k.arg == "tzinfo" and isinstance(k.value, ast.Constant)
                   and k.value.value is None for k in node.keywords)
    return False


@pytest.mark.parametrize("package", PACKAGES)
def test_no_code_reads_the_machines_time_zone(package: str) -> None:
    offenders = [f"{path.relative_to(ROOT)}:{line} {name}()"
                 for path in sorted((ROOT / package).rglob("*.py"))
                 for line, name in machine_zone_calls(path.read_text("utf-8"))]
    assert offenders == []


@pytest.mark.parametrize("call", [
    "datetime.now()", "date.today()", "datetime.today()", "datetime.fromtimestamp(at)",
    "moment.astimezone()", "time.localtime()", "time.strftime('%Y')", "time.mktime(t)",
    "datetime.utcnow()", "datetime.utcfromtimestamp(at)", "time.ctime()",
    "datetime(2026, 1, 1).timestamp()", "datetime.combine(day, t).timestamp()",
    "datetime.strptime(text, '%Y').timestamp()", "moment.replace(tzinfo=None).timestamp()"])
def test_each_shape_that_reads_the_machines_zone_is_caught(call: str) -> None:
    assert machine_zone_calls(call) != []


@pytest.mark.parametrize("call", [
    "datetime.now(tz)", "datetime.fromtimestamp(at, tz)", "datetime.fromtimestamp(at, tz=tz)",
    "moment.astimezone(tz)", "time.strftime('%Y', time.gmtime())", "time.time()",
    "time.monotonic()", "moment.strftime('%Y')", "self.clock.now()", "env.now()",
    "datetime(2026, 1, 1, tzinfo=zone).timestamp()", "datetime.combine(day, t, tz).timestamp()",
    "datetime.combine(day, t, tzinfo=zone).timestamp()", "moment.timestamp()"])
def test_the_zone_aware_shapes_pass(call: str) -> None:
    assert machine_zone_calls(call) == []
