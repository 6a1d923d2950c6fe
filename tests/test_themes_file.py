"""The themes file (一月一主题) is read and checked like the area file: the example is a whole
plausible year in both languages, and every mistake stops start-up naming the file and line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bot.activities.themes_file import (
    DESCRIPTION_MAX,
    TITLE_MAX,
    ThemeError,
    load_themes,
    text_problem,
)
from bot.config import ConfigError, parse_config

ROOT = Path(__file__).resolve().parent.parent
GOOD: dict[str, Any] = {
    "telegram": {"token": "123:abc"},
    "bot": {"admin_ids": [1]},
    "categories": [{"code": "elderly", "zh": "助老服务", "en": "Help for the elderly"}],
}


def theme(month: int | str, **changes: str) -> str:
    """One [[theme]] table as an operator would write it (a key set to "" is left out)."""
    keys = {"title_zh": "学雷锋", "title_en": "Learn from Lei Feng",
            "description_zh": "植树添绿。", "description_en": "Plant trees.", **changes}
    body = "".join(f'{key} = "{value}"\n' for key, value in keys.items() if value != "")
    return f"[[theme]]\nmonth = {month}\n{body}"


def test_the_example_is_a_whole_year_in_both_languages() -> None:
    """Twelve months in order, each titled and described in Chinese and English; January is
    the green Spring Festival, February folk customs, March Lei Feng, April tomb-sweeping."""
    themes = load_themes(ROOT / "themes.example.toml")
    assert [t.month for t in themes] == list(range(1, 13))
    for t in themes:
        for language in ("zh", "en"):
            assert text_problem(t.title(language), TITLE_MAX) is None
            assert text_problem(t.description(language), DESCRIPTION_MAX) is None
    assert "绿色春节" in themes[0].title("zh") and "fireworks" in themes[0].title("en")
    assert "春联" in themes[1].description("zh") and "haircuts" in themes[1].description("en")
    assert "雷锋" in themes[2].title("zh") and "Lei Feng" in themes[2].title("en")
    assert "祭扫" in themes[3].title("zh") and "tomb-sweeping" in themes[3].title("en")


def test_a_file_may_leave_months_out_and_is_read_in_month_order(tmp_path: Path) -> None:
    path = tmp_path / "themes.toml"
    path.write_text(theme(11, title_en="Fire safety") + theme(3), "utf-8")
    themes = load_themes(path)
    assert [t.month for t in themes] == [3, 11]
    assert themes[1].title("en") == "Fire safety"
    assert themes[0].description("zh") == "植树添绿。"


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (theme(13), "themes.toml:2: month must be a whole number from 1 to 12 (got 13)"),
        (theme(0), "themes.toml:2: month must be a whole number from 1 to 12 (got 0)"),
        (theme('"3"'), "themes.toml:2: month must be a whole number"),
        (theme(3) + theme(4) + theme(3), "themes.toml:14: month 3 is given twice (also at "
                                         "line 2)"),
        (theme(3, title_en=""), "themes.toml:1: month 3 has no title_en"),
        (theme(5, description_zh=""), "themes.toml:1: month 5 has no description_zh"),
        (theme(3) + theme(4, title_zh="   "), "themes.toml:9: title_zh of month 4 is empty"),
        # Nothing in it shows: zero-width spaces and a Hangul filler are no title either.
        (theme(3, title_en="\u200b\u3164"), "themes.toml:4: title_en of month 3 is empty"),
        (theme(3, title_en="x" * (TITLE_MAX + 1)),
         "themes.toml:4: title_en of month 3 is 41 characters long, at most 40"),
        # Telegram counts UTF-16 units: 21 emoji are 42, over the 40 a title may have.
        (theme(3, title_zh="🌸" * 21), "themes.toml:3: title_zh of month 3 is 42 characters"),
        (theme(3, description_en="y" * (DESCRIPTION_MAX + 1)),
         "themes.toml:6: description_en of month 3 is 201 characters long, at most 200"),
        (theme(3, description_zh="第一行\\n第二行"),
         "themes.toml:5: description_zh of month 3 must be one line"),
        (theme(3, colour="red"), "themes.toml:7: unknown key 'colour'"),
        ("[[theme]]\ntitle_zh = \"无月份\"\n", "themes.toml:1: this theme has no month"),
        ('year = 2027\n' + theme(3), "themes.toml:1: unknown key 'year'"),
        (theme(3) + "month = [ oops\n", "themes.toml:7: not valid TOML"),
        ("theme = 3\n", "themes.toml:1: each month must be a [[theme]] table"),
    ],
)
def test_a_broken_themes_file_is_refused_naming_the_line(
    tmp_path: Path, content: str, problem: str
) -> None:
    """Each mistake stops start-up with the config key, the file and the line named."""
    (tmp_path / "themes.toml").write_text(content, "utf-8")
    with pytest.raises(ConfigError) as caught:
        parse_config({**GOOD, "activities": {"themes_file": "themes.toml"}}, env={},
                     base_dir=tmp_path)
    assert str(caught.value).startswith(f"activities.themes_file: {tmp_path / 'themes.toml'}")
    assert problem in str(caught.value)


def test_a_missing_file_and_an_unknown_key_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^activities.themes_file: .*nothere.toml: file not"):
        parse_config({**GOOD, "activities": {"themes_file": "nothere.toml"}}, env={},
                     base_dir=tmp_path)
    with pytest.raises(ConfigError, match=r"^activities.theme_file: unknown key"):
        parse_config({**GOOD, "activities": {"theme_file": "themes.toml"}}, env={},
                     base_dir=tmp_path)
    with pytest.raises(ThemeError, match="file not found"):
        load_themes(tmp_path / "nothere.toml")


def test_without_a_file_there_are_no_themes() -> None:
    config = parse_config(GOOD, env={}, base_dir=Path("/srv"))
    assert config.activities.themes == ()
    assert config.activities.theme(3) is None


def test_start_up_with_a_broken_themes_file_prints_one_line_and_exits(tmp_path: Path) -> None:
    """`python -m bot` stops before it serves, with the file and line, exit code 2."""
    (tmp_path / "themes.toml").write_text(theme(3) + theme(14), "utf-8")
    path = tmp_path / "config.toml"
    path.write_text('[bot]\nadmin_ids = [1]\n[activities]\nthemes_file = "themes.toml"\n'
                    '[[categories]]\ncode = "a"\nzh = "甲"\nen = "A"\n', "utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "bot", "--config", str(path)],
        capture_output=True, text=True, timeout=60, cwd=ROOT,
        env={"TELEGRAM_BOT_TOKEN": "1:abc", "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"config error: activities.themes_file: {tmp_path / 'themes.toml'}:8: month must be a "
        "whole number from 1 to 12 (got 14)"
    ]
