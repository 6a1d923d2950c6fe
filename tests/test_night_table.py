"""One place says what goes at night: bot/night.py's AT_NIGHT. No other module makes a message
silent in quiet hours by its own rule (a call's card and copies once did, with `_quietly`)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_only_the_night_table_makes_a_message_silent() -> None:
    """Every `disable_notification` the bot sets is set by bot/night.py, from its table."""
    elsewhere = [str(path.relative_to(ROOT))
                 for folder in ("bot", "handlers")
                 for path in sorted((ROOT / folder).rglob("*.py"))
                 if path != ROOT / "bot" / "night.py"
                 and "disable_notification" in path.read_text(encoding="utf-8")]
    assert elsewhere == []
