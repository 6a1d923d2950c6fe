"""Config is validated at start: a wrong value stops start-up with the key named."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bot.config import ConfigError, load_config, parse_config

ROOT = Path(__file__).resolve().parent.parent
GOOD: dict[str, Any] = {
    "telegram": {"token": "123:abc"},
    "bot": {"admin_ids": [1]},
    "categories": [{"code": "elderly", "zh": "助老服务", "en": "Help for the elderly"}],
}


def parse(**changes: Any) -> Any:
    """Parse GOOD with some tables replaced."""
    return parse_config({**GOOD, **changes}, env={}, base_dir=Path("/srv"))


def test_the_example_config_is_valid_once_a_token_and_an_admin_are_given(
    tmp_path: Path,
) -> None:
    """config.example.toml documents a config that works."""
    text = (ROOT / "config.example.toml").read_text("utf-8").replace("admin_ids = []",
                                                                     "admin_ids = [42]")
    path = tmp_path / "config.toml"
    path.write_text(text, "utf-8")
    shutil.copy(ROOT / "areas.example.csv", tmp_path)
    shutil.copy(ROOT / "teams.example.csv", tmp_path)
    shutil.copy(ROOT / "themes.example.toml", tmp_path)
    shutil.copy(ROOT / "inspection-points.example.csv", tmp_path)
    shutil.copy(ROOT / "responsible-units.example.csv", tmp_path)
    shutil.copy(ROOT / "problem-types.example.toml", tmp_path)
    config = load_config(path, env={"TELEGRAM_BOT_TOKEN": "42:secret"})
    registers = config.supervision.registers
    assert registers is not None and len(registers.points) == 8 and len(registers.units) == 5
    assert len(config.supervision.types) == 10
    assert config.supervision.deadline("urgent") == 24 * 3600
    assert config.token == "42:secret"
    assert len(config.categories) == 10
    assert config.database == tmp_path / "civicloop.db"
    assert config.timezone.key == "Asia/Shanghai"
    assert config.areas is not None and len(config.areas) == 7
    assert [team.id for team in config.volunteering.teams] == ["jinhui", "guangming-red"]
    assert [theme.month for theme in config.activities.themes] == list(range(1, 13))


def test_the_environment_token_wins_over_the_file() -> None:
    """TELEGRAM_BOT_TOKEN overrides telegram.token."""
    config = parse_config(GOOD, env={"TELEGRAM_BOT_TOKEN": "9:env"}, base_dir=Path("."))
    assert config.token == "9:env"


@pytest.mark.parametrize(
    ("changes", "key"),
    [
        ({"telegram": {}}, "telegram.token: missing"),
        ({"telegram": {"token": "not a token"}}, "telegram.token"),
        ({"bot": {"admin_ids": [1], "default_language": "fr"}}, "bot.default_language"),
        ({"bot": {"admin_ids": [1], "timezone": "Mars/Olympus"}}, "bot.timezone"),
        ({"bot": {"admin_ids": "1"}}, "bot.admin_ids"),
        ({"bot": {}}, "bot.admin_ids"),
        ({"telegram": {"token": "1:a", "poll_timeout": 99}}, "telegram.poll_timeout"),
        ({"delivery": {"group_per_minute": 0}}, "delivery.group_per_minute"),
        ({"delivery": {"private_per_second": "fast"}}, "delivery.private_per_second"),
        ({"limits": {"max_photos": 11}}, "limits.max_photos"),
        ({"categories": []}, "categories"),
        ({"categories": [{"code": "Bad Code", "zh": "x", "en": "x"}]}, "categories[0].code"),
        ({"categories": [{"code": "a", "zh": "x"}]}, "categories[0].en"),
        ({"categories": [{"code": "a", "zh": "x", "en": "x"}] * 2}, "categories[1].code"),
        ({"categories": [{"code": "a", "zh": "x", "en": "x", "colour": 1}]},
         "categories[0].colour"),
        ({"schedule": {"claim_reminder": "0s"}}, "schedule.claim_reminder: must be longer"),
        ({"schedule": {"escalate_after": "-2h"}}, "schedule.escalate_after: must be a dur"),
        ({"schedule": {"due_after": 24}}, "schedule.due_after: must be a duration"),
        ({"schedule": {"auto_close": "3 days"}}, "schedule.auto_close"),
        ({"schedule": {"claim_reminder": "3h"}}, "schedule.escalate_after: must be longer"),
        ({"schedule": {"quiet_hours": "late"}}, "schedule.quiet_hours"),
        ({"schedule": {"daily_digest": "25:00"}}, "schedule.daily_digest"),
        ({"categories": [{"code": "a", "zh": "x", "en": "x", "auto_close": "0m"}]},
         "categories[0].auto_close"),
        ({"categories": [{"code": "a", "zh": "x", "en": "x", "keywords": "路灯"}]},
         "categories[0].keywords: must be a list"),
        ({"categories": [{"code": "a", "zh": "x", "en": "x", "keywords": ["路灯", " "]}]},
         "categories[0].keywords[1]: must be a non-empty word"),
        ({"categories": [{"code": "a", "zh": "x", "en": "x", "keywords": [3]}]},
         "categories[0].keywords[0]: must be a non-empty word"),
        ({"categories": [{"code": "a", "zh": "x", "en": "x", "keywords": ["灯" * 21]}]},
         "categories[0].keywords[0]: longer than 20"),
        ({"categories": [{"code": "a", "zh": "x", "en": "x", "keywords": ["Leak", "leak"]}]},
         "categories[0].keywords[1]: 'leak' is listed twice"),
        ({"categories": [{"code": "a", "zh": "x", "en": "x", "keywords": ["!!"]}]},
         "categories[0].keywords[0]: must contain a letter"),
        # The form offers every category as a button, with Cancel, on one message: Telegram
        # takes 100 buttons at most.
        ({"categories": [{"code": f"c{n}", "zh": "类", "en": "C"} for n in range(100)]},
         "categories: 100 categories, at most 99"),
        ({"http": {"listen": "9090"}}, "http.listen: must look like 127.0.0.1:9090"),
        ({"http": {"listen": "localhost:99999"}}, "http.listen"),
        ({"http": {"port": 9090}}, "http.port"),
        ({"backup": {"at": "3am"}}, "backup.at: must be a time"),
        ({"backup": {"keep": -1}}, "backup.keep"),
        ({"delivery": {"outage_report_after": "soon"}}, "delivery.outage_report_after"),
    ],
)
def test_a_wrong_value_is_refused_naming_the_key(changes: dict[str, Any], key: str) -> None:
    """Each mistake is reported with the key that holds it."""
    with pytest.raises(ConfigError) as caught:
        parse(**changes)
    assert str(caught.value).startswith(key)


def test_start_up_with_a_bad_config_prints_one_line_and_exits(tmp_path: Path) -> None:
    """`python -m bot` with a broken config stops with one line naming the key."""
    path = tmp_path / "config.toml"
    path.write_text('[bot]\ndefault_language = "fr"\nadmin_ids = [1]\n'
                    '[[categories]]\ncode = "a"\nzh = "甲"\nen = "A"\n', "utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "bot", "--config", str(path)],
        capture_output=True, text=True, timeout=60, cwd=ROOT,
        env={"TELEGRAM_BOT_TOKEN": "1:abc", "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "config error: bot.default_language: must be one of zh, en (got 'fr')"
    ]


def test_a_missing_token_stops_start_up(tmp_path: Path) -> None:
    """Without TELEGRAM_BOT_TOKEN or telegram.token the bot does not start."""
    path = tmp_path / "config.toml"
    path.write_text('[bot]\nadmin_ids = [1]\n[[categories]]\ncode = "a"\nzh = "甲"\nen = "A"\n',
                    "utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "bot", "--config", str(path)],
        capture_output=True, text=True, timeout=60, cwd=ROOT, env={"PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 2
    assert "telegram.token: missing" in result.stderr


def test_durations_are_written_the_way_people_say_them() -> None:
    """45s, 30m, 2h, 3d and 1h30m all work; a category may override the defaults."""
    config = parse(
        schedule={"claim_reminder": "45s", "escalate_after": "1h30m", "auto_close": "3d",
                  "quiet_hours": "23:00-07:30", "daily_digest": "08:15"},
        categories=[{"code": "emergency", "zh": "应急", "en": "Emergency",
                     "claim_reminder": "5m", "escalate_after": "15m"},
                    {"code": "other", "zh": "其他", "en": "Other"}],
    )
    assert config.schedule.policy.claim_reminder == 45
    assert config.schedule.policy.escalate_after == 5400
    assert config.schedule.policy.auto_close == 3 * 86400
    assert config.policy("emergency").claim_reminder == 300
    assert config.policy("emergency").auto_close == 3 * 86400  # inherited
    assert config.policy("other").escalate_after == 5400
    assert (config.schedule.quiet_start.hour, config.schedule.quiet_end.minute) == (23, 30)
    assert config.schedule.daily_digest.hour == 8


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"schedule": {"claim_reminder": "2h"}},
         "schedule.escalate_after: must be longer than claim_reminder"),
        ({"schedule": {"escalate_after": "20m"}},
         "schedule.escalate_after: must be longer than claim_reminder"),
        ({"schedule": {"rating_reminder": "72h"}},
         "schedule.auto_close: must be longer than rating_reminder"),
        ({"schedule": {"auto_close": "12h"}},
         "schedule.auto_close: must be longer than rating_reminder"),
        ({"schedule": {"draft_nudge": "24h"}},
         "schedule.draft_expire: must be longer than draft_nudge"),
        ({"schedule": {"draft_expire": "30m"}},
         "schedule.draft_expire: must be longer than draft_nudge"),
        # A category's own durations are checked against the defaults it inherits.
        ({"categories": [{"code": "a", "zh": "甲", "en": "A", "escalate_after": "15m"}]},
         "categories[0].escalate_after: must be longer than claim_reminder"),
        ({"categories": [{"code": "a", "zh": "甲", "en": "A", "rating_reminder": "4d"}]},
         "categories[0].auto_close: must be longer than rating_reminder"),
    ],
)
def test_durations_that_follow_one_another_must_be_in_order(
    changes: dict[str, Any], message: str
) -> None:
    """The README's ordering rules: escalate_after > claim_reminder, auto_close >
    rating_reminder, draft_expire > draft_nudge (equal is refused too: the second would
    come with the first); the message names the key."""
    with pytest.raises(ConfigError) as caught:
        parse(**changes)
    assert str(caught.value) == message


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("id,name\nred,Red\n", "teams.csv:1: the header must be"),
        ("id,area_id,name_zh,name_en,leader_id\nred,,红,Red,\nred,,红,Red,\n",
         "teams.csv:3: duplicate team 'red'"),
        ("id,area_id,name_zh,name_en,leader_id\nred,nowhere,红,Red,\n",
         "teams.csv:2: unknown area 'nowhere'"),
        ("id,area_id,name_zh,name_en,leader_id\nred,,红,Red,someone\n",
         "teams.csv:2: leader_id must be a person's Telegram user id"),
        ("id,area_id,name_zh,name_en,leader_id\nred,,红,Red,-1001234\n",
         "teams.csv:2: leader_id must be a person's Telegram user id"),
        ("id,area_id,name_zh,name_en,leader_id\nred,,,Red,\n",
         "teams.csv:2: 'red' needs both name_zh and name_en"),
    ],
)
def test_a_broken_teams_file_is_refused_naming_the_line(
    tmp_path: Path, content: str, problem: str
) -> None:
    """teams.csv mistakes stop start-up with the file and line named."""
    (tmp_path / "teams.csv").write_text(content, "utf-8")
    with pytest.raises(ConfigError) as caught:
        parse_config({**GOOD, "volunteers": {"teams_file": "teams.csv"}}, env={},
                     base_dir=tmp_path)
    assert str(caught.value).startswith("volunteers.teams_file: ")
    assert problem in str(caught.value)


def test_volunteering_settings_are_checked() -> None:
    """claim_mode is open or registered; ask_hours is true or false; unknown keys stop."""
    assert parse(volunteers={"claim_mode": "registered"}).volunteering.claim_mode == "registered"
    for bad, key in (({"claim_mode": "anyone"}, "volunteers.claim_mode"),
                     ({"ask_hours": "yes"}, "volunteers.ask_hours"),
                     ({"max_hours": 0}, "volunteers.max_hours"),
                     ({"hours_cap": 3}, "volunteers.hours_cap: unknown key")):
        with pytest.raises(ConfigError) as caught:
            parse(volunteers=bad)
        assert str(caught.value).startswith(key)


@pytest.mark.parametrize("table, key", [("bot", "admins"), ("limits", "max_open"),
                                        ("telegram", "tokn"), ("delivery", "speed")])
def test_an_unknown_key_in_any_table_is_refused_by_name(table: str, key: str) -> None:
    raw = {"telegram": {"token": "1:abc"}, "bot": {"admin_ids": [1]},
           "categories": [{"code": "a", "zh": "甲", "en": "A"}]}
    raw.setdefault(table, {})[key] = 1
    with pytest.raises(ConfigError, match=rf"^{table}\.{key}: unknown key"):
        parse_config(raw, env={}, base_dir=Path("."))


def test_an_unknown_table_is_refused_by_name() -> None:
    raw = {"telegram": {"token": "1:abc"}, "bot": {"admin_ids": [1]}, "limit": {},
           "categories": [{"code": "a", "zh": "甲", "en": "A"}]}
    with pytest.raises(ConfigError, match=r"^limit: unknown table"):
        parse_config(raw, env={}, base_dir=Path("."))


def test_the_config_never_shows_the_token_when_printed() -> None:
    config = parse()
    assert config.token and config.token not in repr(config)
    assert config.token.split(":")[1] not in str(config)


@pytest.mark.parametrize("url, allowed", [
    ("https://api.telegram.org/bot", True),
    ("https://tg-proxy.example.org:8443/bot", True),
    ("http://127.0.0.1:8081/bot", True),      # a local Bot API server
    ("http://localhost:8081/bot", True),
    ("http://api.telegram.org/bot", False),   # the token would cross the network in clear
    ("http://10.0.0.5:8081/bot", False),
    ("ftp://example.org/bot", False),
    ("api.telegram.org/bot", False),
])
def test_the_bot_api_address_must_be_https_unless_it_is_this_machine(
    url: str, allowed: bool
) -> None:
    for key in ("base_url", "base_file_url"):
        if allowed:
            assert getattr(parse(telegram={"token": GOOD["telegram"]["token"], key: url}),
                           key) == url
        else:
            with pytest.raises(ConfigError, match=f"telegram.{key}: must be an https://"):
                parse(telegram={"token": GOOD["telegram"]["token"], key: url})


# ---- webhook mode -----------------------------------------------------------------------------

SECRET = "a-Secret_token-0123456789"
HOOK = {"url": "https://bot.example.org/civicloop/telegram", "listen": "127.0.0.1:8443",
        "secret_token": SECRET}


def webhook(env: dict[str, str] | None = None, **bot: Any) -> Any:
    """Parse GOOD in webhook mode with the given [webhook] table (HOOK unless replaced)."""
    table = bot.pop("webhook", HOOK)
    raw = {**GOOD, "bot": {**GOOD["bot"], "mode": "webhook", **bot}, "webhook": table}
    return parse_config(raw, env=env or {}, base_dir=Path("/srv"))


def test_polling_is_the_default_and_needs_no_webhook_table() -> None:
    config = parse()
    assert config.mode == "polling" and config.webhook is None


def test_webhook_mode_reads_its_table() -> None:
    config = webhook()
    hook = config.webhook
    assert config.mode == "webhook" and hook is not None
    assert hook.url == HOOK["url"] and (hook.host, hook.port) == ("127.0.0.1", 8443)
    assert hook.path == "/civicloop/telegram"  # the url's own path unless given
    assert hook.secret_token == SECRET and hook.max_connections is None
    assert SECRET not in repr(config) and SECRET not in repr(hook)
    config = webhook(webhook={**HOOK, "path": "/in", "max_connections": 1,
                              "listen": "[::1]:8081"})
    assert config.webhook is not None
    assert (config.webhook.path, config.webhook.max_connections) == ("/in", 1)
    assert config.webhook.host == "::1"


def test_the_secret_comes_from_the_environment_first() -> None:
    """CIVICLOOP_WEBHOOK_SECRET wins over webhook.secret_token, so no file need hold it."""
    table = {k: v for k, v in HOOK.items() if k != "secret_token"}
    config = webhook(env={"CIVICLOOP_WEBHOOK_SECRET": "from-the-env"}, webhook=table)
    assert config.webhook is not None and config.webhook.secret_token == "from-the-env"
    config = webhook(env={"CIVICLOOP_WEBHOOK_SECRET": "from-the-env"})
    assert config.webhook is not None and config.webhook.secret_token == "from-the-env"


def test_a_polling_config_may_keep_its_webhook_table_for_later() -> None:
    raw = {**GOOD, "webhook": {"url": HOOK["url"], "listen": HOOK["listen"]}}
    config = parse_config(raw, env={}, base_dir=Path("."))
    assert config.mode == "polling" and config.webhook is None


@pytest.mark.parametrize(("table", "env", "key"), [
    ({k: v for k, v in HOOK.items() if k != "secret_token"}, {},
     "webhook.secret_token: missing (set CIVICLOOP_WEBHOOK_SECRET"),
    ({**HOOK, "secret_token": ""}, {}, "webhook.secret_token: missing"),
    ({**HOOK, "secret_token": "has:colon"}, {}, "webhook.secret_token: must be 1-256"),
    ({**HOOK, "secret_token": "x" * 257}, {}, "webhook.secret_token: must be 1-256"),
    ({**HOOK, "secret_token": "ключ"}, {}, "webhook.secret_token: must be 1-256"),
    (HOOK, {"CIVICLOOP_WEBHOOK_SECRET": "with space"}, "CIVICLOOP_WEBHOOK_SECRET: must be"),
    ({k: v for k, v in HOOK.items() if k != "url"}, {}, "webhook.url: missing"),
    ({k: v for k, v in HOOK.items() if k != "listen"}, {}, "webhook.listen: missing"),
    ({**HOOK, "url": "http://bot.example.org/hook"}, {}, "webhook.url: must be an https://"),
    ({**HOOK, "url": "bot.example.org/hook"}, {}, "webhook.url: must be an address"),
    ({**HOOK, "url": "https://bot.example.org:9000/hook"}, {},
     "webhook.url: Telegram posts only to ports 443, 80, 88 or 8443"),
    ({**HOOK, "url": "https://bot.example.org:x/hook"}, {}, "webhook.url: not a URL"),
    ({**HOOK, "listen": "8443"}, {}, "webhook.listen: must look like 127.0.0.1:8443"),
    ({**HOOK, "listen": "127.0.0.1:0"}, {}, "webhook.listen: needs a fixed port"),
    ({**HOOK, "path": "telegram"}, {}, "webhook.path: must be a path"),
    ({**HOOK, "path": "/a?b"}, {}, "webhook.path: must be a path"),
    ({**HOOK, "max_connections": 0}, {}, "webhook.max_connections: must be between 1 and 100"),
    ({**HOOK, "max_connections": 101}, {}, "webhook.max_connections"),
    ({**HOOK, "max_connections": "40"}, {}, "webhook.max_connections: must be a whole"),
    ({**HOOK, "secret": SECRET}, {}, "webhook.secret: unknown key"),
])
def test_a_wrong_webhook_value_is_refused_naming_the_key(
    table: dict[str, Any], env: dict[str, str], key: str,
) -> None:
    with pytest.raises(ConfigError) as caught:
        webhook(env=env, webhook=table)
    assert str(caught.value).startswith(key)
    assert "has:colon" not in str(caught.value) and "with space" not in str(caught.value)


def test_a_wrong_mode_and_a_shared_port_are_refused() -> None:
    with pytest.raises(ConfigError, match=r"^bot.mode: must be polling or webhook"):
        webhook(mode="webhooks")
    raw = {**GOOD, "bot": {**GOOD["bot"], "mode": "webhook"}, "webhook": HOOK,
           "http": {"listen": HOOK["listen"]}}
    with pytest.raises(ConfigError, match=r"^webhook.listen: the same address as http.listen"):
        parse_config(raw, env={}, base_dir=Path("."))


@pytest.mark.parametrize("url", ["http://127.0.0.1:8081/hook", "http://localhost:9000/h"])
def test_a_webhook_on_this_machine_may_be_plain_http(url: str) -> None:
    """For the sandbox and tests (or a local Bot API server): nothing crosses the network."""
    config = webhook(webhook={**HOOK, "url": url})
    assert config.webhook is not None and config.webhook.url == url


def test_a_local_bot_api_server_may_post_to_any_port() -> None:
    raw = {**GOOD, "telegram": {**GOOD["telegram"], "base_url": "http://127.0.0.1:8081/bot"},
           "bot": {**GOOD["bot"], "mode": "webhook"},
           "webhook": {**HOOK, "url": "https://bot.example.org:9000/hook"}}
    config = parse_config(raw, env={}, base_dir=Path("."))
    assert config.webhook is not None and config.webhook.url.endswith(":9000/hook")


KEY = "k" * 24


def test_the_open311_clients_come_from_the_config_or_a_file_of_their_own(
        tmp_path: Path) -> None:
    """The public API is off by default; its keys may sit in a file kept out of the repo."""
    assert parse().web.host is None and parse().web.open311.enabled is False
    (tmp_path / "clients.toml").write_text(
        f'clients = [{{ id = "webform", name = "Web form", key = "{"w" * 30}" }}]', "utf-8")
    config = parse_config({**GOOD, "web": {"listen": "0.0.0.0:8080", "open311": {
        "enabled": True, "clients_file": "clients.toml",
        "clients": [{"id": "hotline", "name": "12345", "key": KEY}]}}},
        env={}, base_dir=tmp_path)
    assert (config.web.host, config.web.port) == ("0.0.0.0", 8080)
    assert [c.id for c in config.web.open311.clients] == ["hotline", "webform"]
    assert KEY not in repr(config)  # never in a log line or a traceback


@pytest.mark.parametrize(("web", "message"), [
    ({"listen": "8080"}, "web.listen: must look like 0.0.0.0:8080"),
    ({"port": 1}, "web.port: unknown key"),
    ({"open311": {"enable": True}}, "web.open311.enable: unknown key"),
    ({"open311": {"clients": [{"id": "h", "name": "H", "key": "short"}]}},
     "needs a key of at least 24"),
    ({"open311": {"clients": [{"id": "h", "name": "H", "key": "CHANGE-ME-" + KEY}]}},
     "needs a key of at least 24"),
    ({"open311": {"clients": [{"id": "Hot Line", "name": "H", "key": KEY}]}},
     "id must be short lowercase ASCII"),
    ({"open311": {"clients": [{"id": "h", "name": "H", "key": KEY, "secret": 1}]}},
     "unknown key 'secret'"),
    ({"open311": {"clients": [{"id": "h", "name": "H", "key": KEY},
                              {"id": "g", "name": "G", "key": KEY}]}}, "share a key"),
    ({"open311": {"clients": [{"id": "h", "name": "H", "key": KEY},
                              {"id": "h", "name": "G", "key": "g" * 24}]}}, "given twice"),
    ({"open311": {"clients": "hotline"}}, "web.open311.clients: must be a list"),
    ({"open311": {"clients_file": "missing.toml"}}, "file not found"),
    ({"open311": {"default_area": "nowhere"}}, "web.open311.default_area: unknown area"),
])
def test_a_wrong_web_setting_stops_start_up_naming_it(web: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        parse(web=web)


def test_the_public_server_needs_its_own_port() -> None:
    with pytest.raises(ConfigError, match=r"^web.listen: the same address as http.listen"):
        parse(web={"listen": "127.0.0.1:9090"}, http={"listen": "127.0.0.1:9090"})
