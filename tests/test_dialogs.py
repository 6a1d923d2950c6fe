"""Dialog flows are named in bot/dialogs.py only, with the values the table has always held."""

from __future__ import annotations

import re
from pathlib import Path

from bot.dialogs import LOOKUPS, SUBJECT, Flow
from bot.i18n import Catalogs

ROOT = Path(__file__).resolve().parent.parent


def test_the_stored_names_of_the_flows_never_change() -> None:
    """Rows written by earlier versions must still be understood after an upgrade."""
    assert {f.name: f.value for f in Flow} == {
        "INTAKE": "intake", "DONE_NOTE": "done", "COMMENT": "comment", "JOIN": "join",
        "REJECT_REASON": "reject", "THEME": "theme", "PUBLISH": "publish",
        "CHECK_IN": "checkin", "DISPUTE": "dispute",
        "EVENTS": "events", "EDIT_ACTIVITY": "aedit", "CALL": "call", "HONOUR": "honour",
        "INSPECT": "inspect", "PATROL": "patrol",
        "RECTIFY": "rectify", "NOT_OURS": "notours",
        "EXTEND": "extend", "REJECT_RECHECK": "recheck", "RELAY": "relay"}



def test_every_dialog_but_a_lookup_is_kept_and_every_short_one_names_its_subject() -> None:
    """Only the dialogs that wait for a location to sort a list are replaced by the next; a
    short dialog says what it is about, so one about another thing goes on top of it."""
    assert {Flow.EVENTS, Flow.PATROL} == LOOKUPS
    long = {Flow.INTAKE, Flow.JOIN, Flow.INSPECT, Flow.THEME, Flow.PUBLISH, Flow.CALL,
            Flow.HONOUR}
    assert set(SUBJECT) == set(Flow) - long - LOOKUPS


def test_no_module_names_a_flow_by_a_bare_string() -> None:
    """Comparing or writing a dialog's flow goes through the enum."""
    names = "|".join(f.value for f in Flow)
    bare = re.compile(rf"""flow\W*(==|!=|in)\s*\(?["']({names})["']"""
                      rf"""|Dialog\([^,]+,\s*["']({names})["']""")
    offenders = [f"{path.relative_to(ROOT)}:{n}: {line.strip()}"
                 for folder in ("bot", "handlers") for path in (ROOT / folder).rglob("*.py")
                 for n, line in enumerate(path.read_text("utf-8").splitlines(), 1)
                 if bare.search(line)]
    assert offenders == []


def test_every_flow_has_a_name_in_both_catalogs() -> None:
    """A buried form's button says "Finish ‹what is on top› first": any dialog may be on top,
    so every flow is named, in both languages."""
    catalogs = Catalogs.load("en")
    for language in ("en", "zh"):
        assert {f"dialog.{flow.value}" for flow in Flow} <= set(catalogs.keys(language))
        assert {key for key in catalogs.keys(language) if key.startswith("dialog.")} == {
            f"dialog.{flow.value}" for flow in Flow}
