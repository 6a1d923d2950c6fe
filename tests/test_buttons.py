"""One table for every button: bot.buttons builds, routes and parses all callback data."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from telegram.ext import CallbackQueryHandler

from bot import buttons, ui
from bot.app import build_application
from tests.conftest import make_config

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES: dict[str, tuple[object, ...]] = {
    "menu": ("new",), "lang": ("zh",), "in": ("0a1b2c", "cat", "elderly"),
    "cancel": (7,), "cancelok": (7,), "cancelno": (7,), "resolved": (7, "y"),
    "star": (7, 5), "nocomment": (7,), "forget": ("y",), "consent": ("y",),
    "fstar": (7, 4),
    "vouch": (7, "in_person"),
    "claim": (123456789012,), "release": (7,),
    "done": (7,), "donenote": (7,), "moretime": (7,), "details": (7,),
    "jinst": ("370402001",), "jarea": ("guangminglu-01",), "jteam": ("-",),
    "vapprove": (1001,), "vreject": (1001,), "hours": (7, "0.5"), "bcast": (3, "send"),
    "theme": ("0a1b2c", "save"),
    "act": ("0a1b2c", "team", "guangming-red"), "asign": (12,), "aquit": (12,),
    "aquitok": (12,), "aman": (12, "close"), "acancel": (12, "y"),
    "aloc": (12,), "ahand": (12, 1003), "aconf": (12,), "adisp": (12,), "adec": (3, "n"),
    "events": ("near",), "event": (12,), "aedit": (12, "time"),
    "insp": ("0a1b2c", "point", "community-guangminglu-01"),
    "call": ("0a1b2c", "area", "guangminglu-01"), "cin": (12,), "cout": (12,),
    "cman": (12, "cancel"), "ccancel": (12, "y"),
    "hon": ("0a1b2c", "year", 2026), "honrev": (4, "ask"),
    "prob": (17, "notours"), "recheck": (17, "reject"), "preas": (17, "market-regulation"),
    "pext": (230, "y"),
    "chat": (7,), "thread": (123456789012, "reportok"),
}


def test_every_kind_of_button_has_an_example_here() -> None:
    """A new kind of button joins the table below, so the round trip covers it."""
    assert set(buttons.KINDS) == set(EXAMPLES)


@pytest.mark.parametrize("prefix", sorted(EXAMPLES))
def test_what_a_button_is_built_with_is_what_its_press_gives_back(prefix: str) -> None:
    """Build, then parse: the same kind and the same arguments, within Telegram's 64 bytes."""
    kind = buttons.KINDS[prefix]
    data = kind.data(*EXAMPLES[prefix])
    assert len(data.encode()) <= buttons.CALLBACK_DATA_MAX_BYTES
    assert re.match(kind.pattern, data)
    assert buttons.parse(data) == (kind, tuple(str(a) for a in EXAMPLES[prefix]))


def test_data_telegram_or_our_handlers_would_refuse_is_refused_when_built() -> None:
    """Too long, the wrong shape or the wrong number of arguments fails at build time, not
    as a silent stale button in a citizen's hands."""
    with pytest.raises(ValueError, match="64 bytes"):
        buttons.FORM.data("0a1b2c", "cat", "x" * 60)
    with pytest.raises(ValueError, match="no handler would match"):
        buttons.CLAIM.data("12a")
    with pytest.raises(ValueError, match="no handler would match"):
        buttons.STARS.data(7, 6)
    with pytest.raises(ValueError, match="takes 2 arguments"):
        buttons.RESOLVED.data(7)
    with pytest.raises(ValueError, match="declared twice"):
        buttons.kind("claim", buttons.ID)
    with pytest.raises(ValueError, match="no known button kind"):
        ui.inline([[("Forged", "drop:tables")]])


@pytest.mark.parametrize("data", ["claim:", "claim:1:2", "claim:-1", "nosuch:1", "", "in:zz",
                                  "star:7:9", "lang:fr", "claim:" + "9" * 13])
def test_a_forged_or_unknown_press_parses_as_nothing(data: str) -> None:
    """Data no kind matches is no press at all (the stale-button answer takes it)."""
    assert buttons.parse(data) is None


def test_every_kind_is_routed_to_exactly_one_handler(tmp_path: Path) -> None:
    """The Application has one CallbackQueryHandler per kind, on the kind's own pattern, and
    a last catch-all for whatever is left (stale or forged)."""
    from sandbox import Sandbox  # the config only needs its URLs

    sb = Sandbox()
    app = build_application(make_config(tmp_path, sb, admin_ids=[1]))
    routed = [h for group in app.handlers.values() for h in group
              if isinstance(h, CallbackQueryHandler)]
    patterns = [h.pattern.pattern for h in routed if h.pattern is not None]
    assert sorted(patterns) == sorted(kind.pattern for kind in buttons.KINDS.values())
    assert routed[-1].pattern is None  # the stale-button answer comes last


def test_no_module_writes_a_button_prefix_but_the_table() -> None:
    """A prefix such as "claim:" appears in bot/buttons.py only: nothing builds or matches
    callback data by hand."""
    prefixes = "|".join(re.escape(p) for p in buttons.KINDS)
    by_hand = re.compile(rf"""["'^](?:{prefixes}):""")
    offenders = []
    for folder in ("bot", "handlers", "storage"):
        for path in (ROOT / folder).rglob("*.py"):
            if path.name == "buttons.py":
                continue
            for number, line in enumerate(path.read_text("utf-8").splitlines(), 1):
                if by_hand.search(line):
                    offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert offenders == []
