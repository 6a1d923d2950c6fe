"""Check the reverse-proxy examples with the proxies themselves: `nginx -t` and `caddy adapt`
(`make check-proxies`). Not part of the test suite, which must pass where neither is installed;
tests/test_deploy.py checks what the examples say against the code. Exits 1 on a refusal, 2
when neither proxy is installed."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"


def main() -> int:
    """Run every installed proxy's own check on its example; say what was checked."""
    nginx, caddy = shutil.which("nginx"), shutil.which("caddy")
    if nginx is None and caddy is None:
        print("neither nginx nor caddy is installed: nothing checked", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as folder:
        tmp_path = Path(folder)
        if nginx is not None:
            subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days",
                            "1", "-subj", "/CN=bot.example.org", "-keyout",
                            str(tmp_path / "k.pem"), "-out", str(tmp_path / "c.pem")],
                           check=True, capture_output=True)
            site = (DEPLOY / "nginx-webhook.conf").read_text().replace(
                "/etc/letsencrypt/live/bot.example.org/fullchain.pem", str(tmp_path / "c.pem")
            ).replace("/etc/letsencrypt/live/bot.example.org/privkey.pem",
                      str(tmp_path / "k.pem"))
            (tmp_path / "site.conf").write_text(site)
            temp = " ".join(f"{kind}_temp_path {tmp_path / kind};"
                            for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
            (tmp_path / "nginx.conf").write_text(
                f"pid {tmp_path / 'nginx.pid'}; error_log {tmp_path / 'error.log'}; events {{}}\n"
                f"http {{ access_log off; {temp} include {tmp_path / 'site.conf'}; }}\n")
            checked = subprocess.run([nginx, "-t", "-p", str(tmp_path), "-c",
                                      str(tmp_path / "nginx.conf")],
                                     capture_output=True, text=True, timeout=60)
            if checked.returncode != 0:
                print(f"nginx refuses deploy/nginx-webhook.conf:\n{checked.stderr}")
                return 1
            print("nginx -t: deploy/nginx-webhook.conf ok")
        if caddy is not None:
            adapted = subprocess.run([caddy, "adapt", "--config", str(DEPLOY / "Caddyfile"),
                                      "--adapter", "caddyfile"],
                                     capture_output=True, text=True, timeout=60)
            if adapted.returncode != 0:
                print(f"caddy refuses deploy/Caddyfile:\n{adapted.stderr}")
                return 1
            print("caddy adapt: deploy/Caddyfile ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
