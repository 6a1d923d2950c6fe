"""The public web server (`[web] listen`, off by default) and the features it serves.

Owns: bot/web/server.py (the aiohttp server, started and stopped with the bot, composed from
the route providers it is given) and bot/web/open311.py (the Open311 GeoReport v2 API: its
routes under /open311/v2/, its JSON and XML, its errors), bot/web/results.py (the public
results page and its CSV: /stats' figures for a year, cached a minute) with bot/web/svg.py
(its bar charts as inline SVG). Unlike bot/ops, whose /healthz and
/metrics stay private, everything here faces the public: no personal data leaves it.
May import: the kernel, storage, bot.people, the loops (bot.requests files a posted request as
the Telegram form does) and bot.reports (for public figures).
"""
