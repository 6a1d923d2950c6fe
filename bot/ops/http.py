"""The operator's HTTP endpoint (`[http] listen`, off by default): `/healthz` and `/metrics`.

`/healthz` answers 200 with a JSON body when the bot can do its work, 503 when not: the
database takes a write transaction, Telegram answers (no outage under way, getUpdates, or the
webhook mode's setWebhook, not failing), with the age of the last update and the outbox
backlog for a human to read.
`/metrics` is the Prometheus text format, from prometheus-client: updates handled, messages
sent, 429s, the backlog and the age of its oldest call, open requests by state, the sweep's
lag behind the oldest due timer, trips to the database thread, and in webhook mode the posts
refused (wrong secret, a body that is no update, a failed store). Listen on localhost (or behind
the reverse proxy of deploy/): it shows no personal data, but it is not for the public. In
webhook mode it keeps its own port: the webhook's faces the proxy, this one need not.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from bot.context import Env
from bot.delivery.inbox import Receiver
from bot.delivery.sender import Sender
from bot.delivery.webhook import WebhookReceiver
from storage.models import OPEN_STATUSES

log = logging.getLogger(__name__)
REFUSALS = ("secret", "body", "storage")  # why the webhook refused a post (WebhookReceiver)


@dataclass(frozen=True)
class Figures:
    """One reading of everything the endpoint reports."""

    database_ok: bool
    database_error: str | None
    telegram_ok: bool
    outage_since: float | None
    last_update_age: float | None
    handled: int
    sent: int
    throttled: int
    backlog: int
    oldest_age: float
    open_requests: dict[str, int]
    job_lag: float
    trips: int
    webhook_refused: dict[str, int] | None = None  # by reason; None: polling mode


class OpsServer:
    """Serves /healthz and /metrics on the configured address while the bot runs."""

    def __init__(self, env: Env, sender: Sender) -> None:
        self.env = env
        self.sender = sender
        # The serving loop's poller or webhook receiver, once it runs. Listening apart from the
        # webhook: that port faces the reverse proxy, this one stays on localhost.
        self.receiver: Receiver | None = None
        self._runner: web.AppRunner | None = None
        self.port: int | None = None  # the port bound (the configured one, or the OS's)

    async def start(self) -> None:
        """Listen, if an address is configured."""
        http = self.env.config.http
        if http.host is None:
            return
        app = web.Application()
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/metrics", self._metrics)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, http.host, http.port).start()
        self.port = int(self._runner.addresses[0][1])  # the OS's choice for port 0
        log.info("health and metrics on http://%s:%s/", http.host, self.port)

    async def stop(self) -> None:
        """Stop listening."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def figures(self) -> Figures:
        """Read everything once."""
        env, now = self.env, self.env.now()
        database_ok, database_error = True, None
        backlog, oldest, open_requests, job_lag = 0, None, {}, 0.0
        try:
            # A write transaction (BEGIN IMMEDIATE … COMMIT) proves the write lock can be
            # taken; the figures are read inside it, in the same turn at the database.
            async with env.db.transaction() as repo:
                backlog, oldest = await repo.outbox.backlog()
                counts = await repo.figures.status_counts()
                due = await repo.timers.due_timers(now, 1)
            open_requests = {status: counts.get(status, 0) for status in OPEN_STATUSES}
            job_lag = max(0.0, now - due[0].due_at) if due else 0.0
        except Exception as exc:  # a full disk, a read-only file, a lock held elsewhere
            database_ok, database_error = False, f"{type(exc).__name__}: {exc}"
        receiver = self.receiver
        last = receiver.inbox.last_update_at if receiver is not None else None
        receiving_ok = receiver is not None and receiver.failures == 0
        return Figures(
            database_ok=database_ok, database_error=database_error,
            telegram_ok=self.sender.outage.since is None and receiving_ok,
            outage_since=self.sender.outage.since,
            last_update_age=None if last is None else max(0.0, now - last),
            handled=receiver.inbox.handled if receiver is not None else 0,
            sent=self.sender.sent,
            throttled=self.sender.throttled,
            backlog=backlog, oldest_age=0.0 if oldest is None else max(0.0, now - oldest),
            open_requests=open_requests, job_lag=job_lag, trips=env.db.engine.trips,
            webhook_refused={reason: receiver.refused[reason] for reason in REFUSALS}
            if isinstance(receiver, WebhookReceiver) else None)

    async def _healthz(self, request: web.Request) -> web.Response:
        figures = await self.figures()
        healthy = figures.database_ok and figures.telegram_ok
        body: dict[str, Any] = {
            "status": "ok" if healthy else "failing",
            "database": "writable" if figures.database_ok else figures.database_error,
            "telegram": "reachable" if figures.telegram_ok else "unreachable",
            "last_update_age_seconds": _rounded(figures.last_update_age),
            "outbox_backlog": figures.backlog,
            "outbox_oldest_age_seconds": _rounded(figures.oldest_age),
        }
        return web.json_response(body, status=200 if healthy else 503)

    async def _metrics(self, request: web.Request) -> web.Response:
        registry = CollectorRegistry(auto_describe=False)
        registry.register(_Reading(await self.figures()))  # type: ignore[arg-type]
        return web.Response(body=generate_latest(registry),
                            headers={"Content-Type": CONTENT_TYPE_LATEST})


class _Reading:
    """A prometheus-client collector over one reading."""

    def __init__(self, figures: Figures) -> None:
        self.figures = figures

    def collect(self) -> Iterator[Metric]:
        f = self.figures
        yield CounterMetricFamily("civicloop_updates", "Updates handled.", value=f.handled)
        yield CounterMetricFamily("civicloop_messages_sent", "Bot API calls Telegram answered.",
                                  value=f.sent)
        yield CounterMetricFamily("civicloop_telegram_429",
                                  "Calls Telegram answered with 429 Too Many Requests.",
                                  value=f.throttled)
        yield CounterMetricFamily("civicloop_database_trips",
                                  "Hand-offs to the database thread.", value=f.trips)
        yield GaugeMetricFamily("civicloop_outbox_backlog", "Calls waiting to be made.",
                                value=f.backlog)
        yield GaugeMetricFamily("civicloop_outbox_oldest_age_seconds",
                                "Age of the oldest call waiting.", value=f.oldest_age)
        requests = GaugeMetricFamily("civicloop_requests_open", "Requests not yet closed.",
                                     labels=["status"])
        for status, count in sorted(f.open_requests.items()):
            requests.add_metric([status], count)
        yield requests
        yield GaugeMetricFamily("civicloop_job_lag_seconds",
                                "How far the sweep is behind the oldest due timer.",
                                value=f.job_lag)
        yield GaugeMetricFamily("civicloop_telegram_up", "1 if Telegram answers, else 0.",
                                value=1 if f.telegram_ok else 0)
        yield GaugeMetricFamily("civicloop_database_up", "1 if the database takes writes.",
                                value=1 if f.database_ok else 0)
        if f.webhook_refused is not None:
            refused = CounterMetricFamily(
                "civicloop_webhook_refused", "Webhook posts answered with an error, by reason: "
                "secret (403), body (400), storage (500).", labels=["reason"])
            for reason, count in f.webhook_refused.items():
                refused.add_metric([reason], count)
            yield refused
        if f.last_update_age is not None:
            yield GaugeMetricFamily("civicloop_last_update_age_seconds",
                                    "Seconds since the last update was handled.",
                                    value=f.last_update_age)


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 1)
