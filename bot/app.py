"""The Application: built from the route tables, run with our receiver (the poller or the
webhook), sender and sweep.

With bot.wiring (which builds the services) the composition root: the only module that
imports both the services and handlers/."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from telegram.error import BadRequest, InvalidToken, NetworkError, RetryAfter, TelegramError
from telegram.ext import (
    Application,
    CallbackContext,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    MessageHandler,
    filters,
)
from telegram.request import BaseRequest

from bot.config import Config
from bot.context import Clock, Env
from bot.delivery.inbox import Receiver
from bot.delivery.polling import Poller
from bot.delivery.transport import AiohttpRequest
from bot.delivery.webhook import WebhookReceiver
from bot.i18n import Catalogs
from bot.logs import redact_token
from bot.reports import charts
from bot.requests import suggest
from bot.wiring import Services, build_services
from handlers import admin, citizen, errors, routes
from storage import Database
from storage.lock import InstanceLock

log = logging.getLogger(__name__)

# Commands act on new messages only: an edited "/help" must not run /help again.
NEW = filters.UpdateType.MESSAGE
PRIVATE = filters.ChatType.PRIVATE & NEW
GROUPS = filters.ChatType.GROUPS & NEW
EDITED_IN_PRIVATE = filters.ChatType.PRIVATE & filters.UpdateType.EDITED_MESSAGE


def register_handlers(app: Application) -> None:  # type: ignore[type-arg]
    """Every handler of the bot, from the tables of handlers/routes.py. Order matters: the
    first match wins."""
    app.add_handlers([
        # A command sent as the group (an anonymous admin) or a channel: nobody to check
        CommandHandler(routes.need_a_person(), admin.anonymous,
                       filters=GROUPS & filters.SenderChat.ALL),
        *(CommandHandler(c.name, routes.gated(c), filters=PRIVATE if c.private_only else NEW)
          for c in routes.COMMANDS),
        # Everything else typed in private belongs to the conversation the user is in
        MessageHandler(PRIVATE, citizen.message),
        # An edited message changes nothing already taken: say so rather than stay silent
        MessageHandler(EDITED_IN_PRIVATE, citizen.edited),
        # Private-chat commands sent in a group: point to the private chat
        CommandHandler([c.name for c in routes.COMMANDS if c.private_only], citizen.in_group,
                       filters=GROUPS),
        # A group became a supergroup: either of the upgrade's two service messages
        MessageHandler(filters.StatusUpdate.MIGRATE, admin.group_upgraded),
        # A forum topic made or renamed: its name, for the places bound to it
        MessageHandler(filters.StatusUpdate.FORUM_TOPIC_CREATED
                       | filters.StatusUpdate.FORUM_TOPIC_EDITED, admin.topic_named),
        # The bot added to or removed from a group
        ChatMemberHandler(admin.chat_membership, ChatMemberHandler.MY_CHAT_MEMBER),
        # A volunteer left a group: what they claimed there goes back up for claiming
        ChatMemberHandler(admin.member_left, ChatMemberHandler.CHAT_MEMBER),
        MessageHandler(filters.StatusUpdate.LEFT_CHAT_MEMBER, admin.member_left),
        # Buttons, each kind on its own pattern
        *(CallbackQueryHandler(errors.on_its_own_message(handler), pattern=kind.pattern)
          for kind, handler in routes.BUTTONS),
        # A button we do not recognise: old, or forged
        CallbackQueryHandler(errors.stale_button),
    ])
    app.add_error_handler(errors.on_error)


# Bot API calls that may be in flight besides the sender's: a handler answering a button,
# the error handler, the start-up's command menus.
CALLS_BESIDES_SENDER = 4


class HideBotApiPayloads(logging.Filter):
    """PTB logs each Bot API call's parameters and its answer at DEBUG: the claimer's
    details (phone, address), the updates citizens send (their contact, the address they
    typed). Keep the endpoint, drop the payload, so a DEBUG log holds no personal data."""

    def filter(self, record: logging.LogRecord) -> bool:
        if "Bot API endpoint" in str(record.msg) and isinstance(record.args, tuple) \
                and len(record.args) == 2:
            record.args = (record.args[0], "<not logged: it may hold personal data>")
        return True


HIDE_BOT_API_PAYLOADS = HideBotApiPayloads()
PTB_BOT_LOGGERS = ("telegram.Bot", "telegram.ext.ExtBot")


def build_application(
    config: Config, services: Services | None = None, request: BaseRequest | None = None
) -> Application:  # type: ignore[type-arg]
    """Build the Application (no Updater: our Poller or webhook keeps an inbox) with its
    handlers.

    `request` replaces HTTP with another transport for every Bot API call (the seed-year
    benchmark answers them in-process); None means HTTP to `config.base_url`.
    """
    for name in PTB_BOT_LOGGERS:
        logging.getLogger(name).addFilter(HIDE_BOT_API_PAYLOADS)  # once: the same filter
    builder = Application.builder().token(config.token).updater(None)
    if request is not None:
        builder = builder.request(request).get_updates_request(request)
    else:
        # The pool holds what may be busy at once: the sender's calls, a handler's answer,
        # start-up's. getUpdates has its own connection, its read timeout set per call.
        pool = config.delivery.concurrency + CALLS_BESIDES_SENDER
        builder = builder.request(AiohttpRequest(pool)).get_updates_request(
            AiohttpRequest(1, read_timeout=None))
    if config.base_url:
        builder = builder.base_url(config.base_url)
    if config.base_file_url:
        builder = builder.base_file_url(config.base_file_url)
    app = builder.concurrent_updates(False).build()
    if services is not None:
        app.bot_data["services"] = services
    register_handlers(app)
    return app


async def set_command_menus(app: Application, services: Services) -> None:  # type: ignore[type-arg]
    """Set the menus every chat of a kind shares now, and queue the centre admins' own."""
    menus = services.menus
    for method, params in menus.shared_calls():
        try:
            await app.bot.do_api_request(method, api_kwargs=params)
        except BadRequest as exc:  # one menu refused (an admin chat the bot has left): the rest go
            log.warning("could not set the menu of %s: %s", params.get("scope"), exc.message)
    async with services.env.db.transaction() as repo:
        calls = [call for admin in services.env.config.admin_ids
                 for call in await menus.for_user(repo, admin)]
        await repo.outbox.enqueue(calls, services.env.now())


async def sweep_job(context: CallbackContext) -> None:  # type: ignore[type-arg]
    """APScheduler's tick: run the schedule's sweep (it decides what is due)."""
    services: Services = context.bot_data["services"]
    await services.schedule.sweep()


def start_jobs(app: Application, config: Config) -> None:  # type: ignore[type-arg]
    """The periodic sweep, and a tick at digest time so the digest goes out on the minute."""
    assert app.job_queue is not None
    # A late tick must still run (APScheduler's default grace of 1 s would skip it silently),
    # and ticks missed while busy collapse into one: the sweep catches up by itself.
    job_kwargs = {"misfire_grace_time": None, "coalesce": True, "max_instances": 1}
    schedule = config.schedule
    app.job_queue.run_repeating(sweep_job, interval=schedule.sweep_interval,
                                first=schedule.sweep_interval, name="sweep",
                                job_kwargs=job_kwargs)
    digest_at = schedule.daily_digest.replace(tzinfo=config.timezone)
    app.job_queue.run_daily(sweep_job, time=digest_at, name="digest", job_kwargs=job_kwargs)


async def connect(app: Application, stop: asyncio.Event) -> bool:  # type: ignore[type-arg]
    """Initialize the Application (getMe), retrying while Telegram is unreachable.

    Returns False if `stop` was set before it succeeded. A rejected token is fatal.
    """
    delay = 1.0
    while not stop.is_set():
        try:
            await app.initialize()
            return True
        except InvalidToken:
            raise
        except (NetworkError, RetryAfter) as exc:
            log.warning("cannot reach Telegram (%s); retrying in %.0fs", exc, delay)
        stopper = asyncio.ensure_future(stop.wait())
        await asyncio.wait({stopper}, timeout=delay)
        stopper.cancel()
        delay = min(delay * 2, 60.0)
    return False


async def run(
    config: Config,
    stop: asyncio.Event,
    clock: Clock | None = None,
    on_ready: Callable[[Services], None] | None = None,
    request: BaseRequest | None = None,
    standby: bool = False,
) -> None:
    """Run the bot until `stop` is set: open the database, receive, deliver, shut down cleanly.

    Raises if receiving cannot go on (a rejected token, a webhook address Telegram refuses,
    another instance receiving the updates), so the process exits non-zero.
    `request` is an optional in-process transport in place of HTTP (see build_application).
    `standby`: if another process serves the database, wait for it to stop and take over
    (rather than AlreadyRunning).
    """
    redact_token(config.token, config.webhook.secret_token if config.webhook else "")
    lock = InstanceLock(config.database) if str(config.database) != ":memory:" else None
    if lock is not None:
        if not standby:
            lock.acquire()  # AlreadyRunning if another process serves this database
        elif not await _take_over(lock, stop):
            return  # stopped while standing by
    try:
        await _run_locked(config, stop, clock, on_ready, request)
    finally:
        if lock is not None:
            lock.release()


STANDBY_LOOK = 0.2  # how often a standby looks whether the lock is free (its takeover delay)


async def _take_over(lock: InstanceLock, stop: asyncio.Event) -> bool:
    """Stand by until the process serving the database stops (a kill -9 too: the lock dies
    with it), then take the lock; False if stopped first. Nothing is opened meanwhile, so
    only one process ever polls and sends."""
    holder = lock.try_acquire()
    if holder is None:
        return True
    log.warning("process %s serves this database; standing by to take over when it stops "
                "(lock file %s)", holder, lock.path)
    while holder is not None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=STANDBY_LOOK)
        if stop.is_set():
            return False
        holder = lock.try_acquire()
    log.warning("the process serving this database stopped; taking over")
    return True


async def _run_locked(
    config: Config,
    stop: asyncio.Event,
    clock: Clock | None,
    on_ready: Callable[[Services], None] | None,
    request: BaseRequest | None,
) -> None:
    if charts.cjk_font_file() is None:
        log.warning("no CJK font (install Debian's fonts-noto-cjk, or pip install "
                    "'civicloop[cjk-font]'): /stats charts will have English labels")
    db = await Database.open(config.database)
    try:
        env = Env(db=db, config=config, t=Catalogs.load(config.default_language),
                  clock=clock or Clock())
        app = build_application(config, request=request)
        services = build_services(env, app.bot, routes.menus())
        async with db.reading() as repo:
            await services.moves.load(repo)  # groups upgraded before: their new ids
        await services.volunteers.sync_teams()
        app.bot_data["services"] = services
        if not await connect(app, stop):
            await app.bot.shutdown()  # stopped before Telegram answered: close the transport
            return
        try:
            await serve(app, services, stop, on_ready)
        finally:
            await app.shutdown()
    finally:
        await db.close()


async def serve(
    app: Application,  # type: ignore[type-arg]
    services: Services,
    stop: asyncio.Event,
    on_ready: Callable[[Services], None] | None,
) -> None:
    """Receive, deliver and sweep until `stop` is set; finish the update in hand before
    stopping."""
    services.env.bot_username = app.bot.username
    # The ports first: one taken by another program stops the start on that error, before
    # anything runs that would have to be stopped (PTB's "still running" would hide it).
    try:
        await services.ops.start()
        await services.web.start()
        await _start_and_serve(app, services, stop, on_ready)
    finally:
        await services.web.stop()
        await services.ops.stop()


async def _start_and_serve(
    app: Application,  # type: ignore[type-arg]
    services: Services,
    stop: asyncio.Event,
    on_ready: Callable[[Services], None] | None,
) -> None:
    env, sender, config = services.env, services.sender, services.env.config
    try:
        await set_command_menus(app, services)
    except TelegramError as exc:  # menus are a comfort; serving matters more
        log.warning("could not set the command menus: %s", exc)
    start_jobs(app, config)
    await app.start()
    sender.start()
    services.jobs.start()

    async def catch_up() -> None:
        # What fell due while we were down runs now (an interval trigger's first run would
        # come a whole interval later), after the updates that waited for us are handled.
        try:
            await services.schedule.sweep()
        except Exception:
            log.exception("the start-up sweep failed; the periodic sweep will try again")
        # The category suggestion's dictionary (0.15-0.3 s of CPU holding the GIL), once the
        # backlog is served: jieba's full one, loaded at start, slowed serving by 1.7 s.
        web = env.config.web
        suggest.warm_up_in_background(
            env.config.categories,
            publishing_streets=web.host is not None and web.open311.enabled)

    receiver: Receiver
    if config.mode == "webhook":
        receiver = WebhookReceiver(env, app, on_caught_up=catch_up)
    else:
        receiver = Poller(env, app, config.poll_timeout, on_caught_up=catch_up)
    services.ops.receiver = receiver
    if on_ready is not None:
        on_ready(services)
    await _serve_until_stopped(app, services, receiver, stop)


async def _serve_until_stopped(
    app: Application,  # type: ignore[type-arg]
    services: Services,
    receiver: Receiver,
    stop: asyncio.Event,
) -> None:
    """Receive until `stop` is set, then stop in order: receiving, jobs, a backup, the
    sender."""
    env, sender = services.env, services.sender
    receiving = asyncio.create_task(receiver.run())
    log.info("civicloop is serving as @%s (%s)", env.bot_username, env.config.mode)
    stopper = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait({receiving, stopper}, return_when=asyncio.FIRST_COMPLETED)
    except asyncio.CancelledError:
        # Killed, not stopped: drop everything in flight, as a dying process would (the
        # webhook's port is let go of, as the kernel would).
        receiving.cancel()
        sender.abort()
        services.jobs.abort()
        await asyncio.gather(receiving, return_exceptions=True)
        await app.stop()
        raise
    stopper.cancel()
    receiver.stop()  # finishes the update it is handling; the rest stay stored for next start
    try:
        await asyncio.wait_for(asyncio.shield(receiving), timeout=30)
    except TimeoutError:
        receiving.cancel()
    except Exception:
        # Receiving ended on an error (another instance took the updates, the token was
        # revoked): stop everything in order first, then raise it (below). Raised here, it
        # left the Application running, and the process ended on PTB's "still running".
        pass
    await asyncio.gather(receiving, return_exceptions=True)
    await services.jobs.stop()
    backing_up = services.schedule.backups.running
    if backing_up is not None and not backing_up.done():
        log.info("waiting for the backup in progress to finish")
        await asyncio.gather(backing_up, return_exceptions=True)
    await sender.stop()
    await app.stop()
    if not receiving.cancelled() and receiving.exception() is not None:
        raise receiving.exception()  # type: ignore[misc]
