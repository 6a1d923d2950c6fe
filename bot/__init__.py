"""civicloop: a district's three loops run as a Telegram bot.

The kernel, at this level, is what every package shares: config.py (validated TOML), i18n.py
and locales/ (the zh and en catalogs), context.py (Env, Clock, Who, Answer), ui.py (Bot API
payloads as plain dicts) and buttons.py (every callback data). Then one package per loop and
per concern, each importing only those below it (tests/test_imports.py checks):

    areas      the area tree                          (below the kernel: config reads it)
    people     roles and command menus
    requests   loop 1: intake, lifecycle, casework, rendering
    volunteers registration, teams, hours
    activities loop 2: so far the month's theme      (its themes file is read below the kernel)
    schedule   the sweep over due timers, reports, stored jobs
    delivery   the outbox sender, the transport, the poller
    console    grants, bans, broadcasts
    reports    /stats, charts, exports, periods
    wiring.py  builds every service;  app.py  the Application (imports handlers/)

Room is left for `supervision` (loop 3) beside `requests`.
"""

import os

# PTB 22 reports RetryAfter.retry_after as a timedelta only with this set, and warns otherwise;
# our code reads both shapes. Set before telegram.error is first used.
os.environ.setdefault("PTB_TIMEDELTA", "true")
