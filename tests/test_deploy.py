"""The deploy files say what the code does: the systemd unit, the Dockerfile, compose."""

from __future__ import annotations

import configparser
import re
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

from bot.config import Webhook, parse_config

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"


def unit() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(DEPLOY / "civicloop.service")
    return parser


def test_the_service_restarts_on_failure_as_its_own_user_with_the_token_apart() -> None:
    service = unit()["Service"]
    assert service["Restart"] == "on-failure"
    assert service["User"] == service["Group"] == "civicloop"
    assert service["EnvironmentFile"] == "/etc/civicloop/env"
    assert "TELEGRAM_BOT_TOKEN" not in (DEPLOY / "civicloop.service").read_text().split(
        "[Unit]")[1]  # only in the install notes above [Unit], never as a value
    assert service["UMask"] == "0077" and service["StateDirectoryMode"] == "0700"
    assert service["ExecStart"].endswith("-m bot --config /etc/civicloop/config.toml")


def test_the_exit_codes_the_unit_does_not_restart_on_are_the_bots(tmp_path: Path) -> None:
    """Exit 2 is a config error: restarting would fail the same way. The unit names it."""
    assert set(unit()["Service"]["RestartPreventExitStatus"].split()) == {"2", "3"}
    bad = subprocess.run([sys.executable, "-m", "bot", "--config", str(tmp_path / "none.toml")],
                         cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "config" in bad.stderr
    main = (ROOT / "bot" / "__main__.py").read_text()
    assert re.search(r"except AlreadyRunning.*?return 3", main, re.S)


def test_systemd_accepts_the_unit(tmp_path: Path) -> None:
    """systemd-analyze verify (where systemd is installed) passes the unit with ExecStart
    pointed at this checkout's Python; elsewhere its sections are the ones systemd needs."""
    text = (DEPLOY / "civicloop.service").read_text()
    assert {"Unit", "Service", "Install"} <= set(unit().sections())
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        assert unit()["Install"]["WantedBy"] == "multi-user.target"
        return
    local = tmp_path / "civicloop.service"
    local.write_text(text.replace("/opt/civicloop/.venv/bin/python", sys.executable))
    verified = subprocess.run([analyze, "verify", str(local)], capture_output=True, text=True,
                              timeout=60)
    assert verified.returncode == 0, verified.stderr


def instructions() -> list[tuple[str, str]]:
    """The Dockerfile's instructions, continuation lines joined."""
    text = (DEPLOY / "Dockerfile").read_text().replace("\\\n", " ")
    lines = [line.strip() for line in text.splitlines()
             if line.strip() and not line.lstrip().startswith("#")]
    return [(line.split(None, 1)[0], line.split(None, 1)[1]) for line in lines]


def test_the_image_runs_the_bot_as_a_user_with_the_cjk_font_and_a_data_volume() -> None:
    steps = instructions()
    assert steps[0] == ("FROM", "python:3.11-slim")
    runs = " ".join(arg for op, arg in steps if op == "RUN")
    assert "fonts-noto-cjk" in runs and "pip install --no-cache-dir ." in runs
    assert ("USER", "civicloop") in steps
    assert ("VOLUME", '["/data"]') in steps
    assert ("ENTRYPOINT", '["python", "-m", "bot"]') in steps
    for op, arg in steps:
        if op == "COPY":
            *sources, _ = arg.split()
            for source in sources:
                assert (ROOT / source).exists(), f"COPY {source}: not in the checkout"
    # The packages the image copies are the ones pyproject installs.
    packages = {arg.split()[0] for op, arg in steps if op == "COPY"} - {"pyproject.toml"}
    assert {"bot", "handlers", "storage", "sandbox", "bench"} <= packages


def test_compose_keeps_the_database_on_a_volume_and_the_token_in_an_env_file() -> None:
    compose = (DEPLOY / "compose.yaml").read_text()
    assert "civicloop-data:/data" in compose and "env_file: civicloop.env" in compose
    assert "./config.toml:/config/config.toml:ro" in compose
    ignored = (ROOT / ".gitignore").read_text().splitlines()
    assert "deploy/civicloop.env" in ignored and "deploy/config.toml" in ignored


def example_webhook() -> Webhook:
    """The [webhook] of config.example.toml with its commented url and listen filled in."""
    table = (ROOT / "config.example.toml").read_text().split("\n[webhook]\n")[1].split("\n[")[0]
    values = dict(re.findall(r'^# (url|listen) = "(.*)"$', table, re.M))
    config = parse_config({
        "telegram": {"token": "1:abc"}, "bot": {"admin_ids": [1], "mode": "webhook"},
        "webhook": {**values, "secret_token": "s"},
        "categories": [{"code": "a", "zh": "甲", "en": "A"}],
    }, env={}, base_dir=ROOT)
    assert config.webhook is not None
    return config.webhook


def test_the_proxies_forward_the_example_webhook_path_to_its_listen_address() -> None:
    """nginx and Caddy pass the example config's path, and only it, to `listen`; the
    address Telegram is given is theirs."""
    hook = example_webhook()
    host = urlsplit(hook.url).hostname
    nginx = (DEPLOY / "nginx-webhook.conf").read_text()
    assert f"location = {hook.path} {{" in nginx
    assert f"proxy_pass http://{hook.host}:{hook.port};" in nginx
    assert f"server_name {host};" in nginx and "listen 443 ssl;" in nginx
    caddy = (DEPLOY / "Caddyfile").read_text()
    assert f"{host} {{" in caddy and f"path {hook.path}\n" in caddy
    assert f"reverse_proxy {hook.host}:{hook.port}\n" in caddy
    for text in (nginx, caddy):
        assert f'url = "{hook.url}"' in text and f'listen = "{hook.host}:{hook.port}"' in text
        assert "CIVICLOOP_WEBHOOK_SECRET" in text


def test_the_service_notes_say_where_the_webhook_secret_goes() -> None:
    notes = (DEPLOY / "civicloop.service").read_text().split("[Unit]")[0]
    assert "CIVICLOOP_WEBHOOK_SECRET" in notes
